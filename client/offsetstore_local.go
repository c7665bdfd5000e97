package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"

	"github.com/rocketgo/rocketgo/internal/atomicfile"
)

// Local offset file. A broadcasting consumer keeps its progress on its own disk, one
// file per client id and group:
//
//	<dir>/<clientID>/<group>/offsets.json     dir defaults to $HOME/.rocketgo
//
//	{"group":"g","offsets":[{"topic":"T","brokerName":"broker-a","queueId":0,"offset":42}, ...]}
//
// Entries are sorted (topic, broker name, queue id), so the file is stable between
// writes. The file is replaced atomically: the new content goes to a temporary file in
// the same directory, which is synced, renamed over offsets.json, and the directory is
// synced, so a crash leaves either the old or the new file, never a torn one.
const (
	offsetFileName = "offsets.json"
	// maxOffsetFileBytes bounds what is read back: a broadcasting consumer has a few
	// thousand queues at most, about 100 bytes each.
	maxOffsetFileBytes = 16 << 20
	// maxOffsetEntries bounds the decoded entries for the same reason.
	maxOffsetEntries = 1 << 17
)

// ErrBadOffsetFile marks a local offset file that cannot be used: unreadable, too
// large, or not the JSON this client writes. Start fails with it rather than starting
// from some other offset: the operator decides (delete the file to start afresh).
var ErrBadOffsetFile = errors.New("client: bad local offset file")

// offsetFile is the JSON form of the local offset file.
type offsetFile struct {
	Group   string            `json:"group"`
	Offsets []offsetFileEntry `json:"offsets"`
}

// offsetFileEntry is one queue's offset in the file.
type offsetFileEntry struct {
	Topic      string `json:"topic"`
	BrokerName string `json:"brokerName"`
	QueueID    int32  `json:"queueId"`
	Offset     int64  `json:"offset"`
}

// encodeOffsetFile returns the file content for group and offsets.
func encodeOffsetFile(group string, offsets map[MessageQueue]int64) []byte {
	f := offsetFile{Group: group, Offsets: make([]offsetFileEntry, 0, len(offsets))}
	for mq, off := range offsets {
		f.Offsets = append(f.Offsets, offsetFileEntry{Topic: mq.Topic, BrokerName: mq.BrokerName, QueueID: mq.QueueID, Offset: off})
	}
	slices.SortFunc(f.Offsets, func(a, b offsetFileEntry) int {
		return cmpQueue(MessageQueue{Topic: a.Topic, BrokerName: a.BrokerName, QueueID: a.QueueID},
			MessageQueue{Topic: b.Topic, BrokerName: b.BrokerName, QueueID: b.QueueID})
	})
	b, err := json.Marshal(f)
	if err != nil {
		// Only strings and integers: marshalling cannot fail.
		panic(fmt.Sprintf("client: marshal offsets: %v", err))
	}
	return append(b, '\n')
}

// decodeOffsetFile parses a local offset file. Unknown fields are rejected (a file of
// some other program is not silently taken for ours); negative offsets, empty topics
// and broker names, negative queue ids and repeated queues are errors. Errors wrap
// ErrBadOffsetFile.
func decodeOffsetFile(b []byte) (string, map[MessageQueue]int64, error) {
	if len(b) > maxOffsetFileBytes {
		return "", nil, fmt.Errorf("%w: %d bytes, at most %d", ErrBadOffsetFile, len(b), maxOffsetFileBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f offsetFile
	if err := dec.Decode(&f); err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrBadOffsetFile, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", nil, fmt.Errorf("%w: data after the JSON object", ErrBadOffsetFile)
	}
	if len(f.Offsets) > maxOffsetEntries {
		return "", nil, fmt.Errorf("%w: %d entries, at most %d", ErrBadOffsetFile, len(f.Offsets), maxOffsetEntries)
	}
	out := make(map[MessageQueue]int64, len(f.Offsets))
	for i, e := range f.Offsets {
		mq := MessageQueue{Topic: e.Topic, BrokerName: e.BrokerName, QueueID: e.QueueID}
		switch {
		case e.Topic == "" || e.BrokerName == "":
			return "", nil, fmt.Errorf("%w: entry %d: empty topic or broker name", ErrBadOffsetFile, i)
		case e.QueueID < 0 || e.Offset < 0:
			return "", nil, fmt.Errorf("%w: entry %d: negative queue id or offset", ErrBadOffsetFile, i)
		}
		if _, dup := out[mq]; dup {
			return "", nil, fmt.Errorf("%w: entry %d: %s listed twice", ErrBadOffsetFile, i, mq)
		}
		out[mq] = e.Offset
	}
	return f.Group, out, nil
}

// readOffsetFile reads path, bounded by maxOffsetFileBytes. A missing file is an empty
// table.
func readOffsetFile(path string) (string, map[MessageQueue]int64, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return "", map[MessageQueue]int64{}, nil
	}
	if err != nil {
		return "", nil, fmt.Errorf("%w: %s: %v", ErrBadOffsetFile, path, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxOffsetFileBytes+1))
	if err != nil {
		return "", nil, fmt.Errorf("%w: %s: %v", ErrBadOffsetFile, path, err)
	}
	group, m, err := decodeOffsetFile(b)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	return group, m, nil
}

// localOffsetStore keeps a broadcasting consumer's offsets in a local file.
type localOffsetStore struct {
	path  string
	group string
	t     offsetTable
	wmu   sync.Mutex // serializes file writes
}

var _ offsetStore = (*localOffsetStore)(nil)

// openLocalOffsetStore loads (or starts) the offset file at path for group.
func openLocalOffsetStore(path, group string) (*localOffsetStore, error) {
	fileGroup, m, err := readOffsetFile(path)
	if err != nil {
		return nil, err
	}
	if fileGroup != "" && fileGroup != group {
		return nil, fmt.Errorf("%w: %s belongs to group %q, not %q", ErrBadOffsetFile, path, fileGroup, group)
	}
	s := &localOffsetStore{path: path, group: group, t: newOffsetTable()}
	for mq, off := range m {
		s.t.set(mq, off, false, true)
	}
	return s, nil
}

func (s *localOffsetStore) read(_ context.Context, mq MessageQueue, _ bool) (int64, error) {
	// The file was loaded at open and every update goes through memory, so memory is
	// the store.
	if off, ok := s.t.get(mq); ok {
		return off, nil
	}
	return 0, errNoOffset
}

func (s *localOffsetStore) update(mq MessageQueue, offset int64, increaseOnly bool) {
	s.t.set(mq, offset, increaseOnly, false)
}

// persist rewrites the whole file when any of mqs changed: the file holds every queue
// the consumer ever read, including ones it no longer has (a later rebalance may give
// them back).
func (s *localOffsetStore) persist(_ context.Context, mqs []MessageQueue) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	dirty := s.t.dirty(mqs)
	if len(dirty) == 0 {
		return nil
	}
	if err := atomicfile.WriteFile(s.path, encodeOffsetFile(s.group, s.t.snapshot()), 0o644); err != nil {
		return fmt.Errorf("write offsets %s: %w", s.path, err)
	}
	for mq, off := range dirty {
		s.t.written(mq, off)
	}
	return nil
}

// remove keeps the entry: a broadcasting consumer's file remembers every queue, and
// only the file is the store.
func (s *localOffsetStore) remove(MessageQueue) {}
