package client

import (
	"context"
	"net/netip"
	"testing"

	"github.com/rocketgo/rocketgo/proto/message"
)

// benchProducer starts a producer against a fake broker serving one topic.
func benchProducer(b *testing.B, opts ...ProducerOption) *Producer {
	b.Helper()
	ns := startFakeNamesrv(b)
	br := startFakeBroker(b, "broker-a")
	br.keepRequests = false
	ns.setRoute("B", 4, br)
	return startBenchProducer(b, ns.addr, opts...)
}

// startBenchProducer starts a producer against the NameServer at nsAddr and sends one
// message to topic B, so the route and the connection are warm.
func startBenchProducer(b *testing.B, nsAddr string, opts ...ProducerOption) *Producer {
	b.Helper()
	all := append([]ProducerOption{WithNameServer(nsAddr), WithInstanceName("bench-" + b.Name())}, opts...)
	p, err := NewProducer(all...)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	if _, err := p.Send(context.Background(), NewMessage("B", []byte("warm"))); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkProducerSendSync is one synchronous 1 KiB send at a time to a fake broker on
// loopback: client cost plus one round trip.
func BenchmarkProducerSendSync(b *testing.B) {
	p := benchProducer(b)
	msg := NewMessage("B", make([]byte, 1024))
	ctx := context.Background()
	b.SetBytes(1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := p.Send(ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkProducerSendAsync keeps up to 1024 1 KiB sends in flight to a fake broker.
func BenchmarkProducerSendAsync(b *testing.B) { benchSendAsync(b, context.Background()) }

// BenchmarkPrepare is the client-side encoding of one 1 KiB message with a tag and a
// key: validation, properties, unique id.
func BenchmarkPrepare(b *testing.B) {
	p, err := NewProducer(WithNameServer("127.0.0.1:1"))
	if err != nil {
		b.Fatal(err)
	}
	msg := NewMessage("B", make([]byte, 1024)).WithTags("t").WithKeys("k")
	b.SetBytes(1024)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := p.prepare([]*Message{msg}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeMessages decodes a pull body of 32 records of 1 KiB.
func BenchmarkDecodeMessages(b *testing.B) {
	var run []byte
	for i := 0; i < 32; i++ {
		m := &message.Ext{Topic: "B", QueueOffset: int64(i), Body: make([]byte, 1024),
			StoreHost: netip.MustParseAddrPort("127.0.0.1:10911"), BornHost: netip.MustParseAddrPort("127.0.0.1:5555"),
			Properties: map[string]string{"UNIQ_KEY": "0A0000010E5A000000000000000000" + "01", "TAGS": "t"}}
		run, _ = message.EncodeRecord(run, m)
	}
	b.SetBytes(int64(len(run)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		msgs, err := DecodeMessages(run)
		if err != nil || len(msgs) != 32 {
			b.Fatal(err)
		}
	}
}
