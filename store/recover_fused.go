package store

import (
	"errors"

	"github.com/rocketgo/rocketgo/store/consumequeue"
)

// fusedDispatch re-dispatches the CommitLog's records to the ConsumeQueues and the
// projections while recovery verifies them, one chunk (commitlog.DefaultVerifiedChunk) behind
// the scan, instead of in a second pass over the whole log once the scan is done. A log
// larger than the page cache was read from the disk twice by the two passes — the
// second found the first's pages evicted — which made the worst recovery grow faster
// than the log (docs/scale.md §4.1). Apache's abnormal recovery dispatches in its scan
// loop too.
//
// The queues are opened on the first chunk, trusted up to the checkpoint's
// ConsumeQueue progress: right whenever the log ends at or past it, which recover
// checks once the scan is done, opening the queues again, trimmed to the log's end,
// when it does not. A record the dispatch refuses (its queue offset does not follow its
// queue's, or its topic cannot name a queue) stops the fused dispatch there; recover
// then meets it again and cuts the log at it as before.
type fusedDispatch struct {
	s *Store
	// trusted is the checkpoint's ConsumeQueue progress, the queues' trim point.
	trusted int64
	// opened is set once the queues are open; queues and trimmed are what that found.
	opened  bool
	queues  int
	trimmed int64
	// stopped is set when a record was refused.
	stopped bool
}

// fusedChunk is the chunk handed to the fused dispatch; zero means
// commitlog.DefaultVerifiedChunk. Tests make it small to cross many chunks.
var fusedChunk int64

// verified is commitlog.RecoverOptions.Verified: it dispatches the verified records
// [from, to) at or past where re-dispatch starts.
func (f *fusedDispatch) verified(from, to int64) error {
	if f.stopped {
		return nil
	}
	s := f.s
	if !f.opened {
		logMin := s.cl.Min()
		var err error
		if f.queues, f.trimmed, err = s.openQueues(f.trusted, logMin); err != nil {
			return err
		}
		f.opened = true
		s.d.cqFrom = f.trusted
		s.d.pos.Store(max(f.trusted, logMin))
	}
	from = max(from, s.d.pos.Load())
	if from >= to {
		return nil
	}
	err := s.dispatchBelow(from, to, s.d.confirm.Load())
	if errors.Is(err, consumequeue.ErrGap) || errors.Is(err, consumequeue.ErrMismatch) || errors.Is(err, errUnservable) {
		f.stopped = true
		return nil
	}
	return err
}
