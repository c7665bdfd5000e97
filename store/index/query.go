package index

// Candidate is an index entry: a record that may carry the key (hashes can collide).
type Candidate struct {
	Offset  int64 // CommitLog physical offset
	StoreMS int64 // store timestamp
}

// Query calls fn with the entries of (topic, key) whose store time is within
// [beginMS, endMS], newest first, until fn returns false. segs are the starts of the
// live CommitLog segments, ascending: entries below the first are skipped (retention
// removed their records), and with no segment there is nothing to find.
//
// A chain is walked from its slot head through the prev links. Entries the writer has
// not committed yet are passed over, but their links followed; a link that does not
// point to an older entry ends the chain (a damaged file cannot make the walk loop).
// Each record is reported once: a record whose KEYS repeat a token, or whose entries
// were written again after a crash, has several entries with its offset, and offsets
// come in descending order, so an offset not below the last one reported is skipped.
func (x *Index) Query(topic, key []byte, beginMS, endMS int64, segs []int64, fn func(Candidate) bool) error {
	lo := x.tomb.hidden(topic)
	x.mu.RLock()
	defer x.mu.RUnlock()
	if x.closed {
		return ErrClosed
	}
	if len(segs) == 0 {
		return nil
	}
	lo = max(lo, segs[0])
	h := fnv64a(topic, key)
	last := int64(1<<63 - 1)
	for i := len(x.files) - 1; i >= 0; i-- {
		f := x.files[i]
		if f.maxMS.Load() < beginMS || f.minMS.Load() > endMS {
			continue
		}
		committed := f.committed.Load()
		e := f.head(h)
		for e > 0 && e <= f.entries {
			b := f.entry(e - 1)
			if e-1 < committed && entryHash(b) == h {
				phys := entryPhys(b)
				if phys < lo {
					return nil // the rest is older still
				}
				if ms := entryMS(b); phys < last && ms >= beginMS && ms <= endMS {
					last = phys
					if !fn(Candidate{Offset: phys, StoreMS: ms}) {
						return nil
					}
				}
			}
			prev := entryPrev(b)
			if prev >= e {
				break
			}
			e = prev
		}
	}
	return nil
}
