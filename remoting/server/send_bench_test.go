package server_test

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"testing"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/remotingtest"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// benchSendServer starts a server whose raw batch route 310 copies every body out (as
// the broker's sends copy them into their records) and answers each with SUCCESS, and
// returns a connection to it with one 1 KiB request frame.
func benchSendServer(b *testing.B) (net.Conn, []byte) {
	var sink []byte
	s := remotingtest.StartServer(b, func(s *server.Server) {
		s.HandleBatchRaw(310, func(_ *server.Conn, reqs, resps []*codec.Command) func() {
			sink = sink[:0]
			for i, req := range reqs {
				sink = append(sink, req.Body...)
				resps[i] = req.NewResponse(code.Success, "")
			}
			return nil
		})
	})
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = nc.Close() })
	req := codec.NewRequest(310, map[string]string{"a": "Bench", "b": "TopicTest", "e": "1"}, make([]byte, 1024))
	req.Serialize = codec.SerializeRocketMQ
	f, err := codec.AppendFrame(nil, req, 0)
	if err != nil {
		b.Fatal(err)
	}
	return nc, f
}

// skipFrames reads n answer frames.
func skipFrames(r *bufio.Reader, n int) error {
	var p [codec.LengthPrefixBytes]byte
	for range n {
		if _, err := io.ReadFull(r, p[:]); err != nil {
			return err
		}
		if _, err := r.Discard(int(binary.BigEndian.Uint32(p[:]))); err != nil {
			return err
		}
	}
	return nil
}

// BenchmarkServerSendSync is one 1 KiB send in flight over loopback: the round trip of
// figure (b) without the store.
func BenchmarkServerSendSync(b *testing.B) {
	nc, f := benchSendServer(b)
	r := bufio.NewReader(nc)
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := nc.Write(f); err != nil {
			b.Fatal(err)
		}
		if err := skipFrames(r, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkServerSendPipelined is a producer pipelining 1 KiB sends over loopback, as in
// figure (a) without the store: one op is one send.
func BenchmarkServerSendPipelined(b *testing.B) {
	nc, f := benchSendServer(b)
	r := bufio.NewReaderSize(nc, 64<<10)
	burst := make([]byte, 0, 64*len(f))
	for range 64 {
		burst = append(burst, f...)
	}
	b.SetBytes(int64(len(f)))
	b.ReportAllocs()
	b.ResetTimer()
	werr := make(chan error, 1)
	go func() {
		for sent := 0; sent < b.N; sent += 64 {
			if _, err := nc.Write(burst[:min(64, b.N-sent)*len(f)]); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}()
	if err := skipFrames(r, b.N); err != nil {
		b.Fatal(err)
	}
	if err := <-werr; err != nil {
		b.Fatal(err)
	}
}
