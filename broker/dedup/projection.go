package dedup

import (
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store"
)

// ProjectionName is the window's name in the store's checkpoint and logs.
const ProjectionName = "dedup"

// Projection feeds a Window from the CommitLog. It keeps nothing on disk: each Open
// rebuilds the window from From, an offset old enough to cover the longest window
// (StartOffset finds one).
type Projection struct {
	W    *Window
	From int64
	// WindowOf returns the window of a topic, 0 when the topic does not dedup.
	WindowOf func(topic string) time.Duration
}

var _ store.Projection = (*Projection)(nil)

// Name implements store.Projection.
func (p *Projection) Name() string { return ProjectionName }

// Applied implements store.Projection: where the rebuild starts.
func (p *Projection) Applied() int64 { return p.From }

// Truncate implements store.Projection.
func (p *Projection) Truncate(off int64) error {
	p.W.Truncate(off)
	p.From = min(p.From, off)
	return nil
}

// Apply implements store.Projection: a delivered record (not a prepared or rolled
// back transaction record) of a topic with a window, carrying a UNIQ_KEY, is
// remembered from its store time.
func (p *Projection) Apply(rec []byte, phys int64) error {
	switch message.TxType(message.RecordSysFlag(rec)) {
	case message.TxPreparedType, message.TxRollbackType:
		return nil
	}
	topic := string(message.RecordTopicBytes(rec))
	d := p.WindowOf(topic)
	if d <= 0 {
		return nil
	}
	uniq, ok := message.PropertyOf(message.RecordProperties(rec), message.PropUniqKey)
	if !ok || uniq == "" {
		return nil
	}
	p.W.Record(Key{Topic: topic, Uniq: uniq}, phys, message.RecordStoreTimestamp(rec), d)
	return nil
}

// Log is what StartOffset reads of the CommitLog.
type Log interface {
	MinPhysicalOffset() int64
	MaxPhysicalOffset() int64
	SegmentBytes() int64
	ReadRecord(physicalOffset int64) ([]byte, error)
}

// StartOffset returns where a rebuild must start to see every record stored since
// sinceMS: the start of the newest CommitLog segment whose first record is older, or
// the log's oldest offset. Segments start with a record, so the rebuild reads at most
// one segment more than the window.
func StartOffset(l Log, sinceMS int64) int64 {
	lo, hi, seg := l.MinPhysicalOffset(), l.MaxPhysicalOffset(), l.SegmentBytes()
	if seg <= 0 || hi <= lo {
		return lo
	}
	for start := (hi - 1) / seg * seg; start > lo; start -= seg {
		rec, err := l.ReadRecord(start)
		if err == nil && message.RecordStoreTimestamp(rec) < sinceMS {
			return start
		}
	}
	return lo
}
