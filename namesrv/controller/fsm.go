package controller

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"sync"

	"github.com/hashicorp/raft"
)

// The replicated state (docs/failover.md §2): per broker group, its members, its master
// and master epoch, and its SyncStateSet with the set's epoch. Every change is a command
// in the Raft log, applied in log order by every controller; the leader decides (who is
// alive, whom to elect) and the log carries the decision, so applying is deterministic.

// member is one broker of a group.
type member struct {
	ID   int64  `json:"id"`
	Addr string `json:"addr"`
}

// group is one broker group (brokerName).
type group struct {
	Cluster     string   `json:"cluster"`
	Name        string   `json:"name"`
	Members     []member `json:"members"` // in id order
	NextID      int64    `json:"nextId"`
	MasterID    int64    `json:"masterId"` // 0: no master
	MasterEpoch int32    `json:"masterEpoch"`
	SyncSet     []int64  `json:"syncSet"` // sorted
	SyncEpoch   int32    `json:"syncEpoch"`
}

func (g *group) addr(id int64) string {
	for _, m := range g.Members {
		if m.ID == id {
			return m.Addr
		}
	}
	return ""
}

func (g *group) idOf(addr string) int64 {
	for _, m := range g.Members {
		if m.Addr == addr {
			return m.ID
		}
	}
	return 0
}

func (g *group) clone() *group {
	c := *g
	c.Members = slices.Clone(g.Members)
	c.SyncSet = slices.Clone(g.SyncSet)
	return &c
}

// state is the whole replicated state.
type state struct {
	Groups map[string]*group `json:"groups"`
	// Leaders maps a controller's Raft id to its remoting address, written by each
	// controller when it becomes leader, so that a follower can name the leader's
	// remoting address in CONTROLLER_NOT_LEADER.
	Leaders map[string]string `json:"leaders"`
}

// Command kinds.
const (
	opRegister = "register"
	opElect    = "elect"
	opAlter    = "alter"
	opLeader   = "leader"
)

// command is one entry of the Raft log.
type command struct {
	Op      string  `json:"op"`
	Cluster string  `json:"cluster,omitempty"`
	Group   string  `json:"group,omitempty"`
	Addr    string  `json:"addr,omitempty"`
	ID      int64   `json:"id,omitempty"`
	Epoch   int32   `json:"epoch,omitempty"`    // elect: the master epoch the decision was made on; alter: the master's epoch
	Set     []int64 `json:"set,omitempty"`      // alter: the new SyncStateSet
	SetEpoc int32   `json:"setEpoch,omitempty"` // alter: the SyncStateSet epoch the master knew
}

// Errors of applying a command: each maps to a controller response code.
var (
	errFencedMaster  = errors.New("fenced master epoch")
	errFencedSyncSet = errors.New("fenced SyncStateSet epoch")
	errInvalidMaster = errors.New("invalid master")
	errInvalidSet    = errors.New("invalid replicas")
	errNoGroup       = errors.New("broker group unknown")
)

// result is what applying a command returns to the leader that proposed it.
type result struct {
	g   *group // the group after the command (a copy)
	id  int64  // register: the broker's id
	err error
}

// fsm implements raft.FSM over state.
type fsm struct {
	mu sync.RWMutex
	st state
}

func newFSM() *fsm {
	return &fsm{st: state{Groups: map[string]*group{}, Leaders: map[string]string{}}}
}

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any {
	var c command
	if err := json.Unmarshal(l.Data, &c); err != nil {
		return result{err: fmt.Errorf("undecodable command at index %d: %w", l.Index, err)}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.apply(c)
}

func (f *fsm) apply(c command) result {
	if c.Op == opLeader {
		f.st.Leaders[c.Addr] = c.Group // Addr: the Raft id; Group: the remoting address
		return result{}
	}
	g := f.st.Groups[c.Group]
	switch c.Op {
	case opRegister:
		if g == nil {
			g = &group{Cluster: c.Cluster, Name: c.Group, NextID: 1}
			f.st.Groups[c.Group] = g
		}
		id := g.idOf(c.Addr)
		if id == 0 {
			id = g.NextID
			g.NextID++
			g.Members = append(g.Members, member{ID: id, Addr: c.Addr})
		}
		if g.MasterID == 0 && len(g.SyncSet) == 0 {
			// A new group: its first broker is its master.
			g.MasterID, g.MasterEpoch = id, g.MasterEpoch+1
			g.SyncSet, g.SyncEpoch = []int64{id}, g.SyncEpoch+1
		}
		return result{g: g.clone(), id: id}
	case opElect:
		if g == nil {
			return result{err: errNoGroup}
		}
		if c.Epoch != g.MasterEpoch {
			return result{g: g.clone(), err: errFencedMaster}
		}
		if c.ID != 0 && g.addr(c.ID) == "" {
			return result{g: g.clone(), err: errInvalidMaster}
		}
		g.MasterID, g.MasterEpoch = c.ID, g.MasterEpoch+1
		if c.ID != 0 {
			g.SyncSet = []int64{c.ID}
		}
		g.SyncEpoch++
		return result{g: g.clone()}
	case opAlter:
		if g == nil {
			return result{err: errNoGroup}
		}
		switch {
		case c.ID != g.MasterID:
			return result{g: g.clone(), err: errInvalidMaster}
		case c.Epoch != g.MasterEpoch:
			return result{g: g.clone(), err: errFencedMaster}
		case c.SetEpoc != g.SyncEpoch:
			return result{g: g.clone(), err: errFencedSyncSet}
		case !slices.Contains(c.Set, g.MasterID):
			return result{g: g.clone(), err: errInvalidSet}
		}
		for _, id := range c.Set {
			if g.addr(id) == "" {
				return result{g: g.clone(), err: errInvalidSet}
			}
		}
		set := slices.Clone(c.Set)
		slices.Sort(set)
		g.SyncSet, g.SyncEpoch = slices.Compact(set), g.SyncEpoch+1
		return result{g: g.clone()}
	}
	return result{err: fmt.Errorf("unknown command %q", c.Op)}
}

// group returns a copy of a group, nil when unknown.
func (f *fsm) group(name string) *group {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if g := f.st.Groups[name]; g != nil {
		return g.clone()
	}
	return nil
}

// groups returns copies of every group, by name.
func (f *fsm) groups() []*group {
	f.mu.RLock()
	defer f.mu.RUnlock()
	out := make([]*group, 0, len(f.st.Groups))
	for _, g := range f.st.Groups {
		out = append(out, g.clone())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// leaderAddr returns the remoting address a controller announced when it led.
func (f *fsm) leaderAddr(raftID string) string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.st.Leaders[raftID]
}

// Snapshot implements raft.FSM: the whole state as JSON.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	b, err := json.Marshal(f.st)
	if err != nil {
		return nil, err
	}
	return snapshot(b), nil
}

// Restore implements raft.FSM.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	var st state
	if err := json.NewDecoder(io.LimitReader(rc, 64<<20)).Decode(&st); err != nil {
		return fmt.Errorf("controller: restore snapshot: %w", err)
	}
	if st.Groups == nil {
		st.Groups = map[string]*group{}
	}
	if st.Leaders == nil {
		st.Leaders = map[string]string{}
	}
	f.mu.Lock()
	f.st = st
	f.mu.Unlock()
	return nil
}

type snapshot []byte

// Persist implements raft.FSMSnapshot.
func (s snapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

// Release implements raft.FSMSnapshot.
func (s snapshot) Release() {}
