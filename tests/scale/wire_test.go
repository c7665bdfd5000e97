package scale

import (
	"bufio"
	"io"
	"net"
	"sync"
	"testing"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// writeFrame writes one command on a raw connection.
func writeFrame(w io.Writer, c *codec.Command) error {
	b, err := codec.AppendFrame(nil, c, 0)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// readFrame reads one command from a raw connection.
func readFrame(r io.Reader) (*codec.Command, error) {
	var prefix [codec.LengthPrefixBytes]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		return nil, err
	}
	n, err := codec.FrameLength(prefix[:], 0)
	if err != nil {
		return nil, err
	}
	frame := make([]byte, n)
	if _, err := io.ReadFull(r, frame); err != nil {
		return nil, err
	}
	return codec.DecodeFrame(frame)
}

// recorder is a NameServer that only records REGISTER_BROKER requests (and answers
// them with success, no body), so a test sees exactly what the broker registers. It
// keeps the newest request and counts them and their body bytes: keeping every one
// would hold gigabytes when each carries the whole table.
type recorder struct {
	ln net.Listener
	mu sync.Mutex
	// newest is the latest REGISTER_BROKER request; n and bytes count all of them and
	// their bodies.
	newest   *codec.Command
	n, bytes int64
}

func newRecorder(t *testing.T) *recorder {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ln: ln}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go r.serve(nc)
		}
	}()
	return r
}

func (r *recorder) serve(nc net.Conn) {
	defer nc.Close()
	br := bufio.NewReader(nc)
	for {
		req, err := readFrame(br)
		if err != nil {
			return
		}
		if req.Code == code.RegisterBroker {
			r.mu.Lock()
			r.newest = req
			r.n++
			r.bytes += int64(len(req.Body))
			r.mu.Unlock()
		}
		if req.IsOneway() {
			continue
		}
		if err := writeFrame(nc, req.NewResponse(code.Success, "")); err != nil {
			return
		}
	}
}

// last returns the newest REGISTER_BROKER request and how many arrived.
func (r *recorder) last() (*codec.Command, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.newest, r.n
}

// sent returns how many REGISTER_BROKER requests arrived and their body bytes.
func (r *recorder) sent() (n, bytes int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n, r.bytes
}

func (r *recorder) addr() string { return r.ln.Addr().String() }
