package proc

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

// Sizes of the half-sent-frame tests (docs/operations.md §1.5). Each hostile
// connection declares a frame of maxFrameBytes and sends 15 MiB of it; the broker runs
// with the default budget and a short frameReadTimeout.
const (
	halfDeclared = codec.DefaultMaxFrameBytes
	halfSent     = 15 << 20
	halfDeadline = 8 * time.Second
	// rssSlack is what the broker's RSS may grow beyond the budget and SmallFrameBytes
	// per connection: garbage of the inbound buffers' growth not yet collected, and
	// the normal client's traffic.
	rssSlack = 64 << 20
)

// 32 connections each holding 15 MiB of an unfinished frame no longer pin ~500 MiB:
// the broker's RSS stays within the budget, a normal client sends and consumes
// meanwhile, and the half-sent connections are closed at their deadline.
func TestHalfSentFramesDoNotPinMemory(t *testing.T) { halfSentFrames(t, 32) }

// The same with 500 connections, behind ROCKETGO_SOAK=1.
func TestHalfSentFramesSoak(t *testing.T) {
	if os.Getenv("ROCKETGO_SOAK") != "1" {
		t.Skip("ROCKETGO_SOAK=1 runs 500 half-sent connections")
	}
	halfSentFrames(t, 500)
}

// halfConn is one hostile connection's outcome.
type halfConn struct {
	sent     int           // bytes of the frame written before the server stopped it
	closedIn time.Duration // from the first byte to the server's close
	err      error         // anything but a close by the server
}

func halfSentFrames(t *testing.T, conns int) {
	bins := proctest.Build(t)
	_, ns := startNamesrv(t, bins)
	broker, addr := startBrokerEnv(t, bins, ns, t.TempDir(),
		"ROCKETGO_BROKER_FRAMEREADTIMEOUT="+halfDeadline.String())
	rc := newClient(t)
	topic := fmt.Sprintf("HalfSent%d", conns)
	send(t, rc, addr, topic, "warm-up", []byte("warm-up")) // creates the topic
	before := rss(t, broker)

	// Sample the broker's RSS until the hostile connections are gone.
	var peak atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			if n, err := broker.RSS(); err == nil && n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-stopSampling:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()

	attackAt := time.Now()
	results := make([]halfConn, conns)
	var finished atomic.Int32 // connections whose 15 MiB all went out
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = holdHalfFrame(addr, &finished)
		}()
	}

	// The frames the budget admits arrive whole; the others wait unread.
	admitted := int32(server.DefaultMaxBufferedRequestBytes / (codec.LengthPrefixBytes + halfDeclared))
	testutil.Eventually(t, halfDeadline, "admitted frames sent", func() bool { return finished.Load() == admitted })
	t.Logf("%d admitted frames sent after %v", admitted, time.Since(attackAt))

	// A normal client keeps producing and consuming while they are held.
	bodies := make([]string, 20)
	for i := range bodies {
		bodies[i] = fmt.Sprintf("during-%02d", i)
		send(t, rc, addr, topic, bodies[i], []byte(bodies[i]))
	}
	msgs := pull(t, rc, addr, topic, 1+len(bodies))
	requireMessages(t, msgs, topic, append([]string{"warm-up"}, bodies...)...)
	servedAt := time.Now()

	wg.Wait()
	close(stopSampling)
	<-sampled
	// All 32 connections begin together and are closed together at their deadline, so
	// exactly the admitted ones ever finish. Of 500, the later ones (the accept queue
	// takes seconds to drain) are admitted as the earlier ones are closed.
	if got := finished.Load(); conns <= 32 && got != admitted {
		t.Fatalf("%d connections sent their 15 MiB, want the %d the budget admits", got, admitted)
	} else {
		t.Logf("%d connections sent their 15 MiB in all, %d at a time", got, admitted)
	}
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("connection %d: %v", i, r.err)
		}
		if r.closedIn < halfDeadline || r.closedIn > halfDeadline+10*time.Second {
			t.Fatalf("connection %d (sent %d bytes) closed %v after its first byte, want at its %v deadline", i, r.sent, r.closedIn, halfDeadline)
		}
	}
	if served := servedAt.Sub(attackAt); served >= halfDeadline {
		t.Fatalf("the normal client's sends and pull took until %v, past the connections' %v deadline", served, halfDeadline)
	}
	bound := int64(server.DefaultMaxBufferedRequestBytes) + int64(conns)*server.SmallFrameBytes + rssSlack
	if conns > 32 {
		// Frames admitted after earlier connections were closed reuse budget whose
		// buffers are garbage until the next collection, which Go starts only when
		// the heap has doubled (GOGC=100): up to one more budget.
		bound += server.DefaultMaxBufferedRequestBytes
	}
	grew := peak.Load() - before
	t.Logf("%d half-sent connections: broker RSS %d MiB before, peak %d MiB (+%d MiB; bound +%d MiB)",
		conns, before>>20, peak.Load()>>20, grew>>20, bound>>20)
	if grew > bound {
		t.Fatalf("broker RSS grew by %d MiB, over the budget bound of %d MiB", grew>>20, bound>>20)
	}
	// The broker still serves once they are gone.
	send(t, rc, addr, topic, "after", []byte("after"))
}

// holdHalfFrame connects, declares a frame of halfDeclared bytes, writes halfSent of
// it and stops, then waits for the server to close the connection.
func holdHalfFrame(addr string, finished *atomic.Int32) halfConn {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return halfConn{err: err}
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(halfDeadline + 30*time.Second))
	start := time.Now()
	var r halfConn
	frame := binary.BigEndian.AppendUint32(nil, halfDeclared)
	chunk := make([]byte, 1<<20)
	n, err := nc.Write(frame)
	r.sent += n
	for err == nil && r.sent < halfSent+len(frame) {
		n, err = nc.Write(chunk[:min(len(chunk), halfSent+len(frame)-r.sent)])
		r.sent += n
	}
	if err == nil {
		finished.Add(1)
		_, err = nc.Read(make([]byte, 1)) // nothing comes: the frame is not whole
	}
	r.closedIn = time.Since(start)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		r.err = fmt.Errorf("not closed by the server within %v", halfDeadline+30*time.Second)
	}
	return r
}

func rss(t *testing.T, p *proctest.Proc) int64 {
	t.Helper()
	n, err := p.RSS()
	if err != nil {
		t.Fatal(err)
	}
	return n
}
