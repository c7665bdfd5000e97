package proc

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

// Bounds of the waits. readyTimeout covers a start on a loaded machine; exitTimeout is
// what an operator may expect a graceful stop or a refused start to take.
const (
	readyTimeout = 20 * time.Second
	exitTimeout  = 10 * time.Second
)

// brokerEnv is the environment of the brokers of tests that do not exercise the
// defaults: a small store, and any free HA port.
var brokerEnv = append([]string{proctest.AnyHAPort}, proctest.SmallStore...)

// portOf is the port of a host:port address.
func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// fields parses the key=value fields of a console log line.
func fields(line string) map[string]string {
	m := map[string]string{}
	for _, tok := range strings.Fields(line) {
		if k, v, ok := strings.Cut(tok, "="); ok {
			m[k] = v
		}
	}
	return m
}

// newClient returns a remoting client closed when the test ends.
func newClient(t *testing.T) *transport.Client {
	rc := transport.NewClient(transport.ClientOptions{DialTimeout: time.Second})
	t.Cleanup(func() { _ = rc.Close() })
	return rc
}

func invoke(rc *transport.Client, addr string, req *codec.Command) (*codec.Command, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return rc.Invoke(ctx, addr, req)
}

// send sends one message with SEND_MESSAGE to queue 0 of topic (created from TBW102 on
// first use) and returns the broker's answer.
func send(t *testing.T, rc *transport.Client, broker, topic, key string, payload []byte) header.SendMessageResponse {
	t.Helper()
	h := header.SendMessageRequest{
		ProducerGroup:         "proc-pg",
		Topic:                 topic,
		DefaultTopic:          "TBW102",
		DefaultTopicQueueNums: 4,
		QueueID:               0,
		BornTimestamp:         time.Now().UnixMilli(),
		Properties: message.EncodeProperties(map[string]string{
			message.PropKeys: key, message.PropUniqKey: message.NewUniqID(), message.PropWait: "true",
		}),
	}
	resp, err := invoke(rc, broker, codec.NewRequest(code.SendMessage, h.Encode(), payload))
	if err != nil {
		t.Fatalf("send to %s: %v", broker, err)
	}
	if resp.Code != code.Success {
		t.Fatalf("send to %s: code %d remark %q", broker, resp.Code, resp.Remark)
	}
	var r header.SendMessageResponse
	if err := r.Decode(resp.ExtFields); err != nil {
		t.Fatalf("send response header %v: %v", resp.ExtFields, err)
	}
	return r
}

// pull reads queue 0 of topic from offset 0 with PULL_MESSAGE until it holds at least
// n messages (dispatch into the ConsumeQueue is asynchronous) and returns them.
func pull(t *testing.T, rc *transport.Client, broker, topic string, n int) []*message.Ext {
	t.Helper()
	h := header.PullMessageRequest{
		ConsumerGroup: "proc-cg",
		Topic:         topic,
		QueueID:       0,
		QueueOffset:   0,
		MaxMsgNums:    32,
		SysFlag:       header.PullSubscription,
		Subscription:  "*",
		// The broker answers at once: no suspend bit.
		ExpressionType: "TAG",
	}
	var last string
	var msgs []*message.Ext
	ok := testutil.Poll(readyTimeout, func() bool {
		resp, err := invoke(rc, broker, codec.NewRequest(code.PullMessage, h.Encode(), nil))
		switch {
		case err != nil:
			last = err.Error()
		case resp.Code == code.Success:
			msgs = decodeRecords(t, resp.Body)
			last = fmt.Sprintf("%d of %d messages", len(msgs), n)
			return len(msgs) >= n
		default:
			last = fmt.Sprintf("code %d remark %q", resp.Code, resp.Remark)
		}
		return false
	})
	if !ok {
		t.Fatalf("pull %s:0 from %s: no %d messages within %v; last answer: %s", topic, broker, n, readyTimeout, last)
	}
	return msgs
}

func decodeRecords(t *testing.T, b []byte) []*message.Ext {
	t.Helper()
	var out []*message.Ext
	for len(b) > 0 {
		m, n, err := message.DecodeRecord(b)
		if err != nil {
			t.Fatalf("pulled record %d: %v", len(out), err)
		}
		out = append(out, m)
		b = b[n:]
	}
	return out
}

// requireMessages checks that msgs are exactly the bodies want, in order, at queue
// offsets 0, 1, ... of topic.
func requireMessages(t *testing.T, msgs []*message.Ext, topic string, want ...string) {
	t.Helper()
	if len(msgs) != len(want) {
		t.Fatalf("pulled %d messages, want %d", len(msgs), len(want))
	}
	for i, m := range msgs {
		if m.Topic != topic || m.QueueID != 0 || m.QueueOffset != int64(i) || string(m.Body) != want[i] {
			t.Fatalf("message %d: %s:%d@%d %q; want %s:0@%d %q", i, m.Topic, m.QueueID, m.QueueOffset, m.Body, topic, i, want[i])
		}
	}
}

// startNamesrv runs bin/mqnamesrv on a free port, logging at info level.
func startNamesrv(t *testing.T, b proctest.Binaries) (*proctest.Proc, string) {
	t.Helper()
	var addr string
	p := proctest.Launch(t, func() proctest.Spec {
		addr = proctest.FreeAddr(t)
		return proctest.Spec{Name: "mqnamesrv", Bin: b.Namesrv, Dir: t.TempDir(), Args: []string{"-listen", addr}}
	}, func(p *proctest.Proc) bool { return proctest.Logged("namesrv listening", "addr="+addr)(p) })
	return p, addr
}

// startBroker runs bin/mqbroker with built-in defaults, a small store in dir and
// NameServer ns, and waits until ns routes to it.
func startBroker(t *testing.T, b proctest.Binaries, ns, dir string) (*proctest.Proc, string) {
	t.Helper()
	return startBrokerEnv(t, b, ns, dir)
}

// startBrokerEnv is startBroker with extra environment settings.
func startBrokerEnv(t *testing.T, b proctest.Binaries, ns, dir string, extra ...string) (*proctest.Proc, string) {
	t.Helper()
	var addr string
	env := append(append([]string(nil), brokerEnv...), extra...)
	p := proctest.Launch(t, func() proctest.Spec {
		addr = proctest.FreeAddr(t)
		return proctest.Spec{Name: "mqbroker", Bin: b.Broker, Dir: t.TempDir(), Env: env,
			Args: []string{"-c", "", "-namesrv", ns, "-listen", addr, "-store", dir, "-brokerIP1", "127.0.0.1"}}
	}, func(*proctest.Proc) bool { ok, _ := proctest.RoutedTo(ns, addr); return ok })
	return p, addr
}
