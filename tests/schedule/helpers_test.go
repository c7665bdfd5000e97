package schedule

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// withBroker changes broker options of a test cluster.
func withBroker(fn func(*broker.Options)) cluster.Option { return cluster.WithBrokerOptions(fn) }

var instanceSeq atomic.Int64

// instanceName returns a fresh client instance name.
func instanceName(t testing.TB) string {
	return fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), instanceSeq.Add(1))
}

func logger(t testing.TB) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel).With().Timestamp().Logger()
}

// startProducer starts an SDK producer on the NameServer at ns.
func startProducer(t *testing.T, ns string) *client.Producer {
	t.Helper()
	p, err := client.NewProducer(
		client.WithNameServer(ns),
		client.WithInstanceName(instanceName(t)),
		client.WithLogger(logger(t)),
		client.WithProducerGroup("PG_"+strings.ReplaceAll(t.Name(), "/", "_")),
	)
	if err != nil {
		t.Fatalf("new producer: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := p.Start(ctx); err != nil {
		t.Fatalf("start producer: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

// send sends one message and requires SEND_OK.
func send(t *testing.T, p *client.Producer, m *client.Message) *client.SendResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := p.Send(ctx, m)
	if err != nil {
		t.Fatalf("send %q: %v", m.Body, err)
	}
	if res.Status != client.SendOK {
		t.Fatalf("send %q: status %v", m.Body, res.Status)
	}
	return res
}

// startPush starts an SDK push consumer of group on topic, with consumer timings
// fast enough for tests.
func startPush(t *testing.T, ns, group, topic string, sel client.MessageSelector, l client.Listener, extra ...client.PushConsumerOption) *client.PushConsumer {
	t.Helper()
	opts := []client.PushConsumerOption{
		client.WithNameServer(ns),
		client.WithInstanceName(instanceName(t)),
		client.WithLogger(logger(t)),
		client.WithConsumerGroup(group),
		client.WithOffsetDir(t.TempDir()),
		client.WithConsumeFrom(client.ConsumeFromFirstOffset),
		client.WithRebalanceInterval(300 * time.Millisecond),
		client.WithCommitInterval(200 * time.Millisecond),
		client.WithPullTimeouts(2*time.Second, 5*time.Second),
		client.WithPullBackoff(200 * time.Millisecond),
	}
	pc, err := client.NewPushConsumer(append(opts, extra...)...)
	if err != nil {
		t.Fatalf("new push consumer: %v", err)
	}
	if err := pc.Subscribe(topic, sel, l); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := pc.Start(ctx); err != nil {
		t.Fatalf("start push consumer: %v", err)
	}
	t.Cleanup(func() { _ = pc.Shutdown(context.Background()) })
	return pc
}

// collector records what a listener receives and when.
type collector struct {
	mu   sync.Mutex
	msgs []*client.MessageExt
	at   []time.Time
	// result is what the listener answers.
	result client.ConsumeResult
}

func (c *collector) listener() client.Listener {
	return func(_ context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, m := range msgs {
			c.msgs = append(c.msgs, m)
			c.at = append(c.at, time.Now())
		}
		return c.result, nil
	}
}

func (c *collector) setResult(r client.ConsumeResult) {
	c.mu.Lock()
	c.result = r
	c.mu.Unlock()
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

func (c *collector) snapshot() ([]*client.MessageExt, []time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*client.MessageExt(nil), c.msgs...), append([]time.Time(nil), c.at...)
}

// waitCount waits until the collector holds at least n deliveries.
func (c *collector) waitCount(t *testing.T, n int, timeout time.Duration) {
	t.Helper()
	if !testutil.Poll(timeout, func() bool { return c.count() >= n }) {
		msgs, _ := c.snapshot()
		t.Fatalf("received %d messages within %v, want %d: %s", len(msgs), timeout, n, bodies(msgs))
	}
}

func bodies[M interface {
	*client.MessageExt | *message.Ext
}](msgs []M) string {
	var parts []string
	for _, m := range msgs {
		switch m := any(m).(type) {
		case *client.MessageExt:
			parts = append(parts, string(m.Body))
		case *message.Ext:
			parts = append(parts, string(m.Body))
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// puller reads queues through raw PULL_MESSAGE requests, so a test sees exactly what
// the broker stored, duplicates included.
type puller struct {
	t  *testing.T
	rc *transport.Client
}

func newPuller(t *testing.T) *puller {
	rc := transport.NewClient(transport.ClientOptions{DialTimeout: 3 * time.Second})
	t.Cleanup(func() { rc.Close() })
	return &puller{t: t, rc: rc}
}

// call invokes one request.
func (p *puller) call(addr string, c int32, ext map[string]string) (*codec.Command, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return p.rc.Invoke(ctx, addr, codec.NewRequest(c, ext, nil))
}

// pull reads (topic, q) from offset with a subscription expression of exprType, and
// returns the answer code, the records and nextBeginOffset.
func (p *puller) pull(addr, topic string, q int32, offset int64, expr, exprType string) (int32, []*message.Ext, int64) {
	p.t.Helper()
	h := header.PullMessageRequest{ConsumerGroup: "verifier", Topic: topic, QueueID: q, QueueOffset: offset,
		MaxMsgNums: 32, SysFlag: header.PullSubscription, Subscription: expr, ExpressionType: exprType}
	resp, err := p.call(addr, code.PullMessage, h.Encode())
	if err != nil {
		p.t.Fatalf("pull %s/%d@%d: %v", topic, q, offset, err)
	}
	var ph header.PullMessageResponse
	if err := ph.Decode(resp.ExtFields); err != nil {
		p.t.Fatalf("pull %s/%d@%d: code %d %q: %v", topic, q, offset, resp.Code, resp.Remark, err)
	}
	var out []*message.Ext
	for b := resp.Body; len(b) > 0; {
		m, n, err := message.DecodeRecord(b)
		if err != nil {
			p.t.Fatalf("pull %s/%d: record: %v", topic, q, err)
		}
		out = append(out, m)
		b = b[n:]
	}
	return resp.Code, out, ph.NextBeginOffset
}

// all reads every record of queues 0..queues-1 of topic matching the expression.
func (p *puller) all(addr, topic string, queues int32, expr, exprType string) []*message.Ext {
	p.t.Helper()
	var out []*message.Ext
	for q := int32(0); q < queues; q++ {
		for off := int64(0); ; {
			c, recs, next := p.pull(addr, topic, q, off, expr, exprType)
			out = append(out, recs...)
			if c != code.Success && c != code.PullRetryImmediately || next <= off {
				break
			}
			off = next
		}
	}
	return out
}
