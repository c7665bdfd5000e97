package store

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/message"
)

// flushModes is the permutation every store behaviour test runs under.
var flushModes = []FlushMode{AsyncFlush, SyncFlush}

// forEachMode runs fn as a subtest once per flush mode.
func forEachMode(t *testing.T, fn func(t *testing.T, mode FlushMode)) {
	t.Helper()
	for _, m := range flushModes {
		t.Run(string(m), func(t *testing.T) { fn(t, m) })
	}
}

// testOptions returns options with small files so that tests roll segments and
// ConsumeQueue files often.
func testOptions(t testing.TB, mode FlushMode) Options {
	t.Helper()
	o := DefaultOptions()
	o.Dir = filepath.Join(t.TempDir(), "store")
	o.CommitLogSegmentBytes = 64 << 10
	o.ConsumeQueueUnits = 64
	o.FlushMode = mode
	o.FlushInterval = 5 * time.Millisecond
	o.CheckpointInterval = 20 * time.Millisecond
	o.MaxMessageBytes = 16 << 10
	o.DiskWarnRatio, o.DiskMaxRatio = 1, 1
	// The machine's own disk usage must not decide retention: above 75 % a real store
	// deletes expired segments at once, which the retention tests check happens only at
	// deleteWhen (their own disk-pressure tests set a guard of their own).
	o.DiskMaxUsedSpaceRatio = 100
	// Key index files sized for tests: Apache's default (5 M slots, 20 M entries) is a
	// 20 MB file and a 20 MB slot array per store, which hundreds of opens in the
	// recovery tests pay for nothing.
	o.MaxHashSlotNum, o.MaxIndexNum = 4096, 65536
	o.Logger = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	return o
}

// openT opens a store and closes it at the end of the test unless it was closed.
func openT(t testing.TB, o Options) *Store {
	t.Helper()
	s, err := Open(o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// msg describes a test message.
type msg struct {
	topic string
	queue int32
	body  []byte
	tags  string
	keys  string
	uniq  string
	tx    int32
}

var (
	bornHost  = netip.MustParseAddrPort("10.0.0.1:40000")
	storeHost = netip.MustParseAddrPort("10.0.0.2:10911")
)

// encode returns the v1 record of m with placeholder offsets.
func encode(t testing.TB, m msg) []byte {
	t.Helper()
	props := map[string]string{}
	if m.tags != "" {
		props[message.PropTags] = m.tags
	}
	if m.keys != "" {
		props[message.PropKeys] = m.keys
	}
	if m.uniq != "" {
		props[message.PropUniqKey] = m.uniq
	}
	rec, err := message.EncodeRecord(nil, &message.Ext{
		Topic:         m.topic,
		QueueID:       m.queue,
		SysFlag:       m.tx,
		BornTimestamp: 1700000000000,
		BornHost:      bornHost,
		StoreHost:     storeHost,
		Body:          m.body,
		Properties:    props,
	})
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	return rec
}

// body returns a deterministic body for message i.
func body(i, n int) []byte {
	b := bytes.Repeat([]byte{byte('a' + i%26)}, n)
	copy(b, fmt.Sprintf("m%08d|", i))
	return b
}

// put appends m and fails the test on error.
func put(t testing.TB, s *Store, m msg) PutResult {
	t.Helper()
	r, err := s.Put(encode(t, m))
	if err != nil {
		t.Fatalf("put %s/%d: %v", m.topic, m.queue, err)
	}
	return r
}

// syncDispatch waits until everything appended is in the ConsumeQueues.
func syncDispatch(t testing.TB, s *Store) {
	t.Helper()
	if err := s.waitDispatched(s.cl.Written()); err != nil {
		t.Fatalf("wait dispatched: %v", err)
	}
}

// checkRecord decodes rec and compares the fields the store owns or keeps.
func checkRecord(t testing.TB, rec []byte, m msg, queueOffset, phys int64) {
	t.Helper()
	e, n, err := message.DecodeRecord(rec)
	if err != nil {
		t.Fatalf("decode record at %d: %v", phys, err)
	}
	if n != len(rec) {
		t.Fatalf("record at %d: size %d, slice %d", phys, n, len(rec))
	}
	if e.Topic != m.topic || e.QueueID != m.queue || !bytes.Equal(e.Body, m.body) {
		t.Fatalf("record at %d: got %s/%d body %q, want %s/%d body %q", phys, e.Topic, e.QueueID, e.Body, m.topic, m.queue, m.body)
	}
	if e.QueueOffset != queueOffset || e.PhysicalOffset != phys {
		t.Fatalf("record at %d: queue offset %d phys %d, want %d %d", phys, e.QueueOffset, e.PhysicalOffset, queueOffset, phys)
	}
	if e.StoreTimestamp == 0 {
		t.Fatalf("record at %d: store timestamp not set", phys)
	}
}

// copyDir copies a store directory (without its lock holder) for fault injection.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, fi.Mode())
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

// waitCtx returns a context that ends with the test's deadline budget.
func waitCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
