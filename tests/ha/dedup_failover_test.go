package ha

import (
	"fmt"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
)

// dedupAnswer is a send's SendResult and whether the broker flagged it a duplicate.
type dedupAnswer struct {
	header.SendMessageResponse
	Dup bool
}

// sendKeyed sends body with UNIQ_KEY uniq to queue 0 of topic and fails the test
// unless the broker at addr answers SUCCESS with a SendResult.
func sendKeyed(t *testing.T, addr, topic, uniq string, body []byte) dedupAnswer {
	t.Helper()
	resp, err := Invoke(addr, sendRequest(topic, 0, body, map[string]string{message.PropUniqKey: uniq}))
	if err != nil {
		t.Fatalf("send %s to %s: %v", uniq, addr, err)
	}
	if resp.Code != code.Success {
		t.Fatalf("send %s to %s: code %d %q", uniq, addr, resp.Code, resp.Remark)
	}
	var a dedupAnswer
	if err := a.Decode(resp.ExtFields); err != nil {
		t.Fatalf("send %s: answer without SendResult: %v", uniq, err)
	}
	a.Dup = resp.ExtFields["duplicate"] == "true"
	return a
}

// TestNewMasterDedups: the duplicate window is a projection of the CommitLog, so a
// slave builds it from the replicated log. Messages stored by broker-a's master are
// replicated, the master is SIGKILLed, and the slave's store is restarted as the new
// master (brokerId 0): a producer retrying every send gets each original SendResult —
// msgId, queueId, queueOffset — flagged duplicate, and nothing is stored twice.
func TestNewMasterDedups(t *testing.T) {
	window := map[string]any{"duplicateWindow": "2m"}
	p := startPair(t, "ASYNC_MASTER", window)
	const topic, n = "DedupFailover", 20
	p.createTopic(t, topic, 1)

	uniq := func(i int) string { return fmt.Sprintf("7F00000100002A9F00000000DEDF%04d", i) }
	msgs := bodies("dedup", n, 64)
	first := make([]dedupAnswer, n)
	for i := range n {
		first[i] = sendKeyed(t, p.master.Addr, topic, uniq(i), msgs[i])
		if first[i].Dup || first[i].QueueID != 0 || first[i].QueueOffset != int64(i) || first[i].MsgID == "" {
			t.Fatalf("first send %d: %+v, want a new message at queue 0 offset %d", i, first[i], i)
		}
	}
	WaitReplicated(t, p.master, p.slave, 20*time.Second)
	testutil.Eventually(t, 20*time.Second, "the slave's queue to hold every message", func() bool {
		return MaxOffset(t, p.slave.Addr, topic, 0) == n
	})

	// The master's machine dies; the operator restarts the slave's store as master.
	p.master.Kill()
	p.slave.Stop()
	promoted := StartBroker(t, p.bin, p.dir, BrokerConfig{Name: "broker-a", ID: 0, Role: "ASYNC_MASTER",
		Namesrv: []string{p.ns.Addr}, StoreDir: p.slave.Cfg.StoreDir, Broker: window})
	if promoted.Addr == p.master.Addr {
		t.Fatalf("the new master listens where the old one did (%s): msgIds would not show where they come from", promoted.Addr)
	}

	// The producer did not see its answers: it retries every message.
	for i := range n {
		again := sendKeyed(t, promoted.Addr, topic, uniq(i), msgs[i])
		if !again.Dup || again.MsgID != first[i].MsgID || again.QueueID != first[i].QueueID || again.QueueOffset != first[i].QueueOffset {
			t.Fatalf("retry %d on the new master: dup=%v msgId %s queue %d offset %d; original msgId %s queue %d offset %d",
				i, again.Dup, again.MsgID, again.QueueID, again.QueueOffset, first[i].MsgID, first[i].QueueID, first[i].QueueOffset)
		}
	}

	if got := MaxOffset(t, promoted.Addr, topic, 0); got != n {
		t.Fatalf("the new master's queue holds %d messages, want exactly %d", got, n)
	}
	recs := Pull(t, promoted.Addr, "dedup-failover-check", topic, 0, 0, n)
	if len(recs) != n {
		t.Fatalf("pulled %d messages, want %d", len(recs), n)
	}
	for i, r := range recs {
		m, _, err := message.DecodeRecord(r.Raw)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if r.QueueOffset != int64(i) || string(r.Body) != string(msgs[i]) || m.Properties[message.PropUniqKey] != uniq(i) {
			t.Fatalf("record %d: offset %d key %s body %q, want offset %d key %s body %q",
				i, r.QueueOffset, m.Properties[message.PropUniqKey], r.Body, i, uniq(i), msgs[i])
		}
	}
}
