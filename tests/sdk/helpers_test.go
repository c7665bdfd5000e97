package sdk

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// Timings that make consumers react in test time: rebalance and commit rounds of a
// fraction of a second instead of 20 s and 5 s, long polls of 2 s.
var fastConsumer = []client.ConsumerOption{
	client.WithRebalanceInterval(300 * time.Millisecond),
	client.WithCommitInterval(200 * time.Millisecond),
	client.WithPullTimeouts(2*time.Second, 5*time.Second),
	client.WithPullBackoff(200 * time.Millisecond),
}

var instanceSeq atomic.Int64

// instanceName returns a fresh instance name, so each client of a test is its own
// member with its own client id.
func instanceName(t testing.TB) string {
	return fmt.Sprintf("%s-%d", strings.ReplaceAll(t.Name(), "/", "_"), instanceSeq.Add(1))
}

// logger routes client logs to the test log.
func logger(t testing.TB) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel).With().Timestamp().Logger()
}

// startProducer starts a producer on c with its own instance.
func startProducer(t *testing.T, c *cluster.Cluster, opts ...client.ProducerOption) *client.Producer {
	t.Helper()
	all := append([]client.ProducerOption{
		client.WithNameServer(c.NamesrvAddr()),
		client.WithInstanceName(instanceName(t)),
		client.WithLogger(logger(t)),
		client.WithProducerGroup("PG_" + strings.ReplaceAll(t.Name(), "/", "_")),
	}, opts...)
	p, err := client.NewProducer(all...)
	if err != nil {
		t.Fatalf("new producer: %v", err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("start producer: %v", err)
	}
	t.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return p
}

// pushOpts returns the options every test push consumer has.
func pushOpts(t *testing.T, c *cluster.Cluster, group string, extra ...client.PushConsumerOption) []client.PushConsumerOption {
	opts := []client.PushConsumerOption{
		client.WithNameServer(c.NamesrvAddr()),
		client.WithInstanceName(instanceName(t)),
		client.WithLogger(logger(t)),
		client.WithConsumerGroup(group),
		client.WithOffsetDir(t.TempDir()),
	}
	for _, o := range fastConsumer {
		opts = append(opts, o)
	}
	return append(opts, extra...)
}

// startPush creates, subscribes and starts a push consumer; it is shut down at cleanup
// unless the test did it.
func startPush(t *testing.T, c *cluster.Cluster, group, topic string, sel client.MessageSelector, l client.Listener, extra ...client.PushConsumerOption) *client.PushConsumer {
	t.Helper()
	pc, err := client.NewPushConsumer(pushOpts(t, c, group, extra...)...)
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

// shutdown shuts a consumer down within 15 s.
func shutdown(t *testing.T, s interface{ Shutdown(context.Context) error }) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// collector records what listeners receive.
type collector struct {
	mu   sync.Mutex
	msgs []*client.MessageExt
	seen map[string]int // body → deliveries
}

func newCollector() *collector { return &collector{seen: map[string]int{}} }

// listener returns a listener that records every message and succeeds.
func (c *collector) listener() client.Listener {
	return func(_ context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
		c.add(msgs...)
		return client.ConsumeSuccess, nil
	}
}

func (c *collector) add(msgs ...*client.MessageExt) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range msgs {
		c.msgs = append(c.msgs, m)
		c.seen[string(m.Body)]++
	}
}

// distinct returns how many different bodies arrived.
func (c *collector) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// total returns how many deliveries there were.
func (c *collector) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

// snapshot copies the received messages.
func (c *collector) snapshot() []*client.MessageExt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*client.MessageExt(nil), c.msgs...)
}

// count returns the deliveries of body.
func (c *collector) count(body string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen[body]
}

// send sends n messages "prefix-i" to topic and returns their bodies.
func send(t *testing.T, p *client.Producer, topic, prefix string, n int, decorate func(i int, m *client.Message)) []string {
	t.Helper()
	var bodies []string
	for i := 0; i < n; i++ {
		b := fmt.Sprintf("%s-%d", prefix, i)
		m := client.NewMessage(topic, []byte(b))
		if decorate != nil {
			decorate(i, m)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		res, err := p.Send(ctx, m)
		cancel()
		if err != nil {
			t.Fatalf("send %s: %v", b, err)
		}
		if res.Status != client.SendOK {
			t.Fatalf("send %s: status %v", b, res.Status)
		}
		bodies = append(bodies, b)
	}
	return bodies
}

// waitGoroutines polls until the goroutine count is back at most to want (plus slack
// for the runtime's and the test framework's own), failing with a dump otherwise.
func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	var n int
	ok := testutil.Poll(10*time.Second, func() bool {
		n = runtime.NumGoroutine()
		return n <= want
	})

	if !ok {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Fatalf("goroutines: %d, want at most %d\n%s", n, want, buf)
	}
}

// runtimeGoroutines is runtime.NumGoroutine, named for the reader.
func runtimeGoroutines() int { return runtime.NumGoroutine() }
