package dedup

import (
	"strconv"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/broker/internal/refusal"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/store"
)

// FlightWait bounds how long a send waits for another send of the same key that is
// being appended.
const FlightWait = 3 * time.Second

// Extension fields of a send answer that met the window.
const (
	ExtDuplicate        = "duplicate"        // "true": at least one message was a duplicate
	ExtDuplicateIndexes = "duplicateIndexes" // batch: the duplicate entries, comma-separated
)

// Records is what the send path reads the originals from (the store).
type Records interface {
	ReadRecord(physicalOffset int64) ([]byte, error)
}

// AttrWindow returns the window the attributes set, def when they set none (or one
// that does not parse, which UPDATE_AND_CREATE_TOPIC refuses).
func AttrWindow(attrs map[string]string, def time.Duration) time.Duration {
	v, ok := attrs[Attribute]
	if !ok {
		return def
	}
	d, err := ParseWindow(v)
	if err != nil {
		return def
	}
	return d
}

// Dup is a send whose every message is a duplicate: the physical offsets of the
// originals by request entry, and for a batch RefOf, which maps an entry that repeats
// an earlier one of the same request to it (nil for a single message).
type Dup struct {
	Origs []int64
	RefOf []int
}

// IDs returns the offset message id of each entry's original and the index of every
// entry, as the duplicate answer lists them.
func (d *Dup) IDs(recs Records) (ids, idx []string) {
	ids = make([]string, len(d.Origs))
	idx = make([]string, len(d.Origs))
	for i, phys := range d.Origs {
		if d.RefOf != nil && d.RefOf[i] >= 0 {
			ids[i] = ids[d.RefOf[i]]
		} else {
			ids[i] = OriginalID(recs, phys)
		}
		idx[i] = strconv.Itoa(i)
	}
	return ids, idx
}

// OriginalID returns the offset message id of the record at phys ("" when it is gone).
func OriginalID(recs Records, phys int64) string {
	rec, err := recs.ReadRecord(phys)
	if err != nil {
		return ""
	}
	return message.OffsetMsgID(message.RecordStoreHost(rec), phys)
}

// Send is one send's passage through the window: Begin or BeginBatch, then Stored
// when the append succeeded, Finish in any case, and Answer on the response. A nil
// *Send (the topic has no window) does nothing.
type Send struct {
	w      *Window
	recs   Records
	win    time.Duration
	keys   []Key    // of the messages stored by this send, in order; "" Uniq: none
	begun  []bool   // keys[i] is in flight for this send
	n      int      // entries of the request
	dupIDs []string // batch: msgId of each duplicate entry, by request index ("" for new)
	refOf  []int    // batch: request index of an earlier entry with the same key, or -1
	key1   [1]Key
	begun1 [1]bool
}

// Begin checks a single message of topic, whose window is win, with UNIQ_KEY uniq.
// It returns dup when the message is a duplicate, else the Send that tracks it.
func Begin(w *Window, recs Records, win time.Duration, topic, uniq string) (*Send, *Dup, error) {
	d := &Send{w: w, recs: recs, win: win, n: 1}
	d.key1[0] = Key{Topic: topic, Uniq: uniq}
	d.keys, d.begun = d.key1[:], d.begun1[:]
	phys, dup, err := d.begin(0)
	if err != nil {
		return nil, nil, err
	}
	if dup {
		return nil, &Dup{Origs: []int64{phys}}, nil
	}
	return d, nil, nil
}

// BeginBatch checks the entries of a batch to topic. It returns dup when every entry
// is a duplicate; otherwise the Send, and kept, the new entries only, when some are
// duplicates (nil when all are new).
func BeginBatch(w *Window, recs Records, win time.Duration, topic string, entries []message.BatchEntry) (d *Send, dup *Dup, kept []message.BatchEntry, err error) {
	d = &Send{w: w, recs: recs, win: win, n: len(entries)}
	d.refOf = make([]int, d.n)
	seen := make(map[string]int, d.n)
	origs := make([]int64, d.n)
	kept = make([]message.BatchEntry, 0, d.n)
	for i, e := range entries {
		d.refOf[i] = -1
		uniq, _ := message.PropertyOf([]byte(e.Properties), message.PropUniqKey)
		if j, ok := seen[uniq]; ok && uniq != "" {
			d.refOf[i] = j
			continue
		}
		seen[uniq] = i
		d.keys = append(d.keys, Key{Topic: topic, Uniq: uniq})
		d.begun = append(d.begun, false)
		phys, isDup, err := d.begin(len(d.keys) - 1)
		if err != nil {
			d.Finish()
			return nil, nil, nil, err
		}
		if isDup {
			d.keys = d.keys[:len(d.keys)-1]
			d.begun = d.begun[:len(d.begun)-1]
			d.refOf[i], origs[i] = -2, phys
			continue
		}
		kept = append(kept, e)
	}
	if len(kept) == 0 {
		return nil, &Dup{Origs: origs, RefOf: d.refOf}, nil, nil
	}
	if len(kept) == d.n {
		return d, nil, nil, nil
	}
	d.dupIDs = make([]string, d.n)
	for i, r := range d.refOf {
		if r == -2 {
			d.dupIDs[i] = OriginalID(recs, origs[i])
		}
	}
	return d, nil, kept, nil
}

// begin starts keys[i] in the window, waiting out another send of the same key.
func (d *Send) begin(i int) (phys int64, dup bool, err error) {
	k := d.keys[i]
	if k.Uniq == "" {
		return 0, false, nil
	}
	var deadline <-chan time.Time // set on the first wait: most sends never wait
	for {
		phys, dup, wait := d.w.Begin(k)
		if wait == nil {
			if dup {
				if _, rerr := d.recs.ReadRecord(phys); rerr != nil {
					return 0, false, nil // the original is gone: store this one
				}
				return phys, true, nil
			}
			d.begun[i] = true
			return 0, false, nil
		}
		if deadline == nil {
			t := time.NewTimer(FlightWait)
			defer t.Stop()
			deadline = t.C
		}
		select {
		case <-wait:
		case <-deadline:
			return 0, false, refusal.New(refusal.SystemBusy, "a send of UNIQ_KEY %s to topic %s is still being stored", k.Uniq, k.Topic)
		}
	}
}

// Stored records the keys of a successful append: the records start at res's
// physical offset, sizes long (nil for one record).
func (d *Send) Stored(res store.PutResult, sizes []int) {
	if d == nil {
		return
	}
	off := res.PhysicalOffset
	for i, k := range d.keys {
		if d.begun[i] {
			d.w.Commit(k, off, d.win)
			d.begun[i] = false
		}
		if i < len(sizes) {
			off += int64(sizes[i])
		}
	}
}

// Finish ends whatever is still in flight (the append failed or was not tried).
func (d *Send) Finish() {
	if d == nil {
		return
	}
	for i, k := range d.keys {
		if d.begun[i] {
			d.w.Abort(k)
		}
	}
}

// Answer completes a batch answer that had duplicates among new entries: msgId lists
// every entry of the request in order, the duplicates with their originals' ids, and
// duplicate/duplicateIndexes name them. queueId and queueOffset are those of the new
// records.
func (d *Send) Answer(resp *codec.Command) *codec.Command {
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
	resp.ExtFields[ExtDuplicate] = "true"
	resp.ExtFields[ExtDuplicateIndexes] = strings.Join(dupIdx, ",")
	return resp
}
