package server_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"testing"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/remotingtest"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// lentBody is the body of request i: its length and bytes tell every request apart.
func lentBody(i int) []byte {
	n := 1 + i*37%3000
	if i%97 == 0 {
		n = 300 << 10 // over SmallFrameBytes: assembled in a buffer of its own
	}
	return bytes.Repeat([]byte{byte(i), byte(i >> 8)}, n/2+1)[:n]
}

// TestServerBatchRawLentBodies: the bodies a raw batch route borrows from the read
// buffer are the bytes each frame carried, however the stream is cut into reads (frames
// split across reads, several per read, some larger than the read buffer); once the
// handler has returned, a request it kept shows no body rather than the bytes of later
// reads, while the copy it made stays intact.
func TestServerBatchRawLentBodies(t *testing.T) {
	var (
		mu    sync.Mutex
		kept  []*codec.Command
		saved [][]byte
	)
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.HandleBatchRaw(100, func(_ *server.Conn, reqs, resps []*codec.Command) func() {
			mu.Lock()
			defer mu.Unlock()
			for i, req := range reqs {
				req.LoadExt()
				var k int
				_, _ = fmt.Sscan(req.ExtFields["k"], &k)
				c, remark := int32(code.Success), "ok"
				if !bytes.Equal(req.Body, lentBody(k)) {
					c, remark = code.SystemError, fmt.Sprintf("body of %d bytes is not request %d's", len(req.Body), k)
				}
				resps[i] = req.NewResponse(c, remark)
				kept = append(kept, req)
				saved = append(saved, bytes.Clone(req.Body))
			}
			return nil
		})
	})
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	const n = 600
	var stream []byte
	for i := range n {
		req := codec.NewRequest(100, map[string]string{"k": fmt.Sprint(i)}, lentBody(i))
		req.Opaque = int32(i + 1)
		req.Serialize = byte(i % 2)
		stream = append(stream, rawFrame(t, req)...)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	go func() {
		for rest := stream; len(rest) > 0; {
			k := min(len(rest), 1+rng.IntN(20000))
			if _, err := nc.Write(rest[:k]); err != nil {
				return
			}
			rest = rest[k:]
		}
	}()
	for i := range n {
		resp := readRawFrame(t, nc)
		if resp.Opaque != int32(i+1) || resp.Code != code.Success {
			t.Fatalf("answer %d: opaque %d code %d %q", i, resp.Opaque, resp.Code, resp.Remark)
		}
	}
	// The event loops clear the kept bodies after the handler returned; once Close
	// has waited for them to exit, their writes are visible here.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(kept) != n {
		t.Fatalf("handler saw %d requests, want %d", len(kept), n)
	}
	lent := 0
	for i, req := range kept {
		if req.Body == nil {
			lent++
		} else if !bytes.Equal(req.Body, saved[i]) {
			t.Fatalf("request %d kept a body that changed after its handler returned", i)
		}
		if !bytes.Equal(saved[i], lentBody(i)) {
			t.Fatalf("copy of request %d's body changed", i)
		}
	}
	if lent == 0 {
		t.Fatalf("no body was borrowed from the read buffer")
	}
	t.Logf("%d of %d bodies borrowed", lent, n)
}
