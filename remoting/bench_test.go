package remoting

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func BenchmarkEncodeFrame(b *testing.B) {
	for _, typ := range []struct {
		name string
		t    byte
	}{{"json", SerializeJSON}, {"rocketmq", SerializeRocketMQ}} {
		b.Run(typ.name, func(b *testing.B) {
			c := sendRequest(1024)
			c.Serialize = typ.t
			buf, _ := AppendFrame(nil, c, 0)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				buf, err = AppendFrame(buf[:0], c, 0)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeFrame(b *testing.B) {
	for _, typ := range []struct {
		name string
		t    byte
	}{{"json", SerializeJSON}, {"rocketmq", SerializeRocketMQ}} {
		b.Run(typ.name, func(b *testing.B) {
			c := sendRequest(1024)
			c.Serialize = typ.t
			f, _ := AppendFrame(nil, c, 0)
			b.SetBytes(int64(len(f)))
			b.ReportAllocs()
			for b.Loop() {
				n, err := FrameLength(f, 0)
				if err != nil {
					b.Fatal(err)
				}
				d, err := DecodeFrame(f[4 : 4+n])
				if err != nil || len(d.ExtFields) != len(c.ExtFields) {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEchoCall measures a whole call over loopback: client encode and write, server
// decode, inline handler, response encode, client decode and wake-up. The request is
// SEND-sized (1 KiB body, the Go client's send extFields); the answer echoes one field.
func BenchmarkEchoCall(b *testing.B) {
	for _, inflight := range []int{1, 64} {
		b.Run("inflight="+itoa(inflight), func(b *testing.B) {
			s := startServer(b, func(s *Server) {
				s.Handle(10, func(_ *Conn, req *Command) *Command {
					resp := req.NewResponse(0, "")
					resp.ExtFields["queueId"] = req.ExtFields["queueId"]
					return resp
				})
			})
			c := newClient(b)
			addr := s.Addr().String()
			proto := sendRequest(1024)
			if _, err := c.Invoke(context.Background(), addr, proto); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(proto.BodyLen()))
			b.ReportAllocs()
			var left atomic.Int64
			left.Store(int64(b.N))
			var wg sync.WaitGroup
			var failed atomic.Value
			b.ResetTimer()
			start := time.Now()
			for range inflight {
				wg.Add(1)
				go func() {
					defer wg.Done()
					req := *proto
					for left.Add(-1) >= 0 {
						r := req
						if _, err := c.Invoke(context.Background(), addr, &r); err != nil {
							failed.Store(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if err := failed.Load(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "calls/s")
		})
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
