package client

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// leanBroker answers every request with one prepared frame, its opaque patched in: a
// send gets SUCCESS with a fixed offset message id, queue id and offset. It decodes
// nothing and allocates nothing per request, so a benchmark against it measures the
// client, where the fake broker (server.Server, header maps, answers built per
// request) costs more than the client does.
type leanBroker struct{ addr string }

// startLeanBroker listens on 127.0.0.1:0 until the benchmark ends.
func startLeanBroker(b *testing.B) *leanBroker {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	resp := &codec.Command{Code: code.Success, Flag: codec.FlagResponse, Language: codec.DefaultLanguage,
		Version: codec.DefaultVersion, Serialize: codec.SerializeRocketMQ,
		ExtFields: map[string]string{"msgId": "7F00000100002A9F0000000000000064", "queueId": "1", "queueOffset": "123456"}}
	answer, err := codec.AppendFrame(nil, resp, 0)
	if err != nil {
		b.Fatal(err)
	}
	acceptAll(b, ln, func(nc net.Conn) { serveLean(nc, answer) })
	return &leanBroker{addr: ln.Addr().String()}
}

// serveLean answers the frames of nc with answer, writing the answers to the frames
// read in one go together.
func serveLean(nc net.Conn, answer []byte) {
	br := bufio.NewReaderSize(nc, 256<<10)
	out := make([]byte, 0, 64<<10)
	// The opaque of a ROCKETMQ header follows the two lengths, code, language and
	// version; a JSON header (heartbeats) holds it as text, and its answer's opaque
	// does not matter here.
	const opaqueAt = codec.LengthPrefixBytes + 4 + 2 + 1 + 2
	head := make([]byte, opaqueAt+4) // one buffer for every frame: nothing per request
	for {
		if _, err := io.ReadFull(br, head[:8]); err != nil {
			return
		}
		rest := int(binary.BigEndian.Uint32(head)) - 4
		opaque := head[opaqueAt:]
		clear(opaque)
		if head[4] == codec.SerializeRocketMQ {
			if _, err := io.ReadFull(br, head[8:]); err != nil {
				return
			}
			rest -= len(head) - 8
		}
		if _, err := br.Discard(rest); err != nil {
			return
		}
		out = append(out, answer...)
		copy(out[len(out)-len(answer)+opaqueAt:], opaque)
		if br.Buffered() == 0 || len(out) > 60<<10 {
			if _, err := nc.Write(out); err != nil {
				return
			}
			out = out[:0]
		}
	}
}

// BenchmarkProducerSendAsyncLean is BenchmarkProducerSendAsync against leanBroker:
// what remains is the client's own cost (and the loopback's).
func BenchmarkProducerSendAsyncLean(b *testing.B) {
	ns := startFakeNamesrv(b)
	lb := startLeanBroker(b)
	ns.putRoute("B", &body.TopicRouteData{
		QueueDatas:        []body.QueueData{{BrokerName: "lean", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6}},
		BrokerDatas:       []body.BrokerData{{Cluster: "C", BrokerName: "lean", BrokerAddrs: map[int64]string{0: lb.addr}}},
		FilterServerTable: map[string][]string{},
	})
	sendAsyncLoop(b, startBenchProducer(b, ns.addr, WithInlineCallbacks()), context.Background())
}
