package broker

import (
	"strconv"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/broker/dedup"
	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/store"
)

// Duplicate window (docs/duplicate-window.md): the send path asks broker/dedup whether
// a message's UNIQ_KEY was stored within its topic's window, and answers a repeat with
// the original's result instead of storing it again.

// dedupFlightWait bounds how long a send waits for another send of the same key that
// is being appended.
const dedupFlightWait = 3 * time.Second

// Extension fields of a send answer that met the window.
const (
	extDuplicate        = "duplicate"        // "true": at least one message was a duplicate
	extDuplicateIndexes = "duplicateIndexes" // batch: the duplicate entries, comma-separated
)

// openDedup registers the window's projection; the store rebuilds it from the log
// before returning.
func (b *Broker) openDedup() error {
	b.dedup = dedup.New(b.opts.DuplicateWindowMaxKeys, b.now)
	longest := b.opts.DuplicateWindow
	all, _ := b.topics.All()
	for _, tc := range all {
		longest = max(longest, attrWindow(tc.GetAttributes(), 0))
	}
	from := b.store.MaxPhysicalOffset()
	if longest > 0 {
		from = dedup.StartOffset(b.store, b.now().Add(-longest).UnixMilli())
	}
	return b.store.AddProjection(&dedup.Projection{W: b.dedup, From: from, WindowOf: b.windowOf})
}

// attrWindow returns the window the attributes set, def when they set none (or one
// that does not parse, which UPDATE_AND_CREATE_TOPIC refuses).
func attrWindow(attrs map[string]string, def time.Duration) time.Duration {
	v, ok := attrs[dedup.Attribute]
	if !ok {
		return def
	}
	d, err := dedup.ParseWindow(v)
	if err != nil {
		return def
	}
	return d
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
	return attrWindow(tc.GetAttributes(), b.opts.DuplicateWindow)
}

// dedupSend is one send's passage through the window.
type dedupSend struct {
	b      *Broker
	win    time.Duration
	keys   []dedup.Key // of the messages stored by this send, in order; "" Uniq: none
	begun  []bool      // keys[i] is in flight for this send
	done   bool
	n      int      // entries of the request
	dupIDs []string // batch: msgId of each duplicate entry, by request index ("" for new)
	first  int      // batch: request index of the first stored entry
	refOf  []int    // batch: request index of an earlier entry with the same key, or -1
	key1   [1]dedup.Key
	begun1 [1]bool
}

// dedupBegin checks a plain send against its topic's window. It returns the answer
// when every message of the send is a duplicate; otherwise d (nil when the topic has
// no window) tracks the send, and for a batch with duplicates *body is replaced by the
// batch of the new entries only. Scheduled sends are not checked.
func (b *Broker) dedupBegin(req *codec.Command, topic, props string, batch, scheduled bool) (d *dedupSend, answer *codec.Command) {
	win := b.windowOf(topic)
	if win <= 0 || scheduled {
		return nil, nil
	}
	d = &dedupSend{b: b, win: win}
	if !batch {
		uniq, _ := message.PropertyOf([]byte(props), message.PropUniqKey)
		d.key1[0] = dedup.Key{Topic: topic, Uniq: uniq}
		d.n, d.keys, d.begun = 1, d.key1[:], d.begun1[:]
		phys, dup, err := d.begin(0)
		if err != nil {
			return nil, b.sendError(req, err)
		}
		if dup {
			return nil, b.dupAnswer(req, []int64{phys}, nil)
		}
		return d, nil
	}
	entries, err := message.DecodeBatch(req.Body, maxBatchEntries)
	if err != nil {
		return nil, nil // the send path refuses it
	}
	d.n = len(entries)
	d.refOf = make([]int, d.n)
	seen := make(map[string]int, d.n)
	origs := make([]int64, d.n)
	kept := make([]message.BatchEntry, 0, d.n)
	d.first = -1
	for i, e := range entries {
		d.refOf[i] = -1
		uniq, _ := message.PropertyOf([]byte(e.Properties), message.PropUniqKey)
		if j, ok := seen[uniq]; ok && uniq != "" {
			d.refOf[i] = j
			continue
		}
		seen[uniq] = i
		d.keys = append(d.keys, dedup.Key{Topic: topic, Uniq: uniq})
		d.begun = append(d.begun, false)
		phys, dup, err := d.begin(len(d.keys) - 1)
		if err != nil {
			d.finish()
			return nil, b.sendError(req, err)
		}
		if dup {
			d.keys = d.keys[:len(d.keys)-1]
			d.begun = d.begun[:len(d.begun)-1]
			d.refOf[i], origs[i] = -2, phys
			continue
		}
		if d.first < 0 {
			d.first = i
		}
		kept = append(kept, e)
	}
	if len(kept) == 0 {
		return nil, b.dupAnswer(req, origs, d.refOf)
	}
	if len(kept) < d.n {
		d.dupIDs = make([]string, d.n)
		for i, r := range d.refOf {
			if r == -2 {
				d.dupIDs[i] = b.originalID(origs[i])
			}
		}
		req.Body, _ = message.EncodeBatch(nil, kept)
	}
	return d, nil
}

// begin starts keys[i] in the window, waiting out another send of the same key.
func (d *dedupSend) begin(i int) (phys int64, dup bool, err error) {
	k := d.keys[i]
	if k.Uniq == "" {
		return 0, false, nil
	}
	var deadline <-chan time.Time // set on the first wait: most sends never wait
	for {
		phys, dup, wait := d.b.dedup.Begin(k)
		if wait == nil {
			if dup {
				if _, rerr := d.b.store.ReadRecord(phys); rerr != nil {
					return 0, false, nil // the original is gone: store this one
				}
				return phys, true, nil
			}
			d.begun[i] = true
			return 0, false, nil
		}
		if deadline == nil {
			t := time.NewTimer(dedupFlightWait)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-wait:
		case <-deadline:
			return 0, false, reject(errSystemBusy, "a send of UNIQ_KEY %s to topic %s is still being stored", k.Uniq, k.Topic)
		}
	}
}

// stored records the keys of a successful append: the records start at res's
// physical offset, sizes long (nil for one record).
func (d *dedupSend) stored(res store.PutResult, sizes []int) {
	if d == nil {
		return
	}
	off := res.PhysicalOffset
	for i, k := range d.keys {
		if d.begun[i] {
			d.b.dedup.Commit(k, off, d.win)
			d.begun[i] = false
		}
		if i < len(sizes) {
			off += int64(sizes[i])
		}
	}
}

// finish ends whatever is still in flight (the append failed or was not tried).
func (d *dedupSend) finish() {
	if d == nil {
		return
	}
	for i, k := range d.keys {
		if d.begun[i] {
			d.b.dedup.Abort(k)
		}
	}
}

// answer completes a batch answer that had duplicates among new entries: msgId lists
// every entry of the request in order, the duplicates with their originals' ids, and
// duplicate/duplicateIndexes name them. queueId and queueOffset are those of the new
// records.
func (d *dedupSend) answer(resp *codec.Command) *codec.Command {
	if d == nil || resp == nil || (d.dupIDs == nil && d.refOf == nil) {
		return resp
	}
	if resp.ExtFields["msgId"] == "" { // refused after all
		return resp
	}
	fresh := strings.Split(resp.ExtFields["msgId"], ",")
	ids := make([]string, d.n)
	var dupIdx []string
	next := 0
	for i := range d.n {
		switch r := d.refOf[i]; {
		case r == -1:
			if next < len(fresh) {
				ids[i] = fresh[next]
			}
			next++
			continue
		case r == -2:
			ids[i] = d.dupIDs[i]
		default:
			ids[i] = ids[r]
		}
		dupIdx = append(dupIdx, strconv.Itoa(i))
	}
	if len(dupIdx) == 0 {
		return resp
	}
	resp.ExtFields["msgId"] = strings.Join(ids, ",")
	resp.ExtFields[extDuplicate] = "true"
	resp.ExtFields[extDuplicateIndexes] = strings.Join(dupIdx, ",")
	return resp
}

// originalID returns the offset message id of the record at phys.
func (b *Broker) originalID(phys int64) string {
	rec, err := b.store.ReadRecord(phys)
	if err != nil {
		return ""
	}
	return message.OffsetMsgID(message.RecordStoreHost(rec), phys)
}

// dupAnswer answers a send whose every message is a duplicate: the SendResult of the
// originals (msgId of each, queueId and queueOffset of the first), duplicate=true and,
// for a batch, duplicateIndexes listing every entry. refOf maps a batch entry that
// repeats an earlier one of the same request to it.
func (b *Broker) dupAnswer(req *codec.Command, origs []int64, refOf []int) *codec.Command {
	ids := make([]string, len(origs))
	idx := make([]string, len(origs))
	for i, phys := range origs {
		if refOf != nil && refOf[i] >= 0 {
			ids[i] = ids[refOf[i]]
		} else {
			ids[i] = b.originalID(phys)
		}
		idx[i] = strconv.Itoa(i)
	}
	first, err := b.store.ReadRecord(origs[0])
	if err != nil {
		return b.sendError(req, err)
	}
	resp := req.NewResponse(0, "")
	resp.ExtFields["msgId"] = strings.Join(ids, ",")
	resp.ExtFields["queueId"] = strconv.FormatInt(int64(message.RecordQueueID(first)), 10)
	resp.ExtFields["queueOffset"] = strconv.FormatInt(message.RecordQueueOffset(first), 10)
	resp.ExtFields[extDuplicate] = "true"
	if refOf != nil {
		resp.ExtFields[extDuplicateIndexes] = strings.Join(idx, ",")
	}
	b.addSendExt(resp)
	return resp
}
