package transport_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/remotingtest"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// TestClientAsyncSharedContextTimeout: many asynchronous calls under one deadline
// context, half answered and half never answered. Every answered call gets its answer
// once; every unanswered one gets codec.ErrTimeout once when the context ends; nothing
// stays pending. A call made with a context that has already ended fails at once
// without its callback.
func TestClientAsyncSharedContextTimeout(t *testing.T) {
	c, addr := echoAndSilent(t)
	if _, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(100, nil, nil)); err != nil {
		t.Fatal(err) // connected before the deadline starts running
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	const n = 600 // more than minCompact, so the watch compacts answered calls
	var mu sync.Mutex
	answered, timedOut, other := 0, 0, 0
	calls := make([]int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		rc := int32(100 + i%2)
		err := c.InvokeAsync(ctx, addr, codec.NewRequest(rc, nil, nil), func(r *codec.Command, err error) {
			defer wg.Done()
			mu.Lock()
			defer mu.Unlock()
			calls[i]++
			switch {
			case err == nil && rc == 100:
				answered++
			case errors.Is(err, codec.ErrTimeout) && rc == 101:
				timedOut++
			default:
				other++
			}
		})
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	wg.Wait()
	if answered != n/2 || timedOut != n/2 || other != 0 {
		t.Fatalf("answered %d, timed out %d, other %d; want %d, %d, 0", answered, timedOut, other, n/2, n/2)
	}
	for i, k := range calls {
		if k != 1 {
			t.Fatalf("call %d: callback ran %d times", i, k)
		}
	}
	if p := c.Pending(); p != 0 {
		t.Fatalf("pending after the deadline: %d", p)
	}
	cancel()
	err := c.InvokeAsync(ctx, addr, codec.NewRequest(100, nil, nil), func(*codec.Command, error) {
		t.Error("callback of a call refused at once")
	})
	if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
		t.Fatalf("call with an ended context: got %v", err)
	}
	if p := c.Pending(); p != 0 {
		t.Fatalf("pending after a refused call: %d", p)
	}
}

// mapCtx is a Context whose dynamic type is not comparable (it holds a map), as a
// caller's own Context implementation may be.
type mapCtx struct {
	context.Context
	tags map[string]string
}

// TestClientAsyncUncomparableContext: asynchronous calls under a context value that
// cannot be a map key are watched all the same: one is answered, one times out with
// the context.
func TestClientAsyncUncomparableContext(t *testing.T) {
	c, addr := echoAndSilent(t)
	base, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	ctx := mapCtx{Context: base, tags: map[string]string{"k": "v"}}
	errs := make(chan error, 2)
	for _, rc := range []int32{100, 101} {
		if err := c.InvokeAsync(ctx, addr, codec.NewRequest(rc, nil, nil), func(_ *codec.Command, err error) { errs <- err }); err != nil {
			t.Fatalf("code %d: %v", rc, err)
		}
	}
	if err := <-errs; err != nil {
		t.Fatalf("answered call: %v", err)
	}
	if err := <-errs; !errors.Is(err, codec.ErrTimeout) {
		t.Fatalf("unanswered call: %v, want a timeout", err)
	}
}

// echoAndSilent starts a server that echoes code 100 and never answers code 101, and
// returns a client and the server's address.
func echoAndSilent(t *testing.T) (*transport.Client, string) {
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(100, remotingtest.Echo)
		s.Handle(101, func(*server.Conn, *codec.Command) *codec.Command { return nil }) // never answers
	})
	return remotingtest.NewClient(t), s.Addr().String()
}
