package broker

import (
	"testing"
	"unsafe"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// TestBatchedSendKeepsNoArenaString: a topic auto-created by a batched send, whose
// binary header was decoded into the connection's arena (codec.DecodeFrameLent), is
// named by a string of its own, not by the header's bytes, which would keep a whole
// chunk of the arena alive for as long as the topic exists. The message is stored.
func TestBatchedSendKeepsNoArenaString(t *testing.T) {
	br := openInProcess(t, nil)
	const topic = "ArenaAutoCreated"
	h := header.SendMessageRequestV2{SendMessageRequest: *sendReq(topic, 0, map[string]string{
		message.PropUniqKey: "0A0000010F3A000000000000000000AB",
	})}
	req := codec.NewRequest(code.SendMessageV2, h.Encode(), []byte("hello"))
	req.Serialize = codec.SerializeRocketMQ
	frame, err := codec.AppendFrame(nil, req, 0)
	if err != nil {
		t.Fatal(err)
	}
	var arena codec.BodyArena
	d, _, err := codec.DecodeFrameLent(frame[codec.LengthPrefixBytes:], func(c int32) bool { return c == code.SendMessageV2 }, &arena)
	if err != nil || !d.HasRawExt() {
		t.Fatalf("decode: raw %v, %v", d != nil && d.HasRawExt(), err)
	}
	var inHeader string
	d.RangeExt(func(k, v string, _ bool) {
		if k == "b" {
			inHeader = v
		}
	})
	if inHeader != topic {
		t.Fatalf("header topic %q", inHeader)
	}
	resps := make([]*codec.Command, 1)
	done := br.batchRoute(code.SendMessageV2)(&server.Conn{}, []*codec.Command{d}, resps)
	if resps[0] == nil || resps[0].Code != code.Success {
		t.Fatalf("send answered %+v", resps[0])
	}
	done()
	tc, ok := br.topics.Get(topic)
	if !ok || tc.GetTopicName() != topic {
		t.Fatalf("topic not auto-created: %v", tc)
	}
	if unsafe.StringData(tc.GetTopicName()) == unsafe.StringData(inHeader) {
		t.Fatal("the auto-created topic's name is the request header's bytes in the arena")
	}
	if got := br.store.MaxOffset(topic, 0); got != 1 {
		t.Fatalf("queue 0 of %s holds %d messages, want 1", topic, got)
	}
}
