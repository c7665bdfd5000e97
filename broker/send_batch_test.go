package broker

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/store"
)

// pipelinedSends writes frames to the broker over one TCP connection in a single write
// (the event loop reads them in as few read events as the socket allows) and returns
// the len(frames) answers in the order they arrived.
func pipelinedSends(t *testing.T, h *harness, reqs []*codec.Command) []*codec.Command {
	t.Helper()
	c, err := net.Dial("tcp", h.b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []byte
	for _, r := range reqs {
		if out, err = codec.AppendFrame(out, r, codec.DefaultMaxFrameBytes); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Write(out); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
	resps := make([]*codec.Command, 0, len(reqs))
	for range reqs {
		var prefix [codec.LengthPrefixBytes]byte
		if _, err := io.ReadFull(c, prefix[:]); err != nil {
			t.Fatalf("answer %d: %v", len(resps), err)
		}
		frame := make([]byte, binary.BigEndian.Uint32(prefix[:]))
		if _, err := io.ReadFull(c, frame); err != nil {
			t.Fatalf("answer %d: %v", len(resps), err)
		}
		resp, err := codec.DecodeFrame(frame)
		if err != nil {
			t.Fatalf("answer %d: %v", len(resps), err)
		}
		resps = append(resps, resp)
	}
	return resps
}

// TestPipelinedSendsBatch: 300 sends written back to back on one connection (both header
// serializations, both send codes) are answered in order, each with its own message id
// and consecutive queue offsets; a bad topic and a body over maxMessageSize among them
// get their own error answers without failing their neighbours; the stored messages
// read back in the order they were sent, each with a body CRC that matches its body
// (records decodes them with the check, which the store skips for these appends).
func TestPipelinedSendsBatch(t *testing.T) {
	for _, tc := range []struct {
		flush     store.FlushMode
		n, size   int // messages, and the padding of each body
		maxBody   int
		bad, huge int // the sends with a bad topic and a body over maxBody
	}{
		{store.AsyncFlush, 300, 0, 4096, 57, 211},
		{store.SyncFlush, 300, 0, 4096, 57, 211},
		// 60 KiB bodies: a read event's sends are appended in more than one run.
		{store.AsyncFlush, 60, 60 << 10, 128 << 10, 7, 33},
	} {
		flush, n, badTopic, tooLarge := tc.flush, tc.n, tc.bad, tc.huge
		t.Run(fmt.Sprint("flushMode=", flush, ",body=", tc.size), func(t *testing.T) {
			h := newHarness(t, func(_ *Options, so *store.Options) {
				so.FlushMode = flush
				so.MaxMessageBytes = tc.maxBody
			})
			h.createTopic("PB", 1, 6)
			reqs := make([]*codec.Command, n)
			for i := range reqs {
				topic, body := "PB", append([]byte(fmt.Sprintf("m-%03d", i)), make([]byte, tc.size)...)
				switch i {
				case badTopic:
					topic = "bad topic!"
				case tooLarge:
					body = make([]byte, tc.maxBody+1)
				}
				hdr := sendReq(topic, 0, nil)
				if i%2 == 0 {
					reqs[i] = codec.NewRequest(code.SendMessage, hdr.Encode(), body)
				} else {
					v2 := header.SendMessageRequestV2{SendMessageRequest: *hdr}
					reqs[i] = codec.NewRequest(code.SendMessageV2, v2.Encode(), body)
				}
				reqs[i].Opaque = int32(i + 1)
				reqs[i].Serialize = byte(i/3) % 2 // runs of JSON and ROCKETMQ headers
			}
			got := pipelinedSends(t, h, reqs)
			// Under SYNC_FLUSH the stored sends are answered once flushed, after the
			// refused ones: only ASYNC_FLUSH answers in request order.
			resps := make([]*codec.Command, n)
			for i, resp := range got {
				if flush == store.AsyncFlush && resp.Opaque != int32(i+1) {
					t.Fatalf("answer %d has opaque %d: answers out of order", i, resp.Opaque)
				}
				if resp.Opaque < 1 || int(resp.Opaque) > n || resps[resp.Opaque-1] != nil {
					t.Fatalf("answer %d has opaque %d: unknown or repeated", i, resp.Opaque)
				}
				resps[resp.Opaque-1] = resp
			}
			ids := map[string]bool{}
			next := int64(0)
			for i, resp := range resps {
				switch i {
				case badTopic:
					wantCode(t, "bad topic", resp, code.SystemError, "illegal characters")
					continue
				case tooLarge:
					wantCode(t, "too large", resp, code.MessageIllegal, fmt.Sprint("exceeds maxMessageSize ", tc.maxBody))
					continue
				}
				if resp.Code != code.Success {
					t.Fatalf("send %d: code %d %q", i, resp.Code, resp.Remark)
				}
				var r header.SendMessageResponse
				if err := r.Decode(resp.ExtFields); err != nil {
					t.Fatalf("send %d: %v", i, err)
				}
				if r.QueueID != 0 || r.QueueOffset != next || ids[r.MsgID] {
					t.Fatalf("send %d: queue %d offset %d (want %d), msgId %s seen before %v", i, r.QueueID, r.QueueOffset, next, r.MsgID, ids[r.MsgID])
				}
				ids[r.MsgID] = true
				next++
			}
			h.waitDispatched("PB", 0, int64(n-2))
			var bodies []string
			for off := int64(0); off < int64(n-2); {
				pr := h.pull(pullReq("cg", "PB", 0, off))
				if pr.Code != code.Success {
					t.Fatalf("pull at %d: code %d %q", off, pr.Code, pr.Remark)
				}
				for _, m := range records(t, pr.Body) {
					bodies = append(bodies, string(m.Body[:5]))
					off++
				}
			}
			var want []string
			for i := 0; i < n; i++ {
				if i != badTopic && i != tooLarge {
					want = append(want, fmt.Sprintf("m-%03d", i))
				}
			}
			if strings.Join(bodies, ",") != strings.Join(want, ",") {
				t.Fatalf("stored order:\n%v\nwant\n%v", bodies, want)
			}
		})
	}
}
