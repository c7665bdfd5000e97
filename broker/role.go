package broker

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/rocketgo/rocketgo/broker/ha"
	"github.com/rocketgo/rocketgo/broker/internal/metasync"
	"github.com/rocketgo/rocketgo/broker/internal/runstats"
	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/store"
)

// Roles (docs/protocol.md §10, docs/architecture.md §4). brokerId 0 is a master, >0 a slave; all
// members of a group share brokerName.
//
//   - ASYNC_MASTER answers a send once it is stored (and flushed, in SYNC_FLUSH); its
//     slaves follow as fast as they can.
//   - SYNC_MASTER answers a send only once a slave has acknowledged the record's end
//     offset, or SLAVE_NOT_AVAILABLE (11) at once when no slave is connected or they
//     lag more than haSlaveFallbehindMax, or FLUSH_SLAVE_TIMEOUT (12) after
//     slaveTimeout. Both still count as sent: the record is on the master.
//   - SLAVE replicates its master's CommitLog (package ha) and copies its metadata
//     (slave.go); it refuses sends with SERVICE_NOT_AVAILABLE and answers pulls.
//
// Pulls on a slave differ from a master's in one way: an offset the slave does not hold
// is never "corrected". A consumer ahead of the slave (it read further on the master
// than the slave has replicated) is parked until the records arrive, or answered
// PULL_NOT_FOUND at its own offset; one behind the slave's oldest record is told to
// retry later. Only a master moves consumers' offsets, so a consumer that read from a
// slave while its master was down goes back to the master at the offset it reached,
// without loss and without a reset.

// Replication timing and limits of the broker's side of package ha.
const (
	haDialTimeout           = 3 * time.Second
	haRetryMin              = 200 * time.Millisecond
	haRetryMax              = 5 * time.Second
	maxReplicationDataBytes = 1 << 30
)

// replication is the broker's part in master/slave replication: the HA server of a
// master, or the HA client and metadata sync of a slave.
type replication struct {
	server *ha.Server     // masters
	client *ha.Client     // slaves
	meta   *metasync.Sync // slaves
	acks   *metasync.Acks // masters: the metadata versions slaves applied (slaveread.go)
}

// isSlave reports whether the broker is a slave.
func (b *Broker) isSlave() bool { return b.opts.BrokerRole == RoleSlave }

// syncMaster reports whether sends wait for a slave's acknowledgement.
func (b *Broker) syncMaster() bool { return b.opts.BrokerRole == RoleSyncMaster }

// openReplication builds the role's replication parts; nothing listens or connects
// before startReplication.
func (b *Broker) openReplication() error {
	log := b.opts.Logger.With().Str("broker", b.opts.BrokerName).Logger()
	if b.isSlave() {
		// Only replication writes to a slave's log: a delivery or transaction check
		// running here by mistake fails instead of making the logs differ.
		b.store.SetReplica()
		b.repl.client = ha.NewClient(b.store, ha.ClientOptions{
			BrokerName:      b.opts.BrokerName,
			BrokerID:        b.opts.BrokerID,
			Heartbeat:       b.opts.HASendHeartbeatInterval,
			Housekeeping:    b.opts.HAHousekeepingInterval,
			DialTimeout:     haDialTimeout,
			RetryMin:        haRetryMin,
			RetryMax:        haRetryMax,
			DataLimit:       replicationDataLimit(b.opts, b.sopts),
			OnMasterUnknown: b.registrar.Trigger,
			TLS:             b.tls.client,
			Logger:          log,
		})
		b.repl.meta = newMetaSync(b)
		return nil
	}
	id, _, err := b.store.LogID(true)
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	b.repl.acks = metasync.NewAcks(b.now)
	b.repl.server = ha.NewServer(b.store, ha.ServerOptions{
		Addr:              b.opts.HAListenAddr(),
		BrokerName:        b.opts.BrokerName,
		LogID:             id,
		SegmentBytes:      b.store.SegmentBytes(),
		BatchBytes:        b.opts.HATransferBatchBytes,
		Heartbeat:         b.opts.HASendHeartbeatInterval,
		Housekeeping:      b.opts.HAHousekeepingInterval,
		SlaveTimeout:      b.opts.SlaveTimeout,
		FallBehindMax:     b.opts.HASlaveFallbehindMax,
		AllAck:            b.opts.EnableControllerMode && b.opts.AllAckInSyncStateSet,
		MinInSyncReplicas: b.opts.MinInSyncReplicas,
		Confirm:           b.store.SetConfirmOffset, // consumers see only what the set holds
		Now:               b.now,
		TLS:               b.tls.server,
		Logger:            log,
	})
	return nil
}

// replicationDataLimit bounds one replicated run a slave accepts: a batch of records can
// be up to twice maxMessageSize, and no run crosses a segment.
func replicationDataLimit(o Options, so store.Options) int {
	maxMsg := so.MaxMessageBytes
	if maxMsg <= 0 {
		maxMsg = defaultMaxMessageBytes
	}
	limit := max(int64(o.HATransferBatchBytes), 2*int64(maxMsg)+64<<10)
	if so.CommitLogSegmentBytes > 0 {
		limit = min(limit, so.CommitLogSegmentBytes)
	}
	return int(min(limit, maxReplicationDataBytes))
}

// startReplication starts listening for slaves, or replicating from the master.
func (b *Broker) startReplication(ctx context.Context) error {
	if b.repl.server != nil {
		if err := b.repl.server.Start(ctx); err != nil {
			return fmt.Errorf("broker: replication: %w", err)
		}
	}
	if b.repl.client != nil {
		b.repl.client.SetMasterAddr(b.opts.HAMasterAddr)
		b.repl.client.Start()
		b.repl.meta.Start()
	}
	return nil
}

// closeReplication stops the replication parts; SYNC_MASTER sends still waiting are
// answered FLUSH_SLAVE_TIMEOUT. It must run before the store closes.
func (b *Broker) closeReplication() {
	if b.repl.server != nil {
		if err := b.repl.server.Close(); err != nil {
			b.log.Debug().Err(err).Msg("close replication listener")
		}
	}
	if b.repl.client != nil {
		b.repl.meta.Close()
		b.repl.client.Close()
	}
}

// haServerAddr is the address slaves replicate from, registered with the NameServers:
// the advertised IP and the port the HA server listens on; "" for a slave or before
// the server listens.
func (b *Broker) haServerAddr() string {
	h := b.storeHost()
	if b.repl.server == nil || !h.IsValid() {
		return ""
	}
	ap := b.repl.server.Addr()
	if !ap.IsValid() {
		return ""
	}
	return netip.AddrPortFrom(h.Addr(), ap.Port()).String()
}

// onRegistered takes a slave's master from a REGISTER_BROKER answer: the HA address to
// replicate from (unless haMasterAddress fixes it) and the master's address for the
// metadata sync. An answer without them (the master is not registered there, or is
// down) changes nothing: the slave keeps trying the addresses it knows.
func (b *Broker) onRegistered(resp *codec.Command) {
	if !b.isSlave() {
		return
	}
	var h header.RegisterBrokerResponse
	if err := h.Decode(resp.ExtFields); err != nil {
		return
	}
	if b.opts.HAMasterAddr == "" && h.HAServerAddr != "" {
		b.repl.client.SetMasterAddr(h.HAServerAddr)
	}
	if h.MasterAddr != "" {
		b.repl.meta.SetMasterAddr(h.MasterAddr)
	}
}

// refuseSendOnSlave refuses a send to a slave: SERVICE_NOT_AVAILABLE, which producers
// retry on another queue.
func (b *Broker) refuseSendOnSlave() error {
	if !b.isSlave() {
		return nil
	}
	return reject(errNotAvailable, "broker %s is a slave (brokerId %d): it accepts no messages; send to its master",
		b.opts.BrokerName, b.opts.BrokerID)
}

// waitsForDurability reports whether a send is answered only when its record is
// durable: flushed (SYNC_FLUSH) and/or on a slave (SYNC_MASTER).
func (b *Broker) waitsForDurability() bool {
	return b.sopts.FlushMode == store.SyncFlush || b.syncMaster()
}

// onDurable runs fn once the record ending at end is as durable as the broker's
// settings promise: flushed in SYNC_FLUSH, then acknowledged by a slave in SYNC_MASTER.
// A failed flush is reported without waiting for the slave. fn runs exactly once, off
// the caller's goroutine unless the answer is known at once, and must not block.
func (b *Broker) onDurable(end int64, fn func(error)) {
	replicate := func(err error) {
		if err != nil || !b.syncMaster() {
			fn(err)
			return
		}
		b.repl.server.OnReplicated(end, fn)
	}
	if b.sopts.FlushMode == store.SyncFlush {
		b.putDst.OnFlushed(end, replicate)
		return
	}
	replicate(nil)
}

// Errors of the replication wait, for respond.go's table: the record is stored on the
// master either way and the client counts the send as done with that status.
var (
	errSlaveNotAvailable = ha.ErrSlaveNotAvailable
	errSlaveTimeout      = ha.ErrSlaveTimeout
	errReplicationClosed = ha.ErrClosed
)

// slaveWindow is how far behind the CommitLog's end a consumer may read before a master
// with slaveReadEnable suggests its slave: accessMessageInMemoryMaxRatio percent of
// physical memory (Java's isSuggestPullingFromSlave).
func (b *Broker) slaveWindow() int64 {
	return runstats.PhysicalMemory() / 100 * int64(b.live().AccessMessageInMemoryMaxRatio)
}

// suggestBrokerID is the suggestWhichBrokerId of a pull answer (PullMessageProcessor):
// with slaveReadEnable off always the master (0); with it on, the group's
// whichBrokerWhenConsumeSlowly when the consumer reads further behind the log's end
// than the in-memory window, else the group's brokerId (0 unless configured).
func (b *Broker) suggestBrokerID(group string, res *store.GetResult) int64 {
	if !b.live().SlaveReadEnable {
		return 0
	}
	slow, id := int64(meta.DefaultWhichBrokerWhenConsumeSlowly), int64(0)
	if sg, ok := b.groups.Get(group); ok {
		slow, id = sg.GetWhichBrokerWhenConsumeSlowly(), sg.GetBrokerId()
	}
	if res.Status == store.Found && len(res.Records) > 0 {
		rec := res.Records[len(res.Records)-1]
		// Measured from the end of the last record read (Java takes its start), so a
		// consumer that has read everything is never "behind".
		end := message.RecordPhysicalOffset(rec) + int64(len(rec))
		if b.store.MaxPhysicalOffset()-end > b.slaveWindow() {
			return slow
		}
	}
	return id
}

// slavePull adjusts a slave's pull answer so that it never moves a consumer's offset
// (see the comment at the top of this file): it returns the code, next offset and
// remark of the answer — those of the master's status table, with the status name as
// the remark, except for offsets the slave does not hold.
func (b *Broker) slavePull(p *pullPlan, res *store.GetResult, c int32, next int64) (int32, int64, string) {
	if !b.isSlave() {
		return c, next, res.Status.String()
	}
	switch res.Status {
	case store.OffsetOverflowBadly, store.NoMessageInQueue, store.NoMatchedLogicQueue:
		if p.offset == 0 {
			return c, next, res.Status.String()
		}
		// The consumer is ahead of this slave: wait (long poll) for replication.
		return code.PullNotFound, p.offset, fmt.Sprintf("%s: slave %s/%d holds this queue up to offset %d; waiting for replication",
			res.Status, b.opts.BrokerName, b.opts.BrokerID, res.MaxOffset)
	case store.OffsetTooSmall:
		return code.SystemBusy, p.offset, fmt.Sprintf("%s: slave %s/%d holds this queue from offset %d only; offset %d may still be on the master, pull again later",
			res.Status, b.opts.BrokerName, b.opts.BrokerID, res.MinOffset, p.offset)
	}
	return c, next, res.Status.String()
}

// addReplicationInfo adds the replication figures to GET_BROKER_RUNTIME_INFO: on a
// master the slaves connected and the furthest offset one acknowledged, on a slave the
// master it follows and how far behind it is.
func (b *Broker) addReplicationInfo(t map[string]string) {
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	t["brokerRole"] = b.opts.BrokerRole
	if s := b.repl.server; s != nil {
		t["haServerAddr"] = b.haServerAddr()
		t["haSlaveCount"] = strconv.Itoa(len(s.Slaves()))
		t["haSlaveAckOffset"] = i64(s.AckedOffset())
	}
	if c := b.repl.client; c != nil {
		st := c.Status()
		t["haMasterAddr"] = st.MasterAddr
		t["haReplicating"] = strconv.FormatBool(st.Connected)
		t["haMasterMaxOffset"] = i64(st.MasterMax)
		t["haSlaveBehindBytes"] = i64(max(st.MasterMax-st.Offset, 0))
		if st.Refused != "" {
			t["haRefused"] = st.Refused
		}
		t["masterAddr"] = b.repl.meta.MasterAddr()
	}
}

// ReplicationStatus reports, for tests and tools in the same process, a slave's
// replication state; ok is false on a master.
func (b *Broker) ReplicationStatus() (st ha.Status, ok bool) {
	if b.repl.client == nil {
		return ha.Status{}, false
	}
	return b.repl.client.Status(), true
}

// SlaveAckedOffset reports, on a master, the furthest CommitLog offset a slave has
// acknowledged; ok is false on a slave.
func (b *Broker) SlaveAckedOffset() (int64, bool) {
	if b.repl.server == nil {
		return 0, false
	}
	return b.repl.server.AckedOffset(), true
}
