package broker

import (
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/store"
)

// slowSync leaves the periodic copy a minute away: what reaches the slave sooner came
// through the version poll.
func slowSync(o *Options, _ *store.Options) { o.SlaveSyncInterval = time.Minute }

// TestTopicChangeAnsweredOnceTheSlaveHasIt: the master answers a topic creation and a
// deletion only once its slave has applied them, so the slave has them the moment the
// answer arrives.
func TestTopicChangeAnsweredOnceTheSlaveHasIt(t *testing.T) {
	master, slave := newPair(t, RoleAsyncMaster, slowSync)
	testutil.Eventually(t, 10*time.Second, "the slave's first copy", func() bool { return slave.b.repl.meta.Rounds() > 0 })
	testutil.Eventually(t, 10*time.Second, "the slave's first report", func() bool { return master.b.repl.acks.Live() == 1 })
	for i := range 5 {
		topic := "Late" + string(rune('A'+i))
		began := time.Now()
		master.createTopic(topic, 4, body.PermRead|body.PermWrite)
		took := time.Since(began)
		if _, ok := slave.b.topics.Get(topic); !ok {
			t.Fatalf("topic %s created on the master (answered after %v) is not on the slave", topic, took)
		}
		t.Logf("create answered after %v, with the slave holding it", took)
	}
	h := header.DeleteTopicRequest{Topic: "LateA"}
	wantCode(t, "delete topic", master.call(code.DeleteTopicInBroker, h.Encode(), nil), code.Success, "")
	if _, ok := slave.b.topics.Get("LateA"); ok {
		t.Fatalf("topic deleted on the master is still on the slave when the deletion is answered")
	}
}

// TestOffsetCommittedOnSlaveReachesTheMaster: an offset a consumer commits on the slave
// is relayed to the master and not lowered by the master's older copy; the relay never
// lowers an offset the master holds; a slave refuses a relay.
func TestOffsetCommittedOnSlaveReachesTheMaster(t *testing.T) {
	master, slave := newPair(t, RoleAsyncMaster)
	commit := func(h *harness, q int32, off int64) {
		t.Helper()
		r := header.UpdateConsumerOffsetRequest{ConsumerGroup: "g", Topic: "T", QueueID: q, CommitOffset: off}
		wantCode(t, "commit", h.call(code.UpdateConsumerOffset, r.Encode(), nil), code.Success, "")
	}
	commit(master, 0, 100)
	commit(master, 1, 900)
	testutil.Eventually(t, 10*time.Second, "the slave's copy of the master's offsets", func() bool {
		off, ok := slave.b.offsets.Get("g", "T", 0)
		return ok && off == 100
	})
	commit(slave, 0, 700)
	commit(slave, 1, 800) // behind the master's 900: relayed, but not taken
	testutil.Eventually(t, 10*time.Second, "the relay to the master", func() bool {
		off, _ := master.b.offsets.Get("g", "T", 0)
		return off == 700 && slave.b.repl.meta.Pending() == 0
	})
	if off, _ := master.b.offsets.Get("g", "T", 1); off != 900 {
		t.Fatalf("master's offset of queue 1: %d, want its own 900 (the relay only raises)", off)
	}
	for q, want := range map[int32]int64{0: 700, 1: 900} {
		if off, _ := slave.b.offsets.Get("g", "T", q); off != want {
			t.Fatalf("slave's offset of queue %d: %d, want %d", q, off, want)
		}
	}
	resp := slave.call(code.RelayConsumerOffsets, nil, []byte(`{"offsetTable":{"T@g":{"0":1}}}`))
	wantCode(t, "relay to a slave", resp, code.SystemError, "is a slave")
	resp = master.call(code.RelayConsumerOffsets, nil, []byte(`{"offsetTable":`))
	wantCode(t, "broken relay body", resp, code.SystemError, "not a consumer offset table")
}
