package client

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// An asynchronous send whose context can be cancelled but has no deadline shares the
// tick's deadline context with the other sends of that context: each still times out
// after the send timeout, and cancelling the parent fails the ones in flight at once.
func TestSendAsyncSharedDeadline(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startFakeBroker(t, "broker-a")
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // runs before the broker closes
	b.setAnswer(func(req *codec.Command) *codec.Command {
		if req.Code == code.SendMessageV2 {
			<-release // never answered while the test runs
		}
		return nil
	})
	ns.setRoute("T", 1, b)
	const timeout = 300 * time.Millisecond
	p := startProducer(t, ns.addr, WithRetries(0), WithSendTimeout(timeout), WithInlineCallbacks())

	send := func(ctx context.Context, n int) (<-chan error, time.Time) {
		errc := make(chan error, n)
		start := time.Now()
		for i := 0; i < n; i++ {
			if err := p.SendAsync(ctx, func(_ *SendResult, err error) { errc <- err }, NewMessage("T", []byte("m"))); err != nil {
				t.Fatalf("send async %d: %v", i, err)
			}
		}
		return errc, start
	}
	wait := func(errc <-chan error, n int) []error {
		var errs []error
		for i := 0; i < n; i++ {
			select {
			case err := <-errc:
				errs = append(errs, err)
			case <-time.After(10 * time.Second):
				t.Fatalf("only %d of %d callbacks", i, n)
			}
		}
		return errs
	}

	// Timeout: a cancellable parent without deadline.
	parent, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc, start := send(parent, 3)
	for i, err := range wait(errc, 3) {
		if !errors.Is(err, codec.ErrTimeout) {
			t.Fatalf("send %d: %v, want a timeout", i, err)
		}
	}
	if el := time.Since(start); el < timeout {
		t.Fatalf("timed out after %v, before the send timeout %v", el, timeout)
	}
	if got := p.deadlines.parents(); got > 1 {
		t.Fatalf("%d shared contexts this tick, want at most 1 per parent", got)
	}

	// Cancel: the parent ending fails the sends in flight well before the timeout.
	parent2, cancel2 := context.WithCancel(context.Background())
	errc, start = send(parent2, 3)
	cancel2()
	for i, err := range wait(errc, 3) {
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("send %d after cancel: %v, want context.Canceled", i, err)
		}
	}
	if el := time.Since(start); el >= timeout {
		t.Fatalf("cancelled sends ended after %v, not at the cancel", el)
	}
}

// Past maxSharedParents distinct parents in one tick, attempts get contexts of their
// own, cancelled when they end, instead of one living until the deadline each.
func TestSharedDeadlinesBounded(t *testing.T) {
	var d sharedDeadlines
	defer d.stop()
	bg1, _ := d.get(context.Background(), time.Now(), time.Second)
	bg2, _ := d.get(context.TODO(), time.Now(), time.Second)
	if bg1 == nil || bg2 == nil {
		t.Fatal("parents that never end got no shared context")
	}
	shared := 0
	for i := 0; i < 3*maxSharedParents; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if got, ok := d.get(ctx, time.Now(), time.Second); ok {
			shared++
			if dl, _ := got.Deadline(); time.Until(dl) < time.Second-deadlineTick {
				t.Fatalf("deadline %v from now, want about 1 s", time.Until(dl))
			}
		}
	}
	if shared < 1 || shared > 2*maxSharedParents { // the tick may turn once meanwhile
		t.Fatalf("%d parents shared a deadline, want at most %d per tick", shared, maxSharedParents)
	}
	d.stop()
	if _, ok := d.get(context.Background(), time.Now(), time.Second); ok {
		t.Fatal("a stopped producer still shares deadlines")
	}
}
