// Package controller is the controller of Apache RocketMQ 5's controller mode
// (docs/failover.md): a Raft group (github.com/hashicorp/raft, log and stable store in
// bbolt) whose replicated state machine keeps, per broker group, the members, the
// master with its epoch and the SyncStateSet with its epoch. The Raft leader watches the
// brokers' heartbeats and elects a new master from the SyncStateSet when the master's
// heartbeats stop. Brokers and mqadmin speak RocketMQ remoting to it with the
// controller request codes; a follower answers CONTROLLER_NOT_LEADER naming the leader.
// It runs inside a NameServer (enableControllerInNamesrv) or alone (bin/mqcontroller).
package controller

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// Options configure a controller; keys are Apache RocketMQ 5's ControllerConfig names.
type Options struct {
	// ListenAddr is the remoting address brokers and mqadmin call (listenPort 9878 in
	// Apache's controller; "127.0.0.1:0" in tests). Inside a NameServer the
	// controller answers on the NameServer's port and this is unused.
	ListenAddr string `mapstructure:"controllerListenAddr"`
	// Group names the Raft group (controllerDLegerGroup).
	Group string `mapstructure:"controllerDLegerGroup"`
	// Peers lists the controllers' Raft addresses: "n0-127.0.0.1:9877;n1-...;n2-..."
	// (controllerDLegerPeers). Three peers tolerate the loss of one.
	Peers string `mapstructure:"controllerDLegerPeers"`
	// SelfID is this controller's id in Peers (controllerDLegerSelfId).
	SelfID string `mapstructure:"controllerDLegerSelfId"`
	// StorePath holds the Raft log, stable store and snapshots (controllerStorePath).
	StorePath string `mapstructure:"controllerStorePath"`
	// EnableElectUncleanMaster lets an election pick a live broker outside the
	// SyncStateSet when no member of it is alive: availability at the price of losing
	// acknowledged messages (enableElectUncleanMaster, false).
	EnableElectUncleanMaster bool `mapstructure:"enableElectUncleanMaster"`
	// NotifyBrokerRoleChanged sends NOTIFY_BROKER_ROLE_CHANGED to a group's brokers
	// after an election, so they need not wait for their next heartbeat
	// (notifyBrokerRoleChanged, true).
	NotifyBrokerRoleChanged bool `mapstructure:"notifyBrokerRoleChanged"`
	// ScanNotActiveBrokerInterval is how often the leader looks for masters whose
	// heartbeats stopped (scanNotActiveBrokerInterval).
	ScanNotActiveBrokerInterval time.Duration `mapstructure:"scanNotActiveBrokerInterval"`
	// DefaultHeartbeatTimeout applies to a broker whose heartbeat names none.
	DefaultHeartbeatTimeout time.Duration `mapstructure:"controllerHeartBeatTimeoutMills"`

	Logger zerolog.Logger `mapstructure:"-"`
}

// DefaultOptions returns the controller's defaults.
func DefaultOptions() Options {
	return Options{
		ListenAddr:                  "0.0.0.0:9878",
		Group:                       "group1",
		SelfID:                      "n0",
		StorePath:                   "DLedgerController",
		NotifyBrokerRoleChanged:     true,
		ScanNotActiveBrokerInterval: time.Second,
		DefaultHeartbeatTimeout:     10 * time.Second,
		Logger:                      zerolog.Nop(),
	}
}

// peer is one entry of controllerDLegerPeers.
type peer struct{ id, addr string }

// parsePeers parses "n0-host:port;n1-host:port".
func parsePeers(s string) ([]peer, error) {
	var out []peer
	for _, p := range strings.Split(s, ";") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		id, addr, ok := strings.Cut(p, "-")
		if !ok || id == "" {
			return nil, fmt.Errorf("controller: controllerDLegerPeers entry %q is not id-host:port", p)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("controller: controllerDLegerPeers entry %q: %w", p, err)
		}
		for _, q := range out {
			if q.id == id {
				return nil, fmt.Errorf("controller: controllerDLegerPeers names %q twice", id)
			}
		}
		out = append(out, peer{id: id, addr: addr})
	}
	if len(out) == 0 {
		return nil, errors.New("controller: controllerDLegerPeers is empty")
	}
	return out, nil
}

// Validate reports the first option that cannot work, naming its key.
func (o Options) Validate() error {
	peers, err := parsePeers(o.Peers)
	if err != nil {
		return err
	}
	found := false
	for _, p := range peers {
		found = found || p.id == o.SelfID
	}
	switch {
	case !found:
		return fmt.Errorf("controller: controllerDLegerSelfId %q is not in controllerDLegerPeers %q", o.SelfID, o.Peers)
	case o.StorePath == "":
		return errors.New("controller: controllerStorePath is empty")
	case o.ScanNotActiveBrokerInterval <= 0:
		return fmt.Errorf("controller: scanNotActiveBrokerInterval %v must be positive", o.ScanNotActiveBrokerInterval)
	case o.DefaultHeartbeatTimeout <= 0:
		return fmt.Errorf("controller: controllerHeartBeatTimeoutMills %v must be positive", o.DefaultHeartbeatTimeout)
	}
	return nil
}

// applyTimeout bounds one proposal through Raft.
const applyTimeout = 5 * time.Second

// Controller is one member of the controller group.
type Controller struct {
	o     Options
	log   zerolog.Logger
	peers []peer
	fsm   *fsm
	raft  *raft.Raft
	trans *raft.NetworkTransport
	bolt  *raftboltdb.BoltStore
	// remotingAddr is the address brokers reach this controller at.
	remotingAddr func() string
	notify       *transport.Client
	live         liveTable
	ready        atomic.Bool // leader, and the heartbeat deadlines were reset

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// New opens the Raft store under StorePath and joins the group; the controller answers
// requests once Register put its handlers on a remoting server. remotingAddr returns
// the address brokers call (the server's, once it listens).
func New(o Options, remotingAddr func() string) (*Controller, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	peers, _ := parsePeers(o.Peers)
	c := &Controller{
		o: o, peers: peers, fsm: newFSM(), remotingAddr: remotingAddr,
		log:  o.Logger.With().Str("component", "controller").Str("self", o.SelfID).Logger(),
		stop: make(chan struct{}),
	}
	c.live.init()
	var self string
	for _, p := range peers {
		if p.id == o.SelfID {
			self = p.addr
		}
	}
	if err := os.MkdirAll(o.StorePath, 0o755); err != nil {
		return nil, fmt.Errorf("controller: controllerStorePath: %w", err)
	}
	rlog := &raftLog{log: c.log}
	bolt, err := raftboltdb.NewBoltStore(filepath.Join(o.StorePath, "raft.db"))
	if err != nil {
		return nil, fmt.Errorf("controller: open raft log: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStore(o.StorePath, 2, rlog)
	if err != nil {
		bolt.Close()
		return nil, fmt.Errorf("controller: snapshots: %w", err)
	}
	adv, err := net.ResolveTCPAddr("tcp", self)
	if err != nil {
		bolt.Close()
		return nil, fmt.Errorf("controller: %s: %w", self, err)
	}
	trans, err := raft.NewTCPTransport(self, adv, 3, 2*time.Second, rlog)
	if err != nil {
		bolt.Close()
		return nil, fmt.Errorf("controller: raft transport on %s: %w", self, err)
	}
	cfg := raft.DefaultConfig()
	cfg.LocalID = raft.ServerID(o.SelfID)
	cfg.LogOutput, cfg.LogLevel = rlog, "WARN"
	cfg.HeartbeatTimeout = 1000 * time.Millisecond
	cfg.ElectionTimeout = 1000 * time.Millisecond
	cfg.LeaderLeaseTimeout = 500 * time.Millisecond
	cfg.CommitTimeout = 20 * time.Millisecond
	cfg.SnapshotThreshold = 1024
	has, err := raft.HasExistingState(bolt, bolt, snaps)
	if err == nil && !has {
		// Every controller bootstraps with the same configuration: Raft accepts that,
		// and no controller depends on another to start first.
		var conf raft.Configuration
		for _, p := range peers {
			conf.Servers = append(conf.Servers, raft.Server{ID: raft.ServerID(p.id), Address: raft.ServerAddress(p.addr)})
		}
		err = raft.BootstrapCluster(cfg, bolt, bolt, snaps, trans, conf)
	}
	if err != nil {
		trans.Close()
		bolt.Close()
		return nil, fmt.Errorf("controller: bootstrap: %w", err)
	}
	r, err := raft.NewRaft(cfg, c.fsm, bolt, bolt, snaps, trans)
	if err != nil {
		trans.Close()
		bolt.Close()
		return nil, fmt.Errorf("controller: start raft: %w", err)
	}
	c.raft, c.trans, c.bolt = r, trans, bolt
	c.notify = transport.NewClient(transport.ClientOptions{DialTimeout: time.Second, Logger: o.Logger})
	c.wg.Add(2)
	go c.leaderLoop()
	go c.scanLoop()
	c.log.Info().Str("raft", self).Str("peers", o.Peers).Msg("controller started")
	return c, nil
}

// Close leaves the group and closes the Raft store.
func (c *Controller) Close() error {
	var err error
	c.once.Do(func() {
		close(c.stop)
		c.wg.Wait()
		err = c.raft.Shutdown().Error()
		c.trans.Close()
		c.notify.Close()
		if e := c.bolt.Close(); err == nil {
			err = e
		}
	})
	return err
}

// isLeader reports whether this controller leads the group.
func (c *Controller) isLeader() bool { return c.raft.State() == raft.Leader }

// leader returns the leader's Raft id and remoting address ("" when unknown).
func (c *Controller) leader() (id, addr string) {
	_, lid := c.raft.LeaderWithID()
	id = string(lid)
	if id == c.o.SelfID {
		return id, c.remotingAddr()
	}
	return id, c.fsm.leaderAddr(id)
}

// propose applies cmd through Raft and returns its result.
func (c *Controller) propose(cmd command) result {
	b, err := json.Marshal(cmd)
	if err != nil {
		return result{err: err}
	}
	f := c.raft.Apply(b, applyTimeout)
	if err := f.Error(); err != nil {
		return result{err: fmt.Errorf("raft: %w", err)}
	}
	return f.Response().(result)
}

// leaderLoop announces this controller's remoting address in the log each time it
// becomes leader, and gives every broker a fresh heartbeat deadline: a new leader has
// not seen their heartbeats and must not elect before they had a chance to send one.
func (c *Controller) leaderLoop() {
	defer c.wg.Done()
	ch := c.raft.LeaderCh()
	for {
		select {
		case <-c.stop:
			return
		case lead := <-ch:
			c.ready.Store(false)
			if !lead {
				continue
			}
			// The announcement commits every entry of earlier terms, so the state
			// the deadlines are reset from is complete.
			if r := c.propose(command{Op: opLeader, Addr: c.o.SelfID, Group: c.remotingAddr()}); r.err != nil {
				c.log.Warn().Err(r.err).Msg("announce leader address")
				continue
			}
			c.live.reset(c.fsm.groups(), c.o.DefaultHeartbeatTimeout)
			c.ready.Store(true)
			c.log.Info().Str("addr", c.remotingAddr()).Msg("controller leader")
		}
	}
}

// Register puts the controller's handlers on a remoting server.
func (c *Controller) Register(s *server.Server) { c.registerRoutes(s) }

// raftLog forwards the Raft library's log lines to zerolog.
type raftLog struct{ log zerolog.Logger }

func (w *raftLog) Write(p []byte) (int, error) {
	w.log.Info().Str("raft", strings.TrimSpace(string(p))).Msg("raft")
	return len(p), nil
}

var _ io.Writer = (*raftLog)(nil)
