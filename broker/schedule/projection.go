package schedule

import (
	"bytes"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store"
)

// opKind is what a record told the projection.
type opKind uint8

const (
	opAddTimer  opKind = iota // a timer record: pending from now on
	opDoneTimer               // a copy or a cancel record: that timer is no longer pending
	opDoneLevel               // a copy of a delay-level record: the level is delivered past it
	opArrival                 // a delay-level record arrived: its level has work at deliverMS
)

// op is one fact the dispatcher learned from a record, queued for the scheduler
// goroutine, which alone touches the index.
type op struct {
	kind      opKind
	level     int   // opDoneLevel, opArrival
	qoff      int64 // opDoneLevel
	deliverMS int64 // opAddTimer, opDoneTimer, opArrival
	phys      int64 // opAddTimer, opDoneTimer
}

// projection is the store.Projection of the scheduler. Apply runs on the dispatcher
// goroutine: it reads the few fields it needs from the record, queues an op and records
// how far it got; it never touches pebble, so it neither blocks the dispatcher nor
// races the scheduler goroutine or Close.
type projection struct {
	levels  Levels
	applied int64 // what the index holds, from Open; Truncate may lower it
	// pos is the offset just past the last record Apply saw (or applied before any).
	// It is stored after the record's op is queued: whoever reads pos and then drains
	// the queue holds every op of the records below pos.
	pos atomic.Int64

	mu   sync.Mutex
	ops  []op
	wake func() // kicks the scheduler goroutine; set before the projection is added

	truncate func(off int64) error // the index's Truncate, run on the dispatcher
}

var _ store.Projection = (*projection)(nil)

// projectionName is the projection's name in the store's checkpoint and logs.
const projectionName = "schedule"

// Name implements store.Projection.
func (p *projection) Name() string { return projectionName }

// Applied implements store.Projection: the offset the persisted index covers.
func (p *projection) Applied() int64 { return p.applied }

// Truncate implements store.Projection: the log ends before what the index covers
// (it was cut after a crash). Timers whose records are gone are forgotten.
func (p *projection) Truncate(off int64) error {
	if err := p.truncate(off); err != nil {
		return err
	}
	p.applied = off
	p.pos.Store(off)
	return nil
}

var fromKey = []byte(PropFrom + string(message.NameValueSeparator))

// Apply implements store.Projection.
func (p *projection) Apply(rec []byte, phys int64) error {
	if o, ok := p.classify(rec, phys); ok {
		p.mu.Lock()
		p.ops = append(p.ops, o)
		p.mu.Unlock()
		if p.wake != nil {
			p.wake()
		}
	}
	p.pos.Store(phys + int64(len(rec)))
	return nil
}

// classify returns the op a record means, if any. Prepared and rolled back
// transaction records are never delivered and mean nothing here.
func (p *projection) classify(rec []byte, phys int64) (op, bool) {
	switch message.TxType(message.RecordSysFlag(rec)) {
	case message.TxPreparedType, message.TxRollbackType:
		return op{}, false
	}
	props := message.RecordProperties(rec)
	switch string(message.RecordTopicBytes(rec)) {
	case TopicSchedule:
		level := int(message.RecordQueueID(rec)) + 1
		d := p.levels.Delay(level)
		if d <= 0 {
			return op{}, false
		}
		return op{kind: opArrival, level: level, deliverMS: levelDue(message.RecordStoreTimestamp(rec), d)}, true
	case TopicTimer:
		if v, ok := message.PropertyOf(props, PropFrom); ok {
			if f, ok := ParseFrom(v); ok && f.Timer {
				return op{kind: opDoneTimer, deliverMS: f.DeliverMS, phys: f.PhysicalOffset}, true
			}
			return op{}, false
		}
		v, ok := message.PropertyOf(props, message.PropTimerOutMS)
		if !ok {
			return op{}, false
		}
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 {
			return op{}, false
		}
		return op{kind: opAddTimer, deliverMS: ms, phys: phys}, true
	}
	// A delivered copy. The quick byte search keeps the common case (no marker) to one
	// scan of the properties.
	if !bytes.Contains(props, fromKey) {
		return op{}, false
	}
	v, ok := message.PropertyOf(props, PropFrom)
	if !ok {
		return op{}, false
	}
	f, ok := ParseFrom(v)
	switch {
	case !ok:
		return op{}, false
	case f.Timer:
		return op{kind: opDoneTimer, deliverMS: f.DeliverMS, phys: f.PhysicalOffset}, true
	case f.Level <= p.levels.Len():
		return op{kind: opDoneLevel, level: f.Level, qoff: f.QueueOffset}, true
	}
	return op{}, false
}

// take returns the queued ops and empties the queue.
func (p *projection) take(buf []op) []op {
	p.mu.Lock()
	ops := p.ops
	p.ops = buf[:0]
	p.mu.Unlock()
	return ops
}
