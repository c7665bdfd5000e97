package broker

import (
	"testing"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// BenchmarkSendFrames32 is the broker's share of one read event of 32 pipelined
// SEND_MESSAGE_V2 frames of 1 KiB, as the event loop serves it: each frame decoded
// (decodeSendFrame), the batched handler run with the store's append replaced by
// discard, and the answers encoded into one buffer. One op is one message.
func BenchmarkSendFrames32(b *testing.B) {
	for _, ser := range []struct {
		name string
		t    byte
	}{{"rocketmq", codec.SerializeRocketMQ}, {"json", codec.SerializeJSON}} {
		b.Run(ser.name, func(b *testing.B) {
			br := openInProcess(b, nil)
			br.putDst = &discard{}
			createTopicDirect(b, br, "Bench", 4)
			const n = 32
			h := header.SendMessageRequestV2{SendMessageRequest: *sendReq("Bench", 1, map[string]string{
				message.PropTags: "TagA", message.PropKeys: "order-1", message.PropWait: "true",
				message.PropUniqKey: "0A0000010F3A000000000000000000AB",
			})}
			var frames [][]byte
			for i := range n {
				req := codec.NewRequest(code.SendMessageV2, h.Encode(), make([]byte, 1024))
				req.Opaque, req.Serialize = int32(i+1), ser.t
				f, err := codec.AppendFrame(nil, req, 0)
				if err != nil {
					b.Fatal(err)
				}
				frames = append(frames, f[codec.LengthPrefixBytes:])
			}
			route := br.batchRoute(code.SendMessageV2)
			conn := &server.Conn{}
			reqs := make([]*codec.Command, n)
			resps := make([]*codec.Command, n)
			var out []byte
			b.SetBytes(1024)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i += n {
				for k, f := range frames {
					var err error
					if reqs[k], err = decodeSendFrame(f); err != nil {
						b.Fatal(err)
					}
				}
				clear(resps)
				done := route(conn, reqs, resps)
				out = out[:0]
				for k, resp := range resps {
					if resp == nil || resp.Code != code.Success {
						b.Fatalf("send %d: %+v", k, resp)
					}
					codec.PrepareResponse(reqs[k], resp)
					var err error
					if out, err = codec.AppendFrame(out, resp, 0); err != nil {
						b.Fatal(err)
					}
				}
				done()
			}
		})
	}
}
