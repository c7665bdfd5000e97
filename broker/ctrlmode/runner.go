// Package ctrlmode runs a broker in controller mode (docs/failover.md): it registers
// with the controller group, sends it heartbeats, and opens the broker in the role the
// controllers give it — master (brokerId 0 at the NameServers) or slave of the elected
// master — changing the role at run time without restarting the process. A role change
// closes the broker and opens it again on the same ports, in the same process; a slave
// that follows a new master first cuts its CommitLog back to the end of the log it
// shares with that master (the epoch files, broker/epoch). A master keeps its
// SyncStateSet with the controllers.
package ctrlmode

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/broker/epoch"
	"github.com/rocketgo/rocketgo/internal/ctrlclient"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/store"
)

// role is what the runner opened the broker as.
type role int

const (
	rolePending role = iota // a slave following nobody: the group has no master it can follow yet
	roleMaster
	roleSlave
)

func (r role) String() string {
	return [...]string{"PENDING", "MASTER", "SLAVE"}[r]
}

// requestTimeout bounds one request to a controller or a broker.
const requestTimeout = 2 * time.Second

// Runner runs one broker in controller mode.
type Runner struct {
	bo  broker.Options
	so  store.Options
	log zerolog.Logger

	epochs *epoch.File
	t      *transport.Client
	ctrl   *ctrlclient.Client
	kick   chan struct{}
	stop   chan struct{}
	done   chan struct{}

	mu struct {
		sync.Mutex
		b *broker.Broker
	}
	// State owned by the loop goroutine (and Start before it).
	role       role
	id         int64 // the controller-assigned brokerId
	addr       string
	masterAddr string
	epoch      int32 // the master epoch the current role was taken at
	syncSet    []int64
	syncEpoch  int32
	// masterSince is when the broker last became master.
	masterSince time.Time
}

// Start opens the broker, registers it with the controllers and runs it in the role
// they give it until Close. The broker first opens as a slave following nobody, only to
// learn its address; it serves nothing but reads until it knows its role.
func Start(ctx context.Context, bo broker.Options, so store.Options) (*Runner, error) {
	if !bo.EnableControllerMode {
		return nil, errors.New("ctrlmode: enableControllerMode is off")
	}
	ep, err := epoch.Open(so.Dir)
	if err != nil {
		return nil, err
	}
	r := &Runner{bo: bo, so: so, epochs: ep,
		log:  bo.Logger.With().Str("component", "ctrlmode").Str("broker", bo.BrokerName).Logger(),
		kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	r.t = transport.NewClient(transport.ClientOptions{DialTimeout: time.Second, Logger: bo.Logger})
	r.ctrl = ctrlclient.New(bo.ControllerAddrs(), r.t)
	if err := r.open(ctx, rolePending, "", 0); err != nil {
		r.t.Close()
		return nil, err
	}
	// Later opens reuse the ports the first one bound, the VIP channel's included.
	r.bo.ListenAddr, r.bo.VIPAddr = r.Broker().BoundAddrs()
	r.addr = r.Broker().Addr()
	go r.loop()
	return r, nil
}

// Broker returns the broker currently open.
func (r *Runner) Broker() *broker.Broker {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.mu.b
}

// Close stops the runner and closes the broker.
func (r *Runner) Close() error {
	close(r.stop)
	<-r.done
	r.t.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mu.b == nil {
		return nil
	}
	return r.mu.b.Close()
}

// open closes the broker (if open) and opens it in role: a master, a slave replicating
// from haAddr, or a pending slave.
func (r *Runner) open(ctx context.Context, ro role, haAddr string, masterEpoch int32) error {
	r.mu.Lock()
	old := r.mu.b
	r.mu.b = nil
	r.mu.Unlock()
	if old != nil {
		if err := old.Close(); err != nil {
			r.log.Warn().Err(err).Msg("close broker for a role change")
		}
	}
	o := r.bo
	switch ro {
	case roleMaster:
		o.BrokerID = 0
		if o.BrokerRole == broker.RoleSlave {
			o.BrokerRole = broker.RoleAsyncMaster
		}
	case roleSlave, rolePending:
		o.BrokerRole, o.BrokerID, o.HAMasterAddr = broker.RoleSlave, max(r.id, 1), haAddr
		if ro == rolePending {
			o.NamesrvAddrs = nil // nothing to announce yet
		}
	}
	so := r.so
	// Every role keeps what its log holds past the last checkpoint from consumers until
	// the SyncStateSet is known to hold it (store/confirm.go): a master killed and
	// restarted must not serve records it may have written alone, and a slave waits
	// for its master's confirm offset (docs/failover.md §5).
	so.HoldUnconfirmed = o.AllAckInSyncStateSet
	b, err := broker.Open(o, so)
	if err != nil {
		return err
	}
	if ro == roleMaster {
		// The epoch starts where this log ends: before the first write of the epoch.
		if err := r.epochs.Append(epoch.Entry{Epoch: masterEpoch, Start: b.Store().MaxPhysicalOffset()}); err != nil {
			b.Close()
			return err
		}
	}
	b.SetControllerHooks(broker.ControllerHooks{Epochs: r.epochs, OnRoleNotice: r.poke})
	if err := b.Start(ctx); err != nil {
		b.Close()
		return err
	}
	r.mu.Lock()
	r.mu.b = b
	r.mu.Unlock()
	r.role = ro
	r.log.Info().Str("role", ro.String()).Int64("broker_id", r.id).Int32("epoch", masterEpoch).Str("ha_master", haAddr).
		Int64("max_offset", b.Store().MaxPhysicalOffset()).Msg("broker opened in its controller-given role")
	return nil
}

// poke asks the loop to talk to the controllers now.
func (r *Runner) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *Runner) loop() {
	defer close(r.done)
	t := time.NewTicker(r.bo.BrokerHeartbeatInterval)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-r.stop
		cancel()
	}()
	for {
		if err := r.step(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn().Err(err).Msg("controller round")
		}
		select {
		case <-r.stop:
			return
		case <-t.C:
		case <-r.kick:
		}
	}
}

// step is one round: heartbeat (registering first when needed), then act on the
// group's state.
func (r *Runner) step(ctx context.Context) error {
	if r.Broker() == nil {
		// A role change closed the broker and could not open it again (a port
		// taken meanwhile): serve reads as a slave following nobody until it can.
		r.role = rolePending
		if err := r.open(ctx, rolePending, "", 0); err != nil {
			return err
		}
	}
	info, set, err := r.heartbeat(ctx)
	if err != nil {
		return err
	}
	switch {
	case info.MasterBrokerID == r.id && info.MasterAddr == r.addr:
		if r.role != roleMaster || r.epoch != info.MasterEpoch {
			return r.becomeMaster(ctx, info, set)
		}
		return r.keepSyncStateSet(ctx, info, set)
	case info.MasterAddr != "":
		if r.role != roleSlave || r.masterAddr != info.MasterAddr || r.epoch != info.MasterEpoch {
			return r.becomeSlave(ctx, info)
		}
		return r.checkReplication(ctx, info)
	default:
		if r.role == roleMaster {
			// Fenced: the controllers took the mastership away and elected nobody.
			// Stop acknowledging at once.
			r.masterAddr, r.epoch = "", info.MasterEpoch
			return r.open(ctx, rolePending, "", 0)
		}
	}
	return nil
}

// heartbeat sends BROKER_HEARTBEAT, registering first when the controllers do not know
// the broker, and returns the group's state.
func (r *Runner) heartbeat(ctx context.Context) (header.ReplicaInfo, body.SyncStateSet, error) {
	var info header.ReplicaInfo
	var set body.SyncStateSet
	b := r.Broker()
	last, _ := r.epochs.Last()
	h := header.ControllerRegisterRequest{ClusterName: r.bo.ClusterName, BrokerName: r.bo.BrokerName, BrokerAddr: r.addr,
		BrokerID: r.id, Epoch: last.Epoch, MaxOffset: b.Store().MaxPhysicalOffset(),
		HeartbeatTimeoutMillis: r.bo.ControllerHeartBeatTimeout.Milliseconds()}
	call := func(c int32) (*codec.Command, error) {
		cctx, cancel := context.WithTimeout(ctx, requestTimeout)
		defer cancel()
		return r.ctrl.Invoke(cctx, func() *codec.Command { return codec.NewRequest(c, h.Encode(), nil) })
	}
	c := int32(code.BrokerHeartbeat)
	if r.id == 0 {
		c = code.ControllerRegisterBroker
	}
	resp, err := call(c)
	if err == nil && resp.Code == code.ControllerBrokerMetadataNotExist {
		resp, err = call(code.ControllerRegisterBroker)
	}
	if err != nil {
		return info, set, err
	}
	if resp.Code != code.Success {
		return info, set, fmt.Errorf("controller answered %d: %s", resp.Code, resp.Remark)
	}
	if err := info.Decode(resp.ExtFields); err != nil {
		return info, set, err
	}
	if err := body.DecodeJSON(resp.Body, &set); err != nil {
		return info, set, err
	}
	if r.id == 0 && info.BrokerID != 0 {
		r.id = info.BrokerID
		r.log.Info().Int64("broker_id", r.id).Msg("registered with the controllers")
	}
	return info, set, nil
}

// becomeMaster opens the broker as the group's master at the elected epoch.
func (r *Runner) becomeMaster(ctx context.Context, info header.ReplicaInfo, set body.SyncStateSet) error {
	if err := r.open(ctx, roleMaster, "", info.MasterEpoch); err != nil {
		return err
	}
	r.masterAddr, r.epoch, r.masterSince = r.addr, info.MasterEpoch, time.Now()
	r.syncSet, r.syncEpoch = slices.Clone(set.SyncStateSet), set.SyncStateSetEpoch
	r.Broker().SetSyncStateSet(r.others(r.syncSet))
	r.log.Warn().Int32("epoch", info.MasterEpoch).Ints64("sync_state_set", r.syncSet).Msg("this broker is now the master")
	return nil
}

// others returns set without this broker.
func (r *Runner) others(set []int64) []int64 {
	out := make([]int64, 0, len(set))
	for _, id := range set {
		if id != r.id {
			out = append(out, id)
		}
	}
	return out
}

// becomeSlave follows the elected master: it stops acknowledging first (a master
// steps down at once), reads the master's epochs, cuts its own log back to the end
// they share and reopens as the master's slave.
func (r *Runner) becomeSlave(ctx context.Context, info header.ReplicaInfo) error {
	if r.role == roleMaster {
		if err := r.open(ctx, rolePending, "", 0); err != nil {
			return err
		}
		r.log.Warn().Str("new_master", info.MasterAddr).Int32("epoch", info.MasterEpoch).Msg("this broker is no longer the master")
	}
	cache, haAddr, err := r.masterEpochs(ctx, info.MasterAddr)
	if err != nil {
		return err
	}
	master := make([]epoch.Entry, len(cache.EpochList))
	for i, e := range cache.EpochList {
		master[i] = epoch.Entry{Epoch: e.Epoch, Start: e.StartOffset}
	}
	local := r.epochs.Entries()
	cut, ok := epoch.ConsistentEnd(local, math.MaxInt64, master, cache.MaxOffset)
	r.mu.Lock()
	old := r.mu.b
	r.mu.b = nil
	r.mu.Unlock()
	if old != nil {
		if err := old.Close(); err != nil {
			r.log.Warn().Err(err).Msg("close broker for a role change")
		}
	}
	switch {
	case ok:
		if err := store.MarkTruncate(r.so.Dir, cut); err != nil {
			return err
		}
	case len(local) > 0:
		r.log.Error().Str("master", info.MasterAddr).Msg("this broker shares no epoch with the new master; replication will check the logs")
	}
	if err := r.epochs.Replace(master); err != nil {
		return err
	}
	if err := r.open(ctx, roleSlave, haAddr, info.MasterEpoch); err != nil {
		return err
	}
	r.Broker().FollowMaster(info.MasterAddr)
	r.masterAddr, r.epoch = info.MasterAddr, info.MasterEpoch
	r.log.Info().Str("master", info.MasterAddr).Str("ha", haAddr).Int64("cut", cut).Bool("shared_epoch", ok).
		Msg("following the master")
	return nil
}

// keepSyncStateSet, on the master, adopts a newer SyncStateSet from the controllers and
// asks them to change it when a slave caught up or fell behind.
func (r *Runner) keepSyncStateSet(ctx context.Context, info header.ReplicaInfo, set body.SyncStateSet) error {
	b := r.Broker()
	if set.SyncStateSetEpoch > r.syncEpoch {
		r.syncSet, r.syncEpoch = slices.Clone(set.SyncStateSet), set.SyncStateSetEpoch
		b.SetSyncStateSet(r.others(r.syncSet))
	}
	now := time.Now()
	want := []int64{r.id}
	heard := map[int64]bool{}
	for _, p := range b.SlaveProgress() {
		heard[p.BrokerID] = true
		fresh := !p.CaughtUp.IsZero() && now.Sub(p.CaughtUp) <= r.bo.HAMaxTimeSlaveNotCatchup
		if fresh && (p.Connected || slices.Contains(r.syncSet, p.BrokerID)) {
			want = append(want, p.BrokerID)
		}
	}
	// A master that just took over has not heard from its slaves yet: members keep
	// their place for haMaxTimeSlaveNotCatchup, as if they had caught up then.
	if now.Sub(r.masterSince) <= r.bo.HAMaxTimeSlaveNotCatchup {
		for _, id := range r.syncSet {
			if id != r.id && !heard[id] {
				want = append(want, id)
			}
		}
	}
	slices.Sort(want)
	cur := slices.Sorted(slices.Values(r.syncSet))
	if slices.Equal(want, cur) {
		return nil
	}
	h := header.AlterSyncStateSetRequest{BrokerName: r.bo.BrokerName, MasterBrokerID: r.id, MasterEpoch: r.epoch}
	bd := body.EncodeJSON(body.SyncStateSet{SyncStateSet: want, SyncStateSetEpoch: r.syncEpoch})
	cctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := r.ctrl.Invoke(cctx, func() *codec.Command {
		return codec.NewRequest(code.ControllerAlterSyncStateSet, h.Encode(), bd)
	})
	if err != nil {
		return fmt.Errorf("alter SyncStateSet to %v: %w", want, err)
	}
	if resp.Code != code.Success {
		return fmt.Errorf("alter SyncStateSet to %v refused (%d): %s", want, resp.Code, resp.Remark)
	}
	var got body.SyncStateSet
	if err := body.DecodeJSON(resp.Body, &got); err != nil {
		return err
	}
	r.syncSet, r.syncEpoch = got.SyncStateSet, got.SyncStateSetEpoch
	b.SetSyncStateSet(r.others(r.syncSet))
	r.log.Info().Ints64("sync_state_set", r.syncSet).Int32("epoch", r.syncEpoch).Msg("SyncStateSet changed")
	return nil
}

// masterEpochs reads a master's epoch entries and HA address (GET_BROKER_EPOCH_CACHE).
func (r *Runner) masterEpochs(ctx context.Context, master string) (body.EpochEntryCache, string, error) {
	var cache body.EpochEntryCache
	cctx, cancel := context.WithTimeout(ctx, requestTimeout)
	resp, err := r.t.Invoke(cctx, master, codec.NewRequest(code.GetBrokerEpochCache, nil, nil))
	cancel()
	if err != nil {
		// The master may have been reopening its server in its own role change when
		// this connection was made, leaving it accepted but never served: the next
		// round dials afresh.
		r.t.CloseAddr(master)
		return cache, "", fmt.Errorf("read the epochs of master %s: %w", master, err)
	}
	if resp.Code != code.Success {
		return cache, "", fmt.Errorf("master %s answered GET_BROKER_EPOCH_CACHE %d: %s", master, resp.Code, resp.Remark)
	}
	if err := body.DecodeJSON(resp.Body, &cache); err != nil {
		return cache, "", err
	}
	ha := resp.ExtFields["haServerAddr"]
	if ha == "" {
		return cache, "", fmt.Errorf("master %s does not name its HA address yet", master)
	}
	return cache, ha, nil
}

// checkReplication, on a slave whose master is unchanged, follows the master's HA
// address while replication is down: a master restarted within its epoch listens on a
// new one.
func (r *Runner) checkReplication(ctx context.Context, info header.ReplicaInfo) error {
	b := r.Broker()
	st, ok := b.ReplicationStatus()
	if !ok || st.Connected {
		return nil
	}
	_, ha, err := r.masterEpochs(ctx, info.MasterAddr)
	if err != nil {
		return err
	}
	if ha != st.MasterAddr {
		b.SetHAMasterAddr(ha)
		r.log.Info().Str("master", info.MasterAddr).Str("ha", ha).Msg("the master's HA address changed")
	}
	return nil
}
