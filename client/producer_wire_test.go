package client

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// TestSendRequestBytes: the send frames are byte for byte those the producer sent
// before its requests were recycled (the SHA-256 sums below were taken from frames of
// the allocate-per-attempt request), for a single message and a batch in both header
// serializations, whether the request is fresh (Send) or a recycled one last used for
// another send (SendAsync).
func TestSendRequestBytes(t *testing.T) {
	born := time.UnixMilli(1726731935123)
	p, err := NewProducer(WithNameServer("127.0.0.1:1"), WithProducerGroup("PG"), withClock(func() time.Time { return born }))
	if err != nil {
		t.Fatal(err)
	}
	if p.wallClock {
		t.Fatal("a producer with a test clock takes it for the wall clock")
	}
	if d, err := NewProducer(WithNameServer("127.0.0.1:1")); err != nil || !d.wallClock {
		t.Fatalf("a producer with the default clock does not know it is the wall clock (%v)", err)
	}
	golden := map[int]map[byte]string{
		1: {codec.SerializeJSON: "2496f014d3def6b7bf2fae06e3417f0583ad83ca1feb4e8dad5ac5ffbf44d927",
			codec.SerializeRocketMQ: "367ef181f00168bde63ec4dbb362f97d921bd6481baf67391c1c0dcedee3eeab"},
		2: {codec.SerializeJSON: "8afe947adc1bc549fa9b5e2085a78b44573622bd30e1c320fd2662a13f2f74d4",
			codec.SerializeRocketMQ: "07b23105b9645545e20384fffe2790355c3194320b4ed2621e534c3f58a89e07"},
	}
	other, err := p.prepare([]*Message{NewMessage("Other", []byte("x")).WithDelayLevel(3)})
	if err != nil {
		t.Fatal(err)
	}
	mq := MessageQueue{Topic: "T", BrokerName: "b", QueueID: 3}
	for _, msgs := range [][]*Message{
		{NewMessage("T", []byte("hello")).WithTags("t").WithKeys("k").WithProperty(message.PropUniqKey, "7F0000010001ABCDEF0123456789ABCD")},
		{NewMessage("T", []byte("a")).WithProperty(message.PropUniqKey, "ID1"), NewMessage("T", []byte("bb")).WithProperty(message.PropUniqKey, "ID2")},
	} {
		out, err := p.prepare(msgs)
		if err != nil {
			t.Fatal(err)
		}
		for _, ser := range []byte{codec.SerializeJSON, codec.SerializeRocketMQ} {
			fresh := p.request(out, mq)
			r := sendRequests.Get().(*sendRequest)
			p.fillRequest(r, other, MessageQueue{Topic: "Other", QueueID: 9}, 1)
			r.cmd.Opaque, r.cmd.Remark = 99, "stale"
			p.fillRequest(r, out, mq, p.now().UnixMilli())
			for name, req := range map[string]*codec.Command{"fresh": fresh, "recycled": &r.cmd} {
				req.Serialize, req.Opaque = ser, 7
				f, err := codec.AppendFrame(nil, req, 0)
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(f)
				if got := hex.EncodeToString(sum[:]); got != golden[len(msgs)][ser] {
					t.Errorf("%d message(s), serialize %d, %s request: frame %x has sum %s, want %s", len(msgs), ser, name, f, got, golden[len(msgs)][ser])
				}
			}
			r.release()
		}
	}
}
