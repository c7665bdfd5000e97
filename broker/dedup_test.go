package broker

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/broker/dedup"
	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

func (h *harness) createDedupTopic(topic string, attrs string) *codec.Command {
	h.t.Helper()
	req := &header.CreateTopicRequest{Topic: topic, DefaultTopic: meta.TopicAutoCreate, ReadQueueNums: 2,
		WriteQueueNums: 2, Perm: 6, TopicFilterType: body.FilterSingleTag, Attributes: attrs}
	return h.call(code.UpdateAndCreateTopic, req.Encode(), nil)
}

// sendUniq sends body with UNIQ_KEY uniq to a random queue of topic.
func (h *harness) sendUniq(topic, uniq, body string) *codec.Command {
	h.t.Helper()
	resp := h.sendWith(sendReq(topic, -1, map[string]string{message.PropUniqKey: uniq}), []byte(body))
	wantCode(h.t, "send "+uniq, resp, code.Success, "")
	return resp
}

func sameResult(t *testing.T, what string, a, b *codec.Command) {
	t.Helper()
	for _, k := range []string{"msgId", "queueId", "queueOffset"} {
		if a.ExtFields[k] != b.ExtFields[k] {
			t.Fatalf("%s: %s %q, original %q", what, k, b.ExtFields[k], a.ExtFields[k])
		}
	}
}

func TestDuplicateWindowSend(t *testing.T) {
	h := newHarness(t)
	wantCode(t, "bad attribute", h.createDedupTopic("D", "+duplicate.window=forever"), code.SystemError, "duplicate.window")
	wantCode(t, "create", h.createDedupTopic("D", "+duplicate.window=2m,+message.type=NORMAL"), code.Success, "")
	if got := h.topicConfigs().TopicConfigTable["D"].Attributes; got["duplicate.window"] != "2m" || got["message.type"] != "NORMAL" {
		t.Fatalf("topic attributes: %v", got)
	}
	h.createTopic("Plain", 2, 6)

	first := h.sendUniq("D", "U1", "original")
	if first.ExtFields[dedup.ExtDuplicate] != "" {
		t.Fatalf("first send flagged duplicate: %v", first.ExtFields)
	}
	again := h.sendUniq("D", "U1", "retry")
	if again.ExtFields[dedup.ExtDuplicate] != "true" {
		t.Fatalf("retry not flagged: %v", again.ExtFields)
	}
	sameResult(t, "retry", first, again)
	other := h.sendUniq("D", "U2", "second")
	if other.ExtFields[dedup.ExtDuplicate] != "" || other.ExtFields["msgId"] == first.ExtFields["msgId"] {
		t.Fatalf("another key treated as duplicate: %v", other.ExtFields)
	}
	// Only the original and U2 are stored.
	stored := h.drain("D", 2)
	if len(stored) != 2 || stored["U1"] != "original" || stored["U2"] != "second" {
		t.Fatalf("stored %v, want U1=original U2=second", stored)
	}
	// A topic without the attribute keeps every send (duplicateWindow is 0).
	h.sendUniq("Plain", "U1", "a")
	if resp := h.sendUniq("Plain", "U1", "b"); resp.ExtFields[dedup.ExtDuplicate] != "" {
		t.Fatalf("plain topic deduplicated: %v", resp.ExtFields)
	}

	// After a restart the window is rebuilt from the log.
	h.reopen()
	after := h.sendUniq("D", "U1", "after restart")
	if after.ExtFields[dedup.ExtDuplicate] != "true" {
		t.Fatalf("retry after restart not flagged: %v", after.ExtFields)
	}
	sameResult(t, "retry after restart", first, after)
	if stored := h.drain("D", 2); len(stored) != 2 {
		t.Fatalf("after restart stored %v", stored)
	}
}

// drain waits for n messages in topic's two queues, pulls them and maps UNIQ_KEY to
// body; a key stored twice fails the test.
func (h *harness) drain(topic string, n int64) map[string]string {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.b.store.MaxOffset(topic, 0)+h.b.store.MaxOffset(topic, 1) < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: fewer than %d messages dispatched", topic, n)
		}
		time.Sleep(time.Millisecond)
	}
	out := map[string]string{}
	for q := int32(0); q < 2; q++ {
		resp := h.pull(pullReq("cg", topic, q, 0))
		if resp.Code != code.Success {
			continue
		}
		for _, m := range records(h.t, resp.Body) {
			k := m.Properties[message.PropUniqKey]
			if _, dup := out[k]; dup {
				h.t.Fatalf("%s: key %s stored twice", topic, k)
			}
			out[k] = string(m.Body)
		}
	}
	return out
}

func TestDuplicateWindowBatch(t *testing.T) {
	h := newHarness(t, func(o *Options, _ *store.Options) { o.DuplicateWindow = 90 * time.Second })
	h.createTopic("B", 1, 6)
	old := h.sendUniq("B", "K1", "k1")
	entry := func(uniq, b string) message.BatchEntry {
		return message.BatchEntry{Body: []byte(b), Properties: message.EncodeProperties(map[string]string{message.PropUniqKey: uniq})}
	}
	send := func(entries ...message.BatchEntry) *codec.Command {
		bb, err := message.EncodeBatch(nil, entries)
		if err != nil {
			t.Fatal(err)
		}
		hdr := header.SendMessageRequestV2{SendMessageRequest: *sendReq("B", 0, nil)}
		hdr.Batch = true
		resp := h.call(code.SendBatchMessage, hdr.Encode(), bb)
		wantCode(t, "batch", resp, code.Success, "")
		return resp
	}
	// K2 new, K1 stored before, K2 again within the batch, K3 new.
	resp := send(entry("K2", "k2"), entry("K1", "k1 again"), entry("K2", "k2 again"), entry("K3", "k3"))
	ids := strings.Split(resp.ExtFields["msgId"], ",")
	if len(ids) != 4 || ids[1] != old.ExtFields["msgId"] || ids[2] != ids[0] || ids[3] == ids[0] {
		t.Fatalf("batch msgIds %v, original K1 %s", ids, old.ExtFields["msgId"])
	}
	if resp.ExtFields[dedup.ExtDuplicate] != "true" || resp.ExtFields[dedup.ExtDuplicateIndexes] != "1,2" {
		t.Fatalf("batch flags: %v", resp.ExtFields)
	}
	if resp.ExtFields["queueOffset"] != "1" {
		t.Fatalf("queueOffset %s, want 1 (the first new record)", resp.ExtFields["queueOffset"])
	}
	// The whole batch again: nothing stored, every entry its original.
	all := send(entry("K2", "x"), entry("K1", "x"), entry("K3", "x"))
	if got, want := all.ExtFields["msgId"], strings.Join([]string{ids[0], ids[1], ids[3]}, ","); got != want {
		t.Fatalf("repeated batch msgId %s, want %s", got, want)
	}
	if all.ExtFields[dedup.ExtDuplicateIndexes] != "0,1,2" || all.ExtFields["queueOffset"] != "1" {
		t.Fatalf("repeated batch: %v", all.ExtFields)
	}
	waitMax(t, h.b, "B", 0, 3)
	msgs := records(t, h.pull(pullReq("cg", "B", 0, 0)).Body)
	var got []string
	for _, m := range msgs {
		got = append(got, string(m.Body))
	}
	if strings.Join(got, "|") != "k1|k2|k3" {
		t.Fatalf("stored %q, want k1|k2|k3", got)
	}
}

// BenchmarkSendHandlerWindow measures the send handler with every send carrying a new
// UNIQ_KEY, with the duplicate window off and on (2 minutes).
func BenchmarkSendHandlerWindow(b *testing.B) {
	for _, tc := range []struct {
		name string
		attr string
	}{{"off", ""}, {"on", "2m"}} {
		b.Run(tc.name, func(b *testing.B) {
			br := openInProcess(b, nil)
			tcfg := meta.NewTopicConfig("Bench", 4, 4, meta.PermRW)
			if tc.attr != "" {
				tcfg.Attributes = map[string]string{"duplicate.window": tc.attr}
			}
			if err := br.topics.Put(tcfg); err != nil {
				b.Fatal(err)
			}
			body := make([]byte, 1024)
			req := sendCommand("Bench", 1, body)
			props := req.ExtFields["properties"]
			prefix, _, _ := strings.Cut(props, message.PropUniqKey)
			conn := &server.Conn{}
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req.ExtFields["properties"] = prefix + message.PropUniqKey + "\x01" + strconv.Itoa(i) + "\x02"
				if resp := br.handleSend(conn, req); resp == nil || resp.Code != code.Success || resp.ExtFields[dedup.ExtDuplicate] != "" {
					b.Fatalf("send: %+v", resp)
				}
			}
		})
	}
}
