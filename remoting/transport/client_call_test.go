package transport_test

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/remotingtest"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// An AsyncCall reused call after call gets each call's own answer, once: every fifth
// call is held by the server until the next call of its goroutine arrives, so it fails
// with ErrTimeout first and its late answer, which comes while the call object already
// serves the next call, is dropped; the others are answered. Goroutines each reusing
// their own AsyncCall share one connection and, for the answered calls, one context,
// so that context's watch holds many entries of each reused call under earlier
// opaques, and compacts them.
func TestClientInvokeAsyncCallReused(t *testing.T) {
	const goroutines, rounds = 4, 300
	held := func(i int) bool { return i%25 == 2 }
	release := map[int]chan struct{}{} // by call number: closed when the next call arrives
	for g := range goroutines {
		for i := range rounds {
			if held(i) {
				release[g*rounds+i] = make(chan struct{})
			}
		}
	}
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.HandleAsync(100, func(_ *server.Conn, req *codec.Command) *codec.Command {
			n, _ := strconv.Atoi(req.ExtFields["n"])
			if ch, ok := release[n]; ok {
				select {
				case <-ch:
				case <-time.After(10 * time.Second):
				}
			} else if ch, ok := release[n-1]; ok {
				close(ch)
			}
			return echoN(req)
		})
	})
	c := remotingtest.NewClient(t)
	addr := s.Addr().String()
	shared := remotingtest.Timeout(t, 30*time.Second)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var call transport.AsyncCall
			type answer struct {
				n   string
				err error
			}
			got := make(chan answer, 4)
			for i := range rounds {
				n := strconv.Itoa(g*rounds + i)
				held := held(i)
				ext := map[string]string{"n": n}
				ctx, cancel := shared, context.CancelFunc(func() {})
				if held {
					ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
				}
				err := c.InvokeAsyncCall(ctx, addr, codec.NewRequest(100, ext, nil), &call, nil, func(r *codec.Command, err error) {
					a := answer{err: err}
					if r != nil {
						a.n = r.ExtFields["n"]
					}
					got <- a
				})
				if err != nil {
					cancel()
					t.Errorf("call %s: %v", n, err)
					return
				}
				var a answer
				select {
				case a = <-got:
				case <-time.After(10 * time.Second):
					cancel()
					t.Errorf("call %s: no outcome", n)
					return
				}
				cancel()
				switch {
				case held && !errors.Is(a.err, codec.ErrTimeout):
					t.Errorf("held call %s: outcome %q, %v; want a timeout", n, a.n, a.err)
				case !held && (a.err != nil || a.n != n):
					t.Errorf("call %s: answer %q, %v", n, a.n, a.err)
				}
			}
			// Nothing more arrives for any of this goroutine's calls.
			select {
			case a := <-got:
				t.Errorf("goroutine %d: a second outcome %q, %v", g, a.n, a.err)
			default:
			}
		}()
	}
	wg.Wait()
	if n := c.Pending(); n != 0 {
		t.Errorf("%d calls still pending", n)
	}
}

// The connection a client used last is found again without the table, and only while
// it lives: calls alternating between two servers each reach their own, and after
// CloseAddr the next call to that address dials a new connection.
func TestClientLastConnOnlyWhileAlive(t *testing.T) {
	var trs [2]*remotingtest.ConnTracker
	var addrs [2]string
	for i := range trs {
		s := remotingtest.StartServer(t, func(s *server.Server) {
			trs[i] = remotingtest.TrackConns(s)
			s.Handle(100, func(_ *server.Conn, req *codec.Command) *codec.Command {
				resp := req.NewResponse(0, "")
				resp.ExtFields = map[string]string{"server": strconv.Itoa(i)}
				return resp
			})
		})
		addrs[i] = s.Addr().String()
	}
	c := remotingtest.NewClient(t)
	call := func(i int) {
		t.Helper()
		resp, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), addrs[i], codec.NewRequest(100, nil, nil))
		if err != nil {
			t.Fatalf("call to server %d: %v", i, err)
		}
		if got := resp.ExtFields["server"]; got != strconv.Itoa(i) {
			t.Fatalf("call to server %d answered by server %q", i, got)
		}
	}
	for _, i := range []int{0, 0, 1, 1, 0, 1} {
		call(i)
	}
	if trs[0].Count() != 1 || trs[1].Count() != 1 {
		t.Fatalf("connections opened: %d and %d, want one each", trs[0].Count(), trs[1].Count())
	}
	c.CloseAddr(addrs[1])
	call(1)
	if n := trs[1].Count(); n != 2 {
		t.Fatalf("after CloseAddr, server 1 saw %d connections, want 2", n)
	}
}

// Expire fails a call still waiting for its answer, on the caller's goroutine, with a
// timeout error, and only that call: the held call's late answer is dropped, an
// answered call cannot be expired afterwards, and the AsyncCall serves the next call
// as before. The context the calls share never ends, as a consumer queue's does not
// while it is pulled.
func TestClientExpire(t *testing.T) {
	release := make(chan struct{})
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.HandleAsync(100, func(_ *server.Conn, req *codec.Command) *codec.Command {
			if req.ExtFields["n"] == "held" {
				<-release
			}
			return echoN(req)
		})
	})
	c := remotingtest.NewClient(t)
	addr := s.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var call transport.AsyncCall
	if c.Expire(&call) {
		t.Fatal("Expire of a call never made")
	}
	type outcome struct {
		n   string
		err error
		g   int64 // how many outcomes came before, +1
	}
	got := make(chan outcome, 4)
	var seq int64
	invoke := func(n string) {
		t.Helper()
		err := c.InvokeAsyncCall(ctx, addr, codec.NewRequest(100, map[string]string{"n": n}, nil), &call, nil, func(r *codec.Command, err error) {
			seq++
			o := outcome{err: err, g: seq}
			if r != nil {
				o.n = r.ExtFields["n"]
			}
			got <- o
		})
		if err != nil {
			t.Fatalf("call %s: %v", n, err)
		}
	}
	invoke("held")
	if !c.Expire(&call) {
		t.Fatal("Expire of a held call: false")
	}
	select { // the callback ran before Expire returned
	case o := <-got:
		if o.n != "" || !errors.Is(o.err, codec.ErrTimeout) || !errors.Is(o.err, context.DeadlineExceeded) {
			t.Fatalf("expired call: answer %q, error %v; want a timeout", o.n, o.err)
		}
	default:
		t.Fatal("Expire returned before the callback ran")
	}
	if c.Expire(&call) {
		t.Fatal("a call expired twice")
	}
	close(release) // the held answer arrives for nobody
	invoke("next")
	select {
	case o := <-got:
		if o.n != "next" || o.err != nil || o.g != 2 {
			t.Fatalf("next call: answer %q, error %v (outcome %d)", o.n, o.err, o.g)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("next call: no outcome")
	}
	if c.Expire(&call) {
		t.Fatal("an answered call expired")
	}
	select {
	case o := <-got:
		t.Fatalf("a further outcome %q, %v", o.n, o.err)
	default:
	}
	if n := c.Pending(); n != 0 {
		t.Errorf("%d calls still pending", n)
	}
}

// An AsyncCall reused by its own callback (a retry started from the answer, as the
// producer's asynchronous send does) may be in its next call while the invoke that
// made the previous call is still returning: the invoke touches the call no more
// once it is registered (run with -race). Each call's answer arrives once, in order.
func TestClientAsyncCallReusedFromItsCallback(t *testing.T) {
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(100, func(_ *server.Conn, req *codec.Command) *codec.Command {
			return echoN(req)
		})
	})
	c := remotingtest.NewClient(t)
	addr := s.Addr().String()
	ctx := remotingtest.Timeout(t, 30*time.Second)
	const rounds = 500
	var call transport.AsyncCall
	got := make(chan string, rounds)
	errs := make(chan error, rounds)
	var invoke func(n int)
	invoke = func(n int) {
		err := c.InvokeAsyncCall(ctx, addr, codec.NewRequest(100, map[string]string{"n": strconv.Itoa(n)}, nil), &call, nil, func(r *codec.Command, err error) {
			if err != nil {
				errs <- err
				return
			}
			got <- r.ExtFields["n"]
			if n+1 < rounds {
				go invoke(n + 1)
			}
		})
		if err != nil {
			errs <- err
		}
	}
	invoke(0)
	for i := 0; i < rounds; i++ {
		select {
		case n := <-got:
			if n != strconv.Itoa(i) {
				t.Fatalf("answer %d: got %q", i, n)
			}
		case err := <-errs:
			t.Fatalf("call %d: %v", i, err)
		case <-time.After(10 * time.Second):
			t.Fatalf("answer %d never came", i)
		}
	}
}

// echoN answers req with success and req's entry "n", which the tests number their
// calls by.
func echoN(req *codec.Command) *codec.Command {
	resp := req.NewResponse(0, "")
	resp.ExtFields = map[string]string{"n": req.ExtFields["n"]}
	return resp
}
