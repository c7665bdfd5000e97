package client

import (
	"context"
	"slices"
	"testing"

	"github.com/rs/zerolog"
)

// TestRemoteOffsetStoreSlaveCommitStaysPending: an offset a slave took while the master
// was down is committed again at every persist until a master takes it, and then no
// more.
func TestRemoteOffsetStoreSlaveCommitStaysPending(t *testing.T) {
	rpc := &fakeOffsets{stored: map[MessageQueue]int64{}, onSlave: true}
	s := newRemoteOffsetStore(rpc, zerolog.Nop())
	ctx := context.Background()
	s.update(mqA, 700, true)
	for range 2 {
		if err := s.persist(ctx, []MessageQueue{mqA}); err != nil {
			t.Fatal(err)
		}
	}
	rpc.onSlave = false // the master is back
	for range 2 {
		if err := s.persist(ctx, []MessageQueue{mqA}); err != nil {
			t.Fatal(err)
		}
	}
	if want := []int64{700, 700, 700}; !slices.Equal(rpc.commits, want) {
		t.Fatalf("commits %v, want %v (twice on the slave, once on the master, then nothing)", rpc.commits, want)
	}
}
