package client

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/rs/zerolog"
)

// errNoOffset is what an offset store answers when it holds nothing for a queue: the
// broker said QUERY_NOT_FOUND (22), or the local file has no entry. The consumer then
// applies its consume-from-where rule.
var errNoOffset = errors.New("client: no committed offset")

// offsetStore keeps a consumer group's progress per queue: the offset of the next
// message to consume. Updates land in memory; persist writes them where they live (the
// broker for clustering, a local file for broadcasting). All methods are safe for
// concurrent use.
type offsetStore interface {
	// read returns the stored offset of mq. With fromStore it asks the backing store
	// (and caches the answer); otherwise it answers from memory only. It returns
	// errNoOffset when there is none.
	read(ctx context.Context, mq MessageQueue, fromStore bool) (int64, error)
	// update sets the in-memory offset of mq; with increaseOnly a smaller offset is
	// ignored.
	update(mq MessageQueue, offset int64, increaseOnly bool)
	// persist writes the in-memory offsets of mqs that changed since they were last
	// written. It returns the first error; the rest are still attempted.
	persist(ctx context.Context, mqs []MessageQueue) error
	// remove forgets mq (after its final offset was persisted).
	remove(mq MessageQueue)
}

// offsetEntry is one queue's offset in memory and what was last written for it.
type offsetEntry struct {
	offset    int64
	persisted int64 // -1 until written once
}

// offsetTable is the in-memory part both stores share.
type offsetTable struct {
	mu sync.Mutex
	m  map[MessageQueue]*offsetEntry
}

func newOffsetTable() offsetTable { return offsetTable{m: make(map[MessageQueue]*offsetEntry)} }

// get returns the in-memory offset of mq.
func (t *offsetTable) get(mq MessageQueue) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.m[mq]; ok {
		return e.offset, true
	}
	return 0, false
}

// set records offset for mq; persisted marks it as already written (a value read from
// the store).
func (t *offsetTable) set(mq MessageQueue, offset int64, increaseOnly, persisted bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[mq]
	if !ok {
		e = &offsetEntry{offset: offset, persisted: -1}
		t.m[mq] = e
	} else if !increaseOnly || offset > e.offset {
		e.offset = offset
	}
	if persisted {
		e.persisted = e.offset
	}
}

// dirty returns the offsets of mqs that differ from what was last written.
func (t *offsetTable) dirty(mqs []MessageQueue) map[MessageQueue]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[MessageQueue]int64)
	for _, mq := range mqs {
		if e, ok := t.m[mq]; ok && e.offset >= 0 && e.offset != e.persisted {
			out[mq] = e.offset
		}
	}
	return out
}

// written records that offset was persisted for mq (if mq is still known).
func (t *offsetTable) written(mq MessageQueue, offset int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if e, ok := t.m[mq]; ok {
		e.persisted = offset
	}
}

// delete forgets mq.
func (t *offsetTable) delete(mq MessageQueue) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, mq)
}

// snapshot copies every known offset.
func (t *offsetTable) snapshot() map[MessageQueue]int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[MessageQueue]int64, len(t.m))
	for mq, e := range t.m {
		out[mq] = e.offset
	}
	return out
}

// brokerOffsets is the part of the broker protocol the clustering offset store uses:
// QUERY_CONSUMER_OFFSET (14) and UPDATE_CONSUMER_OFFSET (15) against the master of the
// queue's broker. query returns errNoOffset for QUERY_NOT_FOUND (22).
// commit reports whether a master took the offset; one a slave took (the master was
// down) stays pending and is committed again, so it reaches the master once it is back.
type brokerOffsets interface {
	queryOffset(ctx context.Context, mq MessageQueue) (int64, error)
	commitOffset(ctx context.Context, mq MessageQueue, offset int64) (onMaster bool, err error)
}

// remoteOffsetStore keeps a clustering group's offsets on the brokers.
type remoteOffsetStore struct {
	rpc brokerOffsets
	log zerolog.Logger
	t   offsetTable
}

var _ offsetStore = (*remoteOffsetStore)(nil)

// newRemoteOffsetStore returns a store committing through rpc.
func newRemoteOffsetStore(rpc brokerOffsets, log zerolog.Logger) *remoteOffsetStore {
	return &remoteOffsetStore{rpc: rpc, log: log, t: newOffsetTable()}
}

func (s *remoteOffsetStore) read(ctx context.Context, mq MessageQueue, fromStore bool) (int64, error) {
	if !fromStore {
		if off, ok := s.t.get(mq); ok {
			return off, nil
		}
		return 0, errNoOffset
	}
	off, err := s.rpc.queryOffset(ctx, mq)
	if err != nil {
		return 0, err
	}
	s.t.set(mq, off, false, true)
	return off, nil
}

func (s *remoteOffsetStore) update(mq MessageQueue, offset int64, increaseOnly bool) {
	s.t.set(mq, offset, increaseOnly, false)
}

func (s *remoteOffsetStore) persist(ctx context.Context, mqs []MessageQueue) error {
	var first error
	for mq, off := range s.t.dirty(mqs) {
		onMaster, err := s.rpc.commitOffset(ctx, mq, off)
		if err != nil {
			if first == nil {
				first = fmt.Errorf("commit offset %d of %s: %w", off, mq, err)
			}
			continue
		}
		if onMaster {
			s.t.written(mq, off)
		}
	}
	return first
}

func (s *remoteOffsetStore) remove(mq MessageQueue) { s.t.delete(mq) }
