package broker

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

// openInProcess opens a broker without starting its server: the handlers are called
// directly, as the event loop would call them, with no network in the way.
func openInProcess(tb testing.TB, mod func(*Options, *store.Options)) *Broker {
	tb.Helper()
	bo := DefaultOptions()
	bo.ListenAddr = "127.0.0.1:0"
	bo.NamesrvAddrs = nil
	bo.Logger = zerolog.Nop()
	so := store.DefaultOptions()
	so.Dir = filepath.Join(tb.TempDir(), "store")
	so.CommitLogSegmentBytes = 64 << 20
	so.ConsumeQueueUnits = 65536
	if mod != nil {
		mod(&bo, &so)
	}
	b, err := Open(bo, so)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { b.Close() })
	return b
}

// createTopicDirect creates a topic through the table, as UPDATE_AND_CREATE_TOPIC does.
func createTopicDirect(tb testing.TB, b *Broker, topic string, queues int32) {
	tb.Helper()
	if err := b.topics.Put(meta.NewTopicConfig(topic, queues, queues, meta.PermRW)); err != nil {
		tb.Fatal(err)
	}
}

// sendCommand builds a SEND_MESSAGE request as the Go client sends it.
func sendCommand(topic string, queueID int32, body []byte) *codec.Command {
	h := sendReq(topic, queueID, map[string]string{
		message.PropTags: "TagA", message.PropKeys: "order-1", message.PropWait: "true",
		message.PropUniqKey: "0A0000010F3A000000000000000000AB",
	})
	return codec.NewRequest(code.SendMessage, h.Encode(), body)
}

// BenchmarkSendHandler runs with the metrics off and on in turn, so -count N
// interleaves the two (docs/metrics.md: the cost of the send-path counters).
func BenchmarkSendHandler(b *testing.B) {
	for _, exp := range []string{"DISABLE", "PROM"} {
		b.Run("metrics="+exp, func(b *testing.B) {
			benchSendHandler(b, func(o *Options, _ *store.Options) { o.MetricsExporterType = exp })
		})
	}
}

func benchSendHandler(b *testing.B, mod func(*Options, *store.Options)) {
	br := openInProcess(b, mod)
	createTopicDirect(b, br, "Bench", 4)
	body := make([]byte, 1024)
	req := sendCommand("Bench", 1, body)
	conn := &server.Conn{}
	// As the route table registers it: with metrics on, the rpc latency hook included.
	h := br.observed(code.SendMessage, br.guarded(br.handleSend))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp := h(conn, req)
		if resp == nil || resp.Code != code.Success {
			b.Fatalf("send: %+v", resp)
		}
	}
}

// discard is an appender that keeps nothing: BenchmarkSendHandlerOnly measures the
// handler (decode, validate, encode, answer) without the store's append.
type discard struct{ off int64 }

func (d *discard) Put(rec []byte) (store.PutResult, error) {
	r := store.PutResult{PhysicalOffset: d.off, QueueOffset: d.off, Count: 1, EndOffset: d.off + int64(len(rec))}
	d.off += int64(len(rec))
	return r, nil
}
func (d *discard) PutBatch(recs []byte) (store.PutResult, error) { return d.Put(recs) }
func (d *discard) OnFlushed(_ int64, fn func(error))             { fn(nil) }
func (d *discard) PutMany(items []store.PutItem, res []store.PutResult, errs []error) {
	for i, it := range items {
		res[i], errs[i] = d.Put(it.Recs)
	}
}

func BenchmarkSendHandlerOnly(b *testing.B) {
	br := openInProcess(b, nil)
	createTopicDirect(b, br, "Bench", 4)
	br.putDst = &discard{}
	body := make([]byte, 1024)
	req := sendCommand("Bench", 1, body)
	conn := &server.Conn{}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if resp := br.handleSend(conn, req); resp == nil || resp.Code != code.Success {
			b.Fatalf("send: %+v", resp)
		}
	}
}

// BenchmarkSendBatchHandler serves sends the way the event loop hands over one read
// event of 32 pipelined SEND_MESSAGE frames (send_batch.go); one op is one message.
func BenchmarkSendBatchHandler(b *testing.B) {
	for _, exp := range []string{"DISABLE", "PROM"} {
		b.Run("metrics="+exp, func(b *testing.B) {
			br := openInProcess(b, func(o *Options, _ *store.Options) { o.MetricsExporterType = exp })
			benchSendBatch(b, br)
		})
	}
}

// BenchmarkSendBatchHandlerOnly is BenchmarkSendBatchHandler without the store's append.
func BenchmarkSendBatchHandlerOnly(b *testing.B) {
	br := openInProcess(b, nil)
	br.putDst = &discard{}
	benchSendBatch(b, br)
}

func benchSendBatch(b *testing.B, br *Broker) {
	const n = 32
	createTopicDirect(b, br, "Bench", 4)
	body := make([]byte, 1024)
	reqs := make([]*codec.Command, n)
	for i := range reqs {
		reqs[i] = sendCommand("Bench", 1, body)
	}
	resps := make([]*codec.Command, n)
	conn := &server.Conn{}
	h := br.batchRoute(code.SendMessage)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += n {
		clear(resps)
		done := h(conn, reqs, resps)
		for _, resp := range resps {
			if resp == nil || resp.Code != code.Success {
				b.Fatalf("send: %+v", resp)
			}
		}
		done()
	}
}

func BenchmarkPullHandler32(b *testing.B) {
	br := openInProcess(b, nil)
	createTopicDirect(b, br, "Bench", 1)
	const n = 8192
	body := make([]byte, 1024)
	req := sendCommand("Bench", 0, body)
	conn := &server.Conn{}
	for i := 0; i < n; i++ {
		if resp := br.handleSend(conn, req); resp.Code != code.Success {
			b.Fatalf("fill: %d %s", resp.Code, resp.Remark)
		}
	}
	waitMax(b, br, "Bench", 0, n)
	p := pullReq("cg", "Bench", 0, 0)
	p.SysFlag = header.PullCommitOffset
	ext := p.Encode()
	reqs := make([]*codec.Command, n/32)
	for i := range reqs {
		e := make(map[string]string, len(ext))
		for k, v := range ext {
			e[k] = v
		}
		e["queueOffset"] = strconv.Itoa(i * 32)
		e["commitOffset"] = strconv.Itoa(i * 32)
		reqs[i] = codec.NewRequest(code.PullMessage, e, nil)
	}
	b.SetBytes(32 * int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp := br.handlePull(conn, reqs[i%len(reqs)])
		if resp.Code != code.Success || len(resp.BodyParts) != 32 {
			b.Fatalf("pull: code %d %s, %d records", resp.Code, resp.Remark, len(resp.BodyParts))
		}
	}
}

// waitMax polls until the dispatcher has made n messages of the queue readable.
func waitMax(tb testing.TB, b *Broker, topic string, q int32, n int64) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for b.store.MaxOffset(topic, q) < n {
		if time.Now().After(deadline) {
			tb.Fatalf("queue %s:%d max %d, want %d", topic, q, b.store.MaxOffset(topic, q), n)
		}
		time.Sleep(time.Millisecond)
	}
}
