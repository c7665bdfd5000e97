package store

import (
	"sync"

	"github.com/rocketgo/rocketgo/store/commitlog"
)

// PutItem is one append of PutMany: a single record as Put takes it, or with Batch the
// concatenated records of one topic and queue as PutBatch takes them. Encoded says the
// caller encoded Recs itself (message.EncodeRecord and its variants, which compute
// BODYCRC from the body): the store then checks their layout and limits but does not
// compute the body CRC a second time (message.ScanRecord).
type PutItem struct {
	Recs    []byte
	Batch   bool
	Encoded bool
}

// manyScratch is PutMany's working space, pooled so that a burst costs no allocation.
type manyScratch struct {
	units []commitlog.Unit
	res   []commitlog.Result
	errs  []error
	at    []int // index in items of units[i]
}

var manyPool = sync.Pool{New: func() any { return new(manyScratch) }}

// PutMany appends items in order, each as Put or PutBatch would, under one hold of the
// CommitLog's lock and with one wake of the dispatcher and the flusher for all of them:
// the broker hands over the sends of one network read this way. res[i] and errs[i]
// receive item i's outcome; an item that fails (invalid, too large, disk full) does not
// fail the others. res and errs must have len(items) elements. Neither items nor their
// records are modified or retained.
func (s *Store) PutMany(items []PutItem, res []PutResult, errs []error) {
	sc := manyPool.Get().(*manyScratch)
	ahead := 0 // bytes of the items admitted before: the disk check counts them too
	for i, it := range items {
		res[i] = PutResult{}
		count, first, err := s.verify(it.Recs, it.Batch, it.Encoded, ahead)
		if errs[i] = err; err != nil {
			continue
		}
		ahead += len(it.Recs)
		sc.units = append(sc.units, unitOf(it.Recs, count, first))
		sc.at = append(sc.at, i)
	}
	if n := len(sc.units); n > 0 {
		sc.res = append(sc.res[:0], make([]commitlog.Result, n)...)
		sc.errs = append(sc.errs[:0], make([]error, n)...)
		s.cl.AppendMany(sc.units, sc.res, sc.errs)
		for j, i := range sc.at {
			res[i], errs[i] = s.appended(len(items[i].Recs), sc.res[j], sc.errs[j])
		}
	}
	clear(sc.units)
	clear(sc.errs)
	sc.units, sc.res, sc.errs, sc.at = sc.units[:0], sc.res[:0], sc.errs[:0], sc.at[:0]
	manyPool.Put(sc)
}
