package controller

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/hashicorp/raft"
)

func apply(t *testing.T, f *fsm, c command) result {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return f.Apply(&raft.Log{Data: b}).(result)
}

// The state machine: first broker is master, ids in registration order, elections
// fenced by epoch, SyncStateSet changes only from the master at the current epochs.
func TestFSMRules(t *testing.T) {
	f := newFSM()
	r := apply(t, f, command{Op: opRegister, Cluster: "C", Group: "g", Addr: "a:1"})
	if r.err != nil || r.id != 1 || r.g.MasterID != 1 || r.g.MasterEpoch != 1 || !slices.Equal(r.g.SyncSet, []int64{1}) {
		t.Fatalf("first register: %+v", r)
	}
	for i, addr := range []string{"b:1", "c:1", "b:1"} {
		r = apply(t, f, command{Op: opRegister, Group: "g", Addr: addr})
		if want := []int64{2, 3, 2}[i]; r.id != want || r.g.MasterID != 1 {
			t.Fatalf("register %s: id %d master %d, want id %d master 1", addr, r.id, r.g.MasterID, want)
		}
	}
	// Alter: only the master, at its epoch and the set's epoch, containing itself.
	cases := []struct {
		c    command
		want error
	}{
		{command{Op: opAlter, Group: "g", ID: 2, Epoch: 1, Set: []int64{1, 2}, SetEpoc: 1}, errInvalidMaster},
		{command{Op: opAlter, Group: "g", ID: 1, Epoch: 0, Set: []int64{1, 2}, SetEpoc: 1}, errFencedMaster},
		{command{Op: opAlter, Group: "g", ID: 1, Epoch: 1, Set: []int64{1, 2}, SetEpoc: 0}, errFencedSyncSet},
		{command{Op: opAlter, Group: "g", ID: 1, Epoch: 1, Set: []int64{2, 3}, SetEpoc: 1}, errInvalidSet},
		{command{Op: opAlter, Group: "g", ID: 1, Epoch: 1, Set: []int64{1, 9}, SetEpoc: 1}, errInvalidSet},
		{command{Op: opAlter, Group: "g", ID: 1, Epoch: 1, Set: []int64{3, 1, 2}, SetEpoc: 1}, nil},
	}
	for _, c := range cases {
		if r = apply(t, f, c.c); !errors.Is(r.err, c.want) {
			t.Fatalf("alter %+v: %v, want %v", c.c, r.err, c.want)
		}
	}
	if !slices.Equal(r.g.SyncSet, []int64{1, 2, 3}) || r.g.SyncEpoch != 2 {
		t.Fatalf("set %v epoch %d", r.g.SyncSet, r.g.SyncEpoch)
	}
	// Elect: fenced by the master epoch it was decided on.
	if r = apply(t, f, command{Op: opElect, Group: "g", ID: 2, Epoch: 0}); !errors.Is(r.err, errFencedMaster) {
		t.Fatalf("stale election: %v", r.err)
	}
	r = apply(t, f, command{Op: opElect, Group: "g", ID: 2, Epoch: 1})
	if r.err != nil || r.g.MasterID != 2 || r.g.MasterEpoch != 2 || !slices.Equal(r.g.SyncSet, []int64{2}) || r.g.SyncEpoch != 3 {
		t.Fatalf("election: %+v", r)
	}
	// Nobody electable: the master is fenced, the set kept.
	r = apply(t, f, command{Op: opElect, Group: "g", ID: 0, Epoch: 2})
	if r.err != nil || r.g.MasterID != 0 || r.g.MasterEpoch != 3 || !slices.Equal(r.g.SyncSet, []int64{2}) {
		t.Fatalf("empty election: %+v", r)
	}
	// A later register does not make a master of a group that had one.
	if r = apply(t, f, command{Op: opRegister, Group: "g", Addr: "d:1"}); r.g.MasterID != 0 {
		t.Fatalf("register made master %d", r.g.MasterID)
	}

	// Snapshot and restore give the same state.
	snap, err := f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := snap.Persist(&sink{Buffer: &buf}); err != nil {
		t.Fatal(err)
	}
	g := newFSM()
	if err := g.Restore(io.NopCloser(bytes.NewReader(buf.Bytes()))); err != nil {
		t.Fatal(err)
	}
	a, b := f.group("g"), g.group("g")
	if a.MasterEpoch != b.MasterEpoch || !slices.Equal(a.SyncSet, b.SyncSet) || len(a.Members) != len(b.Members) || a.NextID != b.NextID {
		t.Fatalf("restored %+v, had %+v", b, a)
	}
}

type sink struct{ *bytes.Buffer }

func (s *sink) ID() string    { return "test" }
func (s *sink) Cancel() error { return nil }
func (s *sink) Close() error  { return nil }

func TestParsePeers(t *testing.T) {
	ps, err := parsePeers("n0-127.0.0.1:9877; n1-127.0.0.1:9878;")
	if err != nil || len(ps) != 2 || ps[1] != (peer{"n1", "127.0.0.1:9878"}) {
		t.Fatalf("%v %v", ps, err)
	}
	for _, bad := range []string{"", "n0", "-127.0.0.1:1", "n0-host", "n0-a:1;n0-b:2"} {
		if _, err := parsePeers(bad); err == nil {
			t.Errorf("parsePeers(%q) accepted", bad)
		}
	}
}
