package proctest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// Ready reports whether a started child is ready to serve, typically by asking it or
// its NameServer, or by reading its output.
type Ready func(p *Proc) bool

// StartTries bounds the starts of a child that keeps losing its ports to other
// processes between FreeAddr and its bind.
const StartTries = 5

// Launch starts the child spec describes and waits until ready reports true. spec is
// called again for each try, so it picks fresh ports: a child that exits because a port
// was taken meanwhile is started anew, up to StartTries times. A child that exits for
// another reason, or is not ready within ReadyTimeout, fails the test.
func Launch(t testing.TB, spec func() Spec, ready Ready) *Proc {
	t.Helper()
	for try := 1; ; try++ {
		p := Start(t, spec())
		err := p.AwaitReady(ReadyTimeout, ready)
		if err == nil {
			return p
		}
		if !p.PortTaken() || try == StartTries {
			t.Fatal(err)
		}
	}
}

// Restart starts the child again on its Spec — same ports, same store — after Kill or
// Stop, and waits until ready reports true. The ports were its own a moment ago, so a
// start refused for a taken port is tried again until ReadyTimeout.
func (p *Proc) Restart(ready Ready) {
	p.t.Helper()
	deadline := time.Now().Add(ReadyTimeout)
	for {
		p.Start()
		err := p.AwaitReady(time.Until(deadline), ready)
		if err == nil {
			return
		}
		if !p.PortTaken() || time.Now().After(deadline) {
			p.t.Fatal(err)
		}
		<-time.After(100 * time.Millisecond)
	}
}

// AwaitReady polls ready until it reports true. It fails early, with an error, when the
// child exits meanwhile, and at the deadline.
func (p *Proc) AwaitReady(timeout time.Duration, ready Ready) error {
	exited := false
	ok := testutil.Poll(timeout, func() bool {
		exited = p.Exited()
		return exited || ready(p)
	})
	switch {
	case exited:
		return fmt.Errorf("%s exited during start: %v", p.Name, p.State())
	case !ok:
		return fmt.Errorf("%s not ready within %v", p.Name, timeout)
	}
	return nil
}

// Client is the harness's remoting client, shared by every probe of a test binary.
var Client = sync.OnceValue(func() *transport.Client {
	return transport.NewClient(transport.ClientOptions{DialTimeout: 2 * time.Second})
})

// Invoke sends a request to addr with Client and waits up to 10 s for the answer. A
// failed call drops the cached connection, so the next one dials a restarted process
// afresh.
func Invoke(addr string, req *codec.Command) (*codec.Command, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := Client().Invoke(ctx, addr, req)
	if err != nil {
		Client().CloseAddr(addr)
	}
	return resp, err
}

// RoutedTo reports whether the NameServer at ns routes TBW102 to a master at broker —
// the broker has registered, so a producer can resolve a topic created from TBW102.
// The second result is the answer's code (-1 when the call failed).
func RoutedTo(ns, broker string) (bool, int32) {
	resp, err := Invoke(ns, codec.NewRequest(code.GetRouteInfoByTopic, map[string]string{"topic": "TBW102"}, nil))
	if err != nil {
		return false, -1
	}
	if resp.Code != code.Success {
		return false, resp.Code
	}
	r, err := body.DecodeTopicRouteData(resp.Body)
	if err != nil {
		return false, resp.Code
	}
	for _, bd := range r.BrokerDatas {
		if bd.BrokerAddrs[0] == broker {
			return true, resp.Code
		}
	}
	return false, resp.Code
}

// Logged is a readiness probe that waits for an output line containing every one of
// subs.
func Logged(subs ...string) Ready {
	return func(p *Proc) bool { _, ok := p.FindLine(subs...); return ok }
}

// Routed is RoutedTo as a readiness probe for Launch and Restart.
func Routed(ns, broker string) Ready {
	return func(*Proc) bool { ok, _ := RoutedTo(ns, broker); return ok }
}
