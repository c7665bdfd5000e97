package bench

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/client"
)

// FiguresConfig sets up a run of the figures of docs/performance.md against a running cluster.
type FiguresConfig struct {
	NameServer string        // "ip:port" of a NameServer
	N          int           // (a)/(c) message count
	Size       int           // payload bytes
	SyncN      int           // (b) most sync sends
	Rate       int           // (d) messages per second
	Dur        time.Duration // (d) duration
	Window     int           // (a) most sends in flight
	Fetch      int           // (c) pull batch size
	Queues     int           // queues of each benchmark topic
	Phases     string        // comma-separated subset of a,b,c,d
	Deadline   time.Duration // bound of each phase
	Label      string        // figure prefix, "rocketgo"
	BrokerPID  int           // when > 0, report the broker's CPU per message
	Out        io.Writer     // where figure lines go
	Logger     zerolog.Logger
	TLS        *tls.Config // when set, every connection is TLS (mqbench -tls)
	// Credentials, when set, sign every request (a broker with aclEnable).
	Credentials *client.Credentials
}

// signed is WithCredentials of c.Credentials; an empty key pair signs nothing.
func (c FiguresConfig) signed() client.Option {
	if c.Credentials == nil {
		return client.WithCredentials(client.Credentials{})
	}
	return client.WithCredentials(*c.Credentials)
}

// DefaultFiguresConfig returns the peer harness's defaults.
func DefaultFiguresConfig() FiguresConfig {
	return FiguresConfig{
		NameServer: "127.0.0.1:9876", N: 200000, Size: 1024, SyncN: 20000, Rate: 2000, Dur: 5 * time.Second,
		Window: 4096, Fetch: 500, Queues: 4, Phases: "a,b,c,d", Deadline: 30 * time.Second, Label: "rocketgo",
		Logger: zerolog.Nop(),
	}
}

// figures is one run of RunFigures.
type figures struct {
	c       FiguresConfig
	payload []byte
	adm     *client.Admin
	runID   string
}

// RunFigures runs the selected figures once, each on a fresh topic, and prints one
// line per figure to c.Out.
func RunFigures(ctx context.Context, c FiguresConfig) error {
	if c.N <= 0 || c.Size < 8 || c.Window <= 0 || c.Fetch <= 0 || c.Queues <= 0 || c.Rate <= 0 {
		return fmt.Errorf("bench: -n, -window, -fetch, -queues and -rate must be positive and -size at least 8")
	}
	adm, err := client.NewAdmin(client.WithNameServer(c.NameServer), client.WithTLS(c.TLS), client.WithInstanceName("mqbench-admin"), client.WithLogger(c.Logger), c.signed())
	if err != nil {
		return err
	}
	defer adm.Close()
	f := &figures{c: c, adm: adm, payload: make([]byte, c.Size), runID: fmt.Sprint(time.Now().UnixNano())}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range f.payload {
		f.payload[i] = byte(r.Uint32())
	}
	ph := map[string]bool{}
	for _, p := range strings.Split(c.Phases, ",") {
		ph[strings.TrimSpace(p)] = true
	}
	if ph["a"] || ph["c"] {
		topic, err := f.topic(ctx, "a")
		if err != nil {
			return err
		}
		var stored int
		labelled(ctx, "a", func(ctx context.Context) { stored, err = f.asyncPublish(ctx, topic, ph["a"]) })
		if err != nil {
			return err
		}
		if ph["c"] {
			labelled(ctx, "c", func(ctx context.Context) { err = f.pullConsume(ctx, topic, stored) })
			if err != nil {
				return err
			}
		}
		f.drop(ctx, topic)
	}
	if ph["b"] {
		if err := f.syncPublish(ctx); err != nil {
			return err
		}
	}
	if ph["d"] {
		if err := f.endToEnd(ctx); err != nil {
			return err
		}
	}
	return nil
}

// labelled runs fn with the profiler label figure=fig, which the goroutines fn starts
// (the SDK's pull loops, connection readers) inherit: a CPU profile of a whole run
// (mqbench -cpuprofile) splits by figure with `go tool pprof -tagfocus=figure=c`.
func labelled(ctx context.Context, fig string, fn func(context.Context)) {
	pprof.Do(ctx, pprof.Labels("figure", fig), fn)
}

// topic creates a fresh topic for a figure and waits for its route.
func (f *figures) topic(ctx context.Context, fig string) (string, error) {
	name := "mqbench_" + fig + "_" + f.runID
	q := int32(f.c.Queues)
	if err := f.adm.CreateTopic(ctx, client.TopicConfig{Topic: name, ReadQueueNums: q, WriteQueueNums: q}, client.Target{}); err != nil {
		return "", err
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := f.adm.TopicRoute(ctx, name)
		if err == nil && len(r.QueueDatas) > 0 {
			return name, nil
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("bench: no route for %s after 10 s: %v", name, err)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// drop deletes a figure's topic; failure only costs disk space.
func (f *figures) drop(ctx context.Context, topic string) {
	if err := f.adm.DeleteTopic(ctx, topic, client.Target{}); err != nil {
		f.c.Logger.Warn().Err(err).Str("topic", topic).Msg("delete benchmark topic")
	}
}

// producer starts a producer for a figure.
func (f *figures) producer(ctx context.Context, opts ...client.ProducerOption) (*client.Producer, error) {
	all := append([]client.ProducerOption{
		client.WithNameServer(f.c.NameServer), client.WithTLS(f.c.TLS), client.WithProducerGroup("mqbench_producer"),
		client.WithInstanceName("mqbench"), client.WithLogger(f.c.Logger), f.c.signed(),
	}, opts...)
	p, err := client.NewProducer(all...)
	if err != nil {
		return nil, err
	}
	return p, p.Start(ctx)
}

// asyncPublish is figure (a): N async sends with at most Window in flight, every
// acknowledgement awaited. It returns how many messages the topic holds afterwards.
func (f *figures) asyncPublish(ctx context.Context, topic string, print bool) (int, error) {
	p, err := f.producer(ctx, client.WithInlineCallbacks())
	if err != nil {
		return 0, err
	}
	defer p.Shutdown(context.Background())
	// Warm the route and the connection outside the measurement.
	if _, err := p.Send(ctx, client.NewMessage(topic, f.payload)); err != nil {
		return 0, fmt.Errorf("(a) first send: %w", err)
	}
	sem := make(chan struct{}, f.c.Window)
	var wg sync.WaitGroup
	var errs atomic.Int64
	msg := client.NewMessage(topic, f.payload)
	cb := func(_ *client.SendResult, err error) {
		if err != nil {
			errs.Add(1)
		}
		<-sem
		wg.Done()
	}
	cm := startCPU(f.c.BrokerPID)
	start := time.Now()
	dl := start.Add(f.c.Deadline)
	sent := 0
	for ; sent < f.c.N && time.Now().Before(dl); sent++ {
		sem <- struct{}{}
		wg.Add(1)
		if err := p.SendAsync(ctx, cb, msg); err != nil {
			errs.Add(1)
			<-sem
			wg.Done()
		}
	}
	if !waitGroup(&wg, time.Until(dl)+5*time.Second) {
		return 0, errors.New("(a) timed out waiting for acknowledgements")
	}
	el := time.Since(start)
	// The queues are built from the log after each acknowledgement, so the count can
	// trail the acknowledgements for a moment on a loaded machine: wait for it briefly.
	var stored int
	for settle := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if stored, err = f.stored(ctx, topic); err != nil {
			return 0, err
		}
		if stored-1 >= sent-int(errs.Load()) || time.Now().After(settle) {
			break
		}
	}
	if print {
		fmt.Fprintf(f.c.Out, "%s.a_async_pub msgs=%d stored=%d errs=%d secs=%.3f msgs_per_s=%.0f MB_per_s=%.1f%s\n", f.c.Label, sent, stored-1, errs.Load(),
			el.Seconds(), float64(sent)/el.Seconds(), float64(sent)*float64(f.c.Size)/el.Seconds()/1e6, cm.fields(sent))
	}
	return stored, nil
}

// stored counts the messages a topic holds.
func (f *figures) stored(ctx context.Context, topic string) (int, error) {
	stats, err := f.adm.TopicStats(ctx, topic)
	if err != nil {
		return 0, err
	}
	n := int64(0)
	for _, s := range stats {
		n += s.MaxOffset - s.MinOffset
	}
	return int(n), nil
}

// waitGroup waits for wg at most d.
func waitGroup(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// syncPublish is figure (b): one send in flight at a time.
func (f *figures) syncPublish(ctx context.Context) error {
	topic, err := f.topic(ctx, "b")
	if err != nil {
		return err
	}
	defer f.drop(ctx, topic)
	p, err := f.producer(ctx)
	if err != nil {
		return err
	}
	defer p.Shutdown(context.Background())
	msg := client.NewMessage(topic, f.payload)
	if _, err := p.Send(ctx, msg); err != nil {
		return fmt.Errorf("(b) first send: %w", err)
	}
	var lat latencies
	lat.d = make([]time.Duration, 0, f.c.SyncN)
	cm := startCPU(f.c.BrokerPID)
	start := time.Now()
	dl := start.Add(f.c.Deadline)
	for i := 0; i < f.c.SyncN && time.Now().Before(dl); i++ {
		t0 := time.Now()
		if _, err := p.Send(ctx, msg); err != nil {
			return fmt.Errorf("(b) send: %w", err)
		}
		lat.d = append(lat.d, time.Since(t0))
	}
	el := time.Since(start)
	pc := lat.pcts()
	n := len(lat.d)
	fmt.Fprintf(f.c.Out, "%s.b_sync_pub msgs=%d secs=%.3f msgs_per_s=%.0f p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f%s\n", f.c.Label, n, el.Seconds(),
		float64(n)/el.Seconds(), pc[0], pc[1], pc[2], pc[3], cm.fields(n))
	return nil
}

// pullConsume is figure (c): a pull consumer drains the (a) topic, Fetch messages per
// pull, committing as it goes.
func (f *figures) pullConsume(ctx context.Context, topic string, want int) error {
	pc, err := client.NewPullConsumer(
		client.WithNameServer(f.c.NameServer), client.WithTLS(f.c.TLS), client.WithInstanceName("mqbench"), client.WithLogger(f.c.Logger),
		client.WithConsumerGroup("mqbench_c_"+f.runID), client.WithConsumeFrom(client.ConsumeFromFirstOffset), f.c.signed(),
		client.WithPullBatchSize(f.c.Fetch), client.WithPollBatchSize(f.c.Fetch),
	)
	if err != nil {
		return err
	}
	if err := pc.Subscribe(topic, client.SelectAll); err != nil {
		return err
	}
	got, bytes := 0, 0
	cm := startCPU(f.c.BrokerPID)
	start := time.Now()
	if err := pc.Start(ctx); err != nil {
		return err
	}
	defer pc.Shutdown(context.Background())
	dl := start.Add(f.c.Deadline)
	for got < want && time.Now().Before(dl) {
		pctx, cancel := context.WithDeadline(ctx, dl)
		msgs, err := pc.Poll(pctx)
		cancel()
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				break
			}
			return fmt.Errorf("(c) poll: %w", err)
		}
		got += len(msgs)
		for _, m := range msgs {
			bytes += len(m.Body)
		}
	}
	el := time.Since(start)
	fmt.Fprintf(f.c.Out, "%s.c_pull_consume msgs=%d ack=commit batch=%d secs=%.3f msgs_per_s=%.0f MB_per_s=%.1f%s\n", f.c.Label, got, f.c.Fetch, el.Seconds(),
		float64(got)/el.Seconds(), float64(bytes)/el.Seconds()/1e6, cm.fields(got))
	return nil
}

// endToEnd is figure (d): a push consumer (long polling) receives messages sent at a
// fixed rate; latency is from just before the send to the listener.
func (f *figures) endToEnd(ctx context.Context) error {
	topic, err := f.topic(ctx, "d")
	if err != nil {
		return err
	}
	defer f.drop(ctx, topic)
	total := int(float64(f.c.Rate) * f.c.Dur.Seconds())
	var lat latencies
	lat.d = make([]time.Duration, 0, total)
	done := make(chan struct{})
	var once sync.Once
	pc, err := client.NewPushConsumer(
		client.WithNameServer(f.c.NameServer), client.WithTLS(f.c.TLS), client.WithInstanceName("mqbench"), client.WithLogger(f.c.Logger),
		client.WithConsumerGroup("mqbench_d_"+f.runID), client.WithConsumeFrom(client.ConsumeFromLastOffset), f.c.signed(),
	)
	if err != nil {
		return err
	}
	err = pc.Subscribe(topic, client.SelectAll, func(_ context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
		now := time.Now().UnixNano()
		for _, m := range msgs {
			if len(m.Body) >= 8 {
				lat.add(time.Duration(now - int64(binary.LittleEndian.Uint64(m.Body))))
			}
		}
		if lat.len() >= total {
			once.Do(func() { close(done) })
		}
		return client.ConsumeSuccess, nil
	})
	if err != nil {
		return err
	}
	if err := pc.Start(ctx); err != nil {
		return err
	}
	defer pc.Shutdown(context.Background())
	deadline := time.Now().Add(f.c.Deadline)
	for len(pc.Assignment()) < f.c.Queues {
		if time.Now().After(deadline) {
			return fmt.Errorf("(d) consumer got %d of %d queues", len(pc.Assignment()), f.c.Queues)
		}
		time.Sleep(20 * time.Millisecond) // polling the assignment
	}
	time.Sleep(200 * time.Millisecond) // let the long polls settle, as the peer harness does
	p, err := f.producer(ctx, client.WithInlineCallbacks())
	if err != nil {
		return err
	}
	defer p.Shutdown(context.Background())
	// Warm the route and connection; a body under 8 bytes is not timed by the listener.
	if _, err := p.Send(ctx, client.NewMessage(topic, []byte("warm"))); err != nil {
		return fmt.Errorf("(d) first send: %w", err)
	}
	interval := time.Second / time.Duration(f.c.Rate)
	start := time.Now()
	for i := 0; i < total; i++ {
		if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
			time.Sleep(d)
		}
		body := make([]byte, len(f.payload))
		copy(body, f.payload)
		binary.LittleEndian.PutUint64(body, uint64(time.Now().UnixNano()))
		if err := p.SendAsync(ctx, nil, client.NewMessage(topic, body)); err != nil {
			return fmt.Errorf("(d) send: %w", err)
		}
	}
	sendEl := time.Since(start)
	select {
	case <-done:
	case <-time.After(f.c.Deadline):
	}
	pcts := lat.pcts()
	fmt.Fprintf(f.c.Out, "%s.d_e2e_latency target_rate=%d achieved_rate=%.0f msgs=%d recv=%d p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f\n", f.c.Label, f.c.Rate,
		float64(total)/sendEl.Seconds(), total, lat.len(), pcts[0], pcts[1], pcts[2], pcts[3])
	return nil
}
