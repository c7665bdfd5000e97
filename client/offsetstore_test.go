package client

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"
)

// fakeOffsets is an in-memory brokerOffsets.
type fakeOffsets struct {
	mu      sync.Mutex
	stored  map[MessageQueue]int64
	commits []int64
	fail    error
	onSlave bool // commits land on a slave: the master is down
}

func (f *fakeOffsets) queryOffset(_ context.Context, mq MessageQueue) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return 0, f.fail
	}
	off, ok := f.stored[mq]
	if !ok {
		return 0, errNoOffset
	}
	return off, nil
}

func (f *fakeOffsets) commitOffset(_ context.Context, mq MessageQueue, off int64) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return false, f.fail
	}
	f.stored[mq] = off
	f.commits = append(f.commits, off)
	return !f.onSlave, nil
}

var (
	mqA = MessageQueue{Topic: "T", BrokerName: "broker-a", QueueID: 0}
	mqB = MessageQueue{Topic: "T", BrokerName: "broker-a", QueueID: 1}
)

func TestRemoteOffsetStore(t *testing.T) {
	rpc := &fakeOffsets{stored: map[MessageQueue]int64{mqA: 40}}
	s := newRemoteOffsetStore(rpc, zerolog.Nop())
	ctx := context.Background()
	if _, err := s.read(ctx, mqA, false); !errors.Is(err, errNoOffset) {
		t.Fatalf("memory read before load: %v, want errNoOffset", err)
	}
	if off, err := s.read(ctx, mqA, true); err != nil || off != 40 {
		t.Fatalf("store read: %d, %v; want 40", off, err)
	}
	if _, err := s.read(ctx, mqB, true); !errors.Is(err, errNoOffset) {
		t.Fatalf("store read of unknown queue: %v", err)
	}
	// A value read from the store is not written back.
	if err := s.persist(ctx, []MessageQueue{mqA, mqB}); err != nil || len(rpc.commits) != 0 {
		t.Fatalf("persist of clean offsets: %v, commits %v", err, rpc.commits)
	}
	s.update(mqA, 45, true)
	s.update(mqA, 44, true) // increase only: ignored
	if off, _ := s.read(ctx, mqA, false); off != 45 {
		t.Fatalf("memory offset %d, want 45", off)
	}
	if err := s.persist(ctx, []MessageQueue{mqA}); err != nil || len(rpc.commits) != 1 || rpc.stored[mqA] != 45 {
		t.Fatalf("persist: %v, commits %v stored %d", err, rpc.commits, rpc.stored[mqA])
	}
	if err := s.persist(ctx, []MessageQueue{mqA}); err != nil || len(rpc.commits) != 1 {
		t.Fatalf("second persist sent again: %v", rpc.commits)
	}
	s.update(mqA, 30, false) // a reset may go backwards
	rpc.fail = errors.New("broker down")
	if err := s.persist(ctx, []MessageQueue{mqA}); err == nil || !strings.Contains(err.Error(), "broker down") {
		t.Fatalf("failed persist: %v", err)
	}
	rpc.fail = nil
	if err := s.persist(ctx, []MessageQueue{mqA}); err != nil || rpc.stored[mqA] != 30 {
		t.Fatalf("retried persist: %v, stored %d", err, rpc.stored[mqA])
	}
	s.remove(mqA)
	if _, err := s.read(ctx, mqA, false); !errors.Is(err, errNoOffset) {
		t.Fatalf("read after remove: %v", err)
	}
}

func TestLocalOffsetStoreRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c@1", "g", offsetFileName)
	s, err := openLocalOffsetStore(path, "g")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.read(ctx, mqA, true); !errors.Is(err, errNoOffset) {
		t.Fatalf("fresh store read: %v", err)
	}
	s.update(mqA, 12, false)
	s.update(mqB, 7, false)
	if err := s.persist(ctx, []MessageQueue{mqA, mqB}); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"group":"g","offsets":[{"topic":"T","brokerName":"broker-a","queueId":0,"offset":12},{"topic":"T","brokerName":"broker-a","queueId":1,"offset":7}]}` + "\n"
	if string(raw) != want {
		t.Fatalf("file:\n%s\nwant:\n%s", raw, want)
	}
	s.remove(mqA) // broadcasting keeps every queue's offset
	s2, err := openLocalOffsetStore(path, "g")
	if err != nil {
		t.Fatal(err)
	}
	for mq, want := range map[MessageQueue]int64{mqA: 12, mqB: 7} {
		if off, err := s2.read(ctx, mq, true); err != nil || off != want {
			t.Errorf("reopened %v: %d, %v; want %d", mq, off, err, want)
		}
	}
	if _, err := openLocalOffsetStore(path, "other"); !errors.Is(err, ErrBadOffsetFile) {
		t.Fatalf("open as another group: %v", err)
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*.tmp*"))
	if len(matches) != 0 {
		t.Fatalf("temporary files left: %v", matches)
	}
}

func TestDecodeOffsetFileRejects(t *testing.T) {
	for name, in := range map[string]string{
		"not json":       `{"group":`,
		"unknown field":  `{"group":"g","offsets":[],"x":1}`,
		"trailing data":  `{"group":"g","offsets":[]} {}`,
		"negative":       `{"group":"g","offsets":[{"topic":"T","brokerName":"b","queueId":0,"offset":-1}]}`,
		"negative queue": `{"group":"g","offsets":[{"topic":"T","brokerName":"b","queueId":-3,"offset":1}]}`,
		"empty topic":    `{"group":"g","offsets":[{"topic":"","brokerName":"b","queueId":0,"offset":1}]}`,
		"duplicate":      `{"group":"g","offsets":[{"topic":"T","brokerName":"b","queueId":0,"offset":1},{"topic":"T","brokerName":"b","queueId":0,"offset":2}]}`,
		"string offset":  `{"group":"g","offsets":[{"topic":"T","brokerName":"b","queueId":0,"offset":"1"}]}`,
		"too large":      strings.Repeat(" ", maxOffsetFileBytes+1),
	} {
		if _, _, err := decodeOffsetFile([]byte(in)); !errors.Is(err, ErrBadOffsetFile) {
			t.Errorf("%s: %v, want ErrBadOffsetFile", name, err)
		}
	}
}

func TestSafePathPart(t *testing.T) {
	for in, want := range map[string]string{"10.0.0.1@123": "10.0.0.1@123", "../x": "_.._x", "a/b": "a_b", "": "_"} {
		if got := safePathPart(in); got != want {
			t.Errorf("safePathPart(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzOffsetFile: decoding never panics, and whatever decodes re-encodes to a file that
// decodes to the same group and offsets.
func FuzzOffsetFile(f *testing.F) {
	f.Add([]byte(`{"group":"g","offsets":[{"topic":"T","brokerName":"broker-a","queueId":0,"offset":12}]}`))
	f.Add(encodeOffsetFile("cg", map[MessageQueue]int64{mqA: 1, mqB: 1 << 40}))
	f.Add([]byte(`{"group":"","offsets":null}`))
	f.Add([]byte(`{"offsets":[{"topic":"%RETRY%g","brokerName":"b","queueId":2147483647,"offset":9223372036854775807}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		group, m, err := decodeOffsetFile(data)
		if err != nil {
			if !errors.Is(err, ErrBadOffsetFile) {
				t.Fatalf("error does not wrap ErrBadOffsetFile: %v", err)
			}
			return
		}
		again := encodeOffsetFile(group, m)
		g2, m2, err := decodeOffsetFile(again)
		if err != nil {
			t.Fatalf("re-encoded file does not decode: %v\n%s", err, again)
		}
		if g2 != group || len(m2) != len(m) {
			t.Fatalf("round trip: group %q→%q, %d→%d entries", group, g2, len(m), len(m2))
		}
		for mq, off := range m {
			if m2[mq] != off {
				t.Fatalf("round trip of %v: %d→%d", mq, off, m2[mq])
			}
		}
	})
}
