package broker

import (
	"strconv"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/broker/dedup"
	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// Duplicate window (docs/duplicate-window.md): the send path asks broker/dedup whether
// a message's UNIQ_KEY was stored within its topic's window, and answers a repeat with
// the original's result instead of storing it again.

// openDedup registers the window's projection; the store rebuilds it from the log
// before returning.
func (b *Broker) openDedup() error {
	b.dedup = dedup.New(b.opts.DuplicateWindowMaxKeys, b.now)
	longest := b.opts.DuplicateWindow
	all, _ := b.topics.All()
	for _, tc := range all {
		longest = max(longest, dedup.AttrWindow(tc.GetAttributes(), 0))
	}
	from := b.store.MaxPhysicalOffset()
	if longest > 0 {
		from = dedup.StartOffset(b.store, b.now().Add(-longest).UnixMilli())
	}
	return b.store.AddProjection(&dedup.Projection{W: b.dedup, From: from, WindowOf: b.windowOf})
}

// windowOf returns a topic's window: its duplicate.window attribute, else the broker's
// duplicateWindow. Retry, DLQ and the broker's own topics never dedup: a retry copy
// keeps its UNIQ_KEY by design.
func (b *Broker) windowOf(topic string) time.Duration {
	if strings.HasPrefix(topic, meta.RetryGroupTopicPrefix) || strings.HasPrefix(topic, meta.DLQGroupTopicPrefix) || b.topics.IsSystem(topic) {
		return 0
	}
	tc, ok := b.topics.Get(topic)
	if !ok {
		return b.opts.DuplicateWindow
	}
	return dedup.AttrWindow(tc.GetAttributes(), b.opts.DuplicateWindow)
}

// dedupBegin checks a plain send against its topic's window. It returns the answer
// when every message of the send is a duplicate; otherwise d (nil when the topic has
// no window) tracks the send, and for a batch with duplicates req.Body is replaced by
// the batch of the new entries only. Scheduled sends are not checked.
func (b *Broker) dedupBegin(req *codec.Command, topic, props string, batch, scheduled bool) (d *dedup.Send, answer *codec.Command) {
	win := b.windowOf(topic)
	if win <= 0 || scheduled {
		return nil, nil
	}
	var dup *dedup.Dup
	var err error
	if !batch {
		uniq, _ := message.PropertyOf([]byte(props), message.PropUniqKey)
		d, dup, err = dedup.Begin(b.dedup, b.store, win, topic, uniq)
	} else {
		entries, derr := message.DecodeBatch(req.Body, maxBatchEntries)
		if derr != nil {
			return nil, nil // the send path refuses it
		}
		var kept []message.BatchEntry
		d, dup, kept, err = dedup.BeginBatch(b.dedup, b.store, win, topic, entries)
		if kept != nil {
			req.Body, _ = message.EncodeBatch(nil, kept)
		}
	}
	switch {
	case err != nil:
		return nil, b.sendError(req, err)
	case dup != nil:
		return nil, b.dupAnswer(req, dup)
	}
	return d, nil
}

// dupAnswer answers a send whose every message is a duplicate: the SendResult of the
// originals (msgId of each, queueId and queueOffset of the first), duplicate=true and,
// for a batch, duplicateIndexes listing every entry.
func (b *Broker) dupAnswer(req *codec.Command, dup *dedup.Dup) *codec.Command {
	ids, idx := dup.IDs(b.store)
	first, err := b.store.ReadRecord(dup.Origs[0])
	if err != nil {
		return b.sendError(req, err)
	}
	resp := req.NewResponse(0, "")
	resp.ExtFields["msgId"] = strings.Join(ids, ",")
	resp.ExtFields["queueId"] = strconv.FormatInt(int64(message.RecordQueueID(first)), 10)
	resp.ExtFields["queueOffset"] = strconv.FormatInt(message.RecordQueueOffset(first), 10)
	resp.ExtFields[dedup.ExtDuplicate] = "true"
	if dup.RefOf != nil {
		resp.ExtFields[dedup.ExtDuplicateIndexes] = strings.Join(idx, ",")
	}
	b.addSendExt(resp)
	return resp
}
