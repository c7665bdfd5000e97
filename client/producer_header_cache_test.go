package client

import (
	"bytes"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/remoting/codec"
)

// TestSendHeadCache: a send header with the cached leading and trailing entries is
// byte for byte the header written entry by entry, for topics sent to in turn, single
// messages and batches, in both serializations, and for a producer holding
// maxSendHeads topics already, which encodes a new topic's entries per message.
func TestSendHeadCache(t *testing.T) {
	for _, json := range []bool{false, true} {
		opts := []ProducerOption{WithNameServer("127.0.0.1:1"), WithProducerGroup("PG")}
		if json {
			opts = append(opts, WithJSONHeaders())
		}
		p, err := NewProducer(opts...)
		if err != nil {
			t.Fatal(err)
		}
		frame := func(out *outgoing, ser byte, cached bool) []byte {
			t.Helper()
			var r sendRequest
			p.fillRequest(&r, out, MessageQueue{Topic: out.topic, QueueID: 2}, time.Now().UnixMilli())
			if cached != (r.h.head != nil) {
				t.Fatalf("topic %s: cached head %v, want %v", out.topic, r.h.head != nil, cached)
			}
			if !cached {
				return nil
			}
			r.cmd.Serialize = ser
			f, err := codec.AppendFrame(nil, &r.cmd, 0)
			if err != nil {
				t.Fatal(err)
			}
			r.h.head = nil
			want, err := codec.AppendFrame(nil, &r.cmd, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(f, want) {
				t.Fatalf("topic %s, batch %v, serialize %d: frame %q, entry by entry %q", out.topic, out.batch, ser, f, want)
			}
			return f
		}
		for _, topic := range []string{"T1", "T2", "T1", "T3", "T2"} {
			single, err := p.prepare([]*Message{NewMessage(topic, []byte("x")).WithTags("t")})
			if err != nil {
				t.Fatal(err)
			}
			batch, err := p.prepare([]*Message{NewMessage(topic, []byte("a")), NewMessage(topic, []byte("b"))})
			if err != nil {
				t.Fatal(err)
			}
			for _, ser := range []byte{codec.SerializeRocketMQ, codec.SerializeJSON} {
				frame(single, ser, true)
				frame(batch, ser, true)
			}
		}
		if n := p.heads.n.Load(); n != 3 {
			t.Fatalf("%d topics cached, want 3", n)
		}
		p.heads.n.Store(maxSendHeads)
		out, err := p.prepare([]*Message{NewMessage("T4", []byte("x"))})
		if err != nil {
			t.Fatal(err)
		}
		frame(out, codec.SerializeRocketMQ, false)
	}
}
