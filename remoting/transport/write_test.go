package transport_test

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/remotingtest"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// rawServer is a bare TCP peer: it accepts one connection, waits until released, then
// reads frames, counting the Read calls that returned data, and answers every request
// that is not oneway with an empty success response.
type rawServer struct {
	ln      net.Listener
	release chan struct{}
	mu      sync.Mutex
	reads   int
	opaques []int32 // of the frames read, in order
	done    chan struct{}
}

func startRawServer(t *testing.T) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, release: make(chan struct{}), done: make(chan struct{})}
	t.Cleanup(func() { _ = ln.Close(); <-s.done })
	go s.serve()
	return s
}

// countingReader counts the Read calls that returned bytes.
type countingReader struct {
	r io.Reader
	s *rawServer
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.s.mu.Lock()
		c.s.reads++
		c.s.mu.Unlock()
	}
	return n, err
}

func (s *rawServer) serve() {
	defer close(s.done)
	nc, err := s.ln.Accept()
	if err != nil {
		return
	}
	defer nc.Close()
	<-s.release
	br := bufio.NewReaderSize(countingReader{nc, s}, 1<<20)
	for {
		var prefix [4]byte
		if _, err := io.ReadFull(br, prefix[:]); err != nil {
			return
		}
		frame := make([]byte, binary.BigEndian.Uint32(prefix[:]))
		if _, err := io.ReadFull(br, frame); err != nil {
			return
		}
		req, err := codec.DecodeFrame(frame)
		if err != nil {
			return
		}
		s.mu.Lock()
		s.opaques = append(s.opaques, req.Opaque)
		s.mu.Unlock()
		if req.IsOneway() {
			continue
		}
		resp := req.NewResponse(0, "")
		b, _ := codec.AppendFrame(nil, resp, 0)
		if _, err := nc.Write(b); err != nil {
			return
		}
	}
}

// TestClientCoalescesAsyncWrites: asynchronous requests queued while a write is in
// progress go out together. A large oneway frame to a peer that is not reading keeps
// the writer busy; the 500 requests queued meanwhile then leave in one write, not 500,
// arrive in the order they were sent, and are all answered.
func TestClientCoalescesAsyncWrites(t *testing.T) {
	s := startRawServer(t)
	addr := s.ln.Addr().String()
	c := transport.NewClient(transport.ClientOptions{MaxFrameBytes: 64 << 20, Logger: remotingtest.Logger(t)})
	t.Cleanup(func() { _ = c.Close() })

	// Larger than the loopback socket buffers, so the write blocks until s reads.
	big := codec.NewRequest(1, nil, make([]byte, 16<<20))
	if err := c.InvokeOneway(addr, big); err != nil {
		t.Fatal(err)
	}
	const n = 500
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	sent := make([]int32, 0, n)
	ctx := remotingtest.Timeout(t, 20*time.Second)
	for i := 0; i < n; i++ {
		wg.Add(1)
		req := codec.NewRequest(2, map[string]string{"i": "x"}, make([]byte, 1024))
		err := c.InvokeAsync(ctx, addr, req, func(resp *codec.Command, err error) {
			defer wg.Done()
			if err != nil || resp.Code != 0 {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
		if err != nil {
			t.Fatalf("async %d: %v", i, err)
		}
		sent = append(sent, req.Opaque)
	}
	close(s.release)
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d calls failed, first: %v", len(errs), errs[0])
	}
	// One write for the big frame (still in progress when the burst was queued), one
	// for the burst; a third if the writer started on the first small frame before the
	// rest were queued.
	if w := transport.Writes(c, addr); w < 2 || w > 3 {
		t.Fatalf("socket writes for 1 + %d frames: got %d, want 2 or 3", n, w)
	}
	s.mu.Lock()
	got := append([]int32(nil), s.opaques[1:]...)
	reads := s.reads
	s.mu.Unlock()
	if len(got) != n || !sort.SliceIsSorted(got, func(i, j int) bool { return got[i] < got[j] }) || got[0] != sent[0] || got[n-1] != sent[n-1] {
		t.Fatalf("server got %d frames, opaques %v..., want %d in send order", len(got), got[:min(5, len(got))], n)
	}
	t.Logf("%d frames in %d writes, read by the server in %d reads", n+1, transport.Writes(c, addr), reads)
}

// TestClientLoneSyncCallNotDelayed: a synchronous call with nothing else in flight
// writes its frame itself, at once, instead of waiting for the writer goroutine or for
// company: every call is one write, and the calls are answered one after another.
func TestClientLoneSyncCallNotDelayed(t *testing.T) {
	s := remotingtest.StartServer(t, func(s *server.Server) { s.Handle(100, remotingtest.Echo) })
	c := remotingtest.NewClient(t)
	addr := s.Addr().String()
	ctx := remotingtest.Timeout(t, 20*time.Second)
	const n = 200
	for i := 0; i < n; i++ {
		resp, err := c.Invoke(ctx, addr, codec.NewRequest(100, map[string]string{"k": "v"}, []byte("b")))
		if err != nil || resp.ExtFields["k"] != "v" || string(resp.Body) != "b" {
			t.Fatalf("call %d: %v %+v", i, err, resp)
		}
	}
	if w := transport.Writes(c, addr); w != n {
		t.Fatalf("socket writes for %d sequential sync calls: got %d, want %d", n, w, n)
	}
}
