package proc

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

// TestDuplicateWindowSurvivesKill: a producer that retries every send it made so far
// after the broker is SIGKILLed and restarted mid-stream stores each message once,
// because the restarted broker rebuilds its duplicate window from the CommitLog.
func TestDuplicateWindowSurvivesKill(t *testing.T) {
	b := proctest.Build(t)
	rc := newClient(t)
	_, ns := startNamesrv(t, b)
	store := filepath.Join(t.TempDir(), "store")
	var addr string
	brk := proctest.Launch(t, func() proctest.Spec {
		addr = proctest.FreeAddr(t)
		return proctest.Spec{Name: "mqbroker", Bin: b.Broker, Dir: t.TempDir(),
			Env:  append([]string{"ROCKETGO_BROKER_DUPLICATEWINDOW=2m"}, brokerEnv...),
			Args: []string{"-c", "", "-namesrv", ns, "-listen", addr, "-store", store, "-brokerIP1", "127.0.0.1"}}
	}, func(*proctest.Proc) bool { ok, _ := proctest.RoutedTo(ns, addr); return ok })

	const topic, n = "ProcDedup", 30
	uniq := func(i int) string { return fmt.Sprintf("0A00000100002A9F0000000000%06d", i) }
	first := map[int]header.SendMessageResponse{}
	// sendRetrying sends message i until the broker answers it, as a producer does.
	sendRetrying := func(i int) (header.SendMessageResponse, bool) {
		h := header.SendMessageRequest{ProducerGroup: "proc-pg", Topic: topic, DefaultTopic: "TBW102",
			DefaultTopicQueueNums: 1, QueueID: 0, BornTimestamp: time.Now().UnixMilli(),
			Properties: message.EncodeProperties(map[string]string{message.PropUniqKey: uniq(i), message.PropWait: "true"})}
		var r header.SendMessageResponse
		var resp *codec.Command
		ok := testutil.Poll(readyTimeout, func() bool {
			var err error
			resp, err = invoke(rc, addr, codec.NewRequest(code.SendMessage, h.Encode(), []byte(fmt.Sprint("m-", i))))
			return err == nil && resp.Code == code.Success && r.Decode(resp.ExtFields) == nil
		})
		if !ok {
			t.Fatalf("send %d never answered: %+v", i, resp)
		}
		return r, resp.ExtFields["duplicate"] == "true"
	}
	for i := range n {
		r, dup := sendRetrying(i)
		if dup {
			t.Fatalf("first send of %d flagged duplicate", i)
		}
		first[i] = r
		if i == n/3 || i == 2*n/3 {
			brk.Kill()
			brk.Restart(func(*proctest.Proc) bool { ok, _ := proctest.RoutedTo(ns, addr); return ok })
			// The producer did not see its last answers: it retries everything so far.
			for j := 0; j <= i; j++ {
				again, dup := sendRetrying(j)
				if !dup || again.MsgID != first[j].MsgID || again.QueueOffset != first[j].QueueOffset || again.QueueID != first[j].QueueID {
					t.Fatalf("retry of %d after SIGKILL: dup=%v %+v, original %+v", j, dup, again, first[j])
				}
			}
		}
	}
	msgs := pull(t, rc, addr, topic, n)
	if len(msgs) != n {
		t.Fatalf("queue holds %d messages, want exactly %d", len(msgs), n)
	}
	for i, m := range msgs {
		if m.Properties[message.PropUniqKey] != uniq(i) || string(m.Body) != fmt.Sprint("m-", i) || m.QueueOffset != int64(i) {
			t.Fatalf("message %d: key %s body %q offset %d", i, m.Properties[message.PropUniqKey], m.Body, m.QueueOffset)
		}
	}
}
