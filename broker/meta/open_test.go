package meta

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/store/diskguard"
)

// TestReopensWhenSpaceReturns: a database opened on a critically full disk is
// read-only — reads see what was stored, writes fail with diskguard.ErrFull — and the
// first write after space returns reopens it read-write by itself, while readers scan
// it concurrently and never see it closed.
func TestReopensWhenSpaceReturns(t *testing.T) {
	dir := t.TempDir()
	// The credit moves the guard's view of free space: minus the whole disk is critical.
	var credit atomic.Int64
	g := diskguard.New(diskguard.Options{Dir: dir, RefuseRatio: 2, Credit: credit.Load, Logger: zerolog.Nop()})

	m, err := Open(dir, zerolog.Nop(), g)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.applyRaw(1, func(put func(k, v []byte) error) error { return put(OffsetKey("T", "g", 0), []byte{8, 42}) }, true); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	credit.Store(-g.Total())
	g.Refresh()
	m, err = Open(dir, zerolog.Nop(), g)
	if err != nil {
		t.Fatalf("open on a critically full disk: %v", err)
	}
	defer m.Close()
	if !m.readOnly {
		t.Fatal("opened read-write on a critically full disk")
	}
	countOffsets := func() (int, error) {
		n := 0
		err := m.scan([]byte{prefixOffset}, func(k, v []byte) error { n++; return nil })
		return n, err
	}
	if n, err := countOffsets(); err != nil || n != 1 {
		t.Fatalf("read-only scan: %d offsets, %v; want 1", n, err)
	}
	write := func(q int32) error {
		return m.applyRaw(1, func(put func(k, v []byte) error) error { return put(OffsetKey("T", "g", q), []byte{8, 7}) }, false)
	}
	if err := write(1); !errors.Is(err, diskguard.ErrFull) {
		t.Fatalf("write on a critically full disk: %v, want diskguard.ErrFull", err)
	}

	// Readers scan throughout the reopen.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var readErr atomic.Value
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if n, err := countOffsets(); err != nil || n < 1 {
					readErr.Store(errors.Join(err, errors.New("scan lost the stored offset")))
					return
				}
			}
		}()
	}
	credit.Store(0)
	testutil.Eventually(t, 5*time.Second, "a write once space returned", func() bool {
		err := write(1)
		if err != nil && !errors.Is(err, diskguard.ErrFull) {
			t.Fatalf("write after space returned: %v", err)
		}
		return err == nil
	})
	close(stop)
	wg.Wait()
	if err, _ := readErr.Load().(error); err != nil {
		t.Fatalf("concurrent reader during the reopen: %v", err)
	}
	if m.readOnly {
		t.Fatal("still read-only after a successful write")
	}
	if n, err := countOffsets(); err != nil || n != 2 {
		t.Fatalf("after the reopen: %d offsets, %v; want 2", n, err)
	}
}
