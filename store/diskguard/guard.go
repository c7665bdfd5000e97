// Package diskguard tracks the free space of the file system under a directory cheaply
// enough to be asked before every write, and tells each kind of writer whether it may
// write. The store's appends, the key index's files and the pebble databases (broker
// metadata, schedule index) share one Guard, so the metadata writers always keep headroom below
// the point where sends are refused and never meet ENOSPC from the broker's own writes.
//
// Free space is measured with statfs and then tracked as writes consume it: Consume
// subtracts what an append used, a fresh statfs is taken once the bytes consumed since
// the last one exceed a step (a small fraction of what was free) or the last one is
// older than Recheck, so a disk filled by another process is seen within Recheck.
// Space freed but not yet returned by the kernel (a deleted segment still mapped for
// its readers) is credited at once through the Credit function.
package diskguard

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"
)

// ErrFull reports a write refused because the disk is (nearly) full. Writers turn it
// into a clean refusal and retry once the guard lets them.
var ErrFull = errors.New("disk full")

// Recheck bounds the age of the free-space figure the guard decides on.
const Recheck = 100 * time.Millisecond

// Level is what the guard currently allows.
type Level int32

// Levels, in order of decreasing free space.
const (
	// OK: every writer may write.
	OK Level = iota
	// Full: appends (sends) are refused; metadata writers still have headroom.
	Full
	// Critical: below half the reserve; metadata writers pause too.
	Critical
)

func (l Level) String() string {
	switch l {
	case OK:
		return "ok"
	case Full:
		return "full"
	}
	return "critical"
}

// Options configures a Guard.
type Options struct {
	// Dir is any directory on the watched file system.
	Dir string
	// RefuseRatio is the used fraction at or above which appends are refused
	// (diskSpaceWarningLevelRatio).
	RefuseRatio float64
	// Reserve is the free space kept for metadata writers: appends are also refused
	// when less than Reserve would remain, and metadata writes pause below Reserve/2.
	// Zero picks DefaultReserve of the file system's size.
	Reserve int64
	// Credit returns bytes already freed but not yet returned by the file system
	// (deleted files still open or mapped); they count as free. Optional.
	Credit func() int64
	// Logger receives one line per level change.
	Logger zerolog.Logger
}

// DefaultReserve is the reserve for a file system of total bytes: 1/8 of it, at least
// 4 MiB and at most 256 MiB. It covers the pebble memtables, their WALs and the
// flushes and compactions they trigger, the key index's files (allocated 4 MiB ahead of
// their writer), the ConsumeQueue files and the checkpoint.
func DefaultReserve(total int64) int64 {
	return min(max(total/8, 4<<20), 256<<20)
}

// Guard decides, from the tracked free space, which writers may write. All methods are
// safe for concurrent use; Allow and Level cost an atomic load and a clock read unless
// a statfs is due.
type Guard struct {
	o        Options
	level    atomic.Int32
	total    atomic.Int64
	free     atomic.Int64 // bytes available to unprivileged writers at the last statfs
	consumed atomic.Int64 // bytes written since the last statfs
	step     atomic.Int64 // consumed bytes that make the next statfs due
	lastStat atomic.Int64 // unix ns of the last statfs
	reserve  atomic.Int64

	mu      sync.Mutex // one statfs and level change at a time
	statErr string
}

// New returns a guard for o.Dir and measures the disk once.
func New(o Options) *Guard {
	g := &Guard{o: o}
	g.Refresh()
	return g
}

// Refresh measures the file system now and updates the level, logging a change.
func (g *Guard) Refresh() Level {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refreshLocked()
}

// refreshLocked is Refresh with g.mu held.
func (g *Guard) refreshLocked() Level {
	var st unix.Statfs_t
	if err := unix.Statfs(g.o.Dir, &st); err != nil {
		if err.Error() != g.statErr {
			g.statErr = err.Error()
			g.o.Logger.Warn().Err(err).Str("dir", g.o.Dir).Msg("statfs failed; disk level unchanged")
		}
		g.lastStat.Store(time.Now().UnixNano())
		return Level(g.level.Load())
	}
	g.statErr = ""
	total := int64(st.Blocks) * int64(st.Bsize)
	free := int64(st.Bavail) * int64(st.Bsize)
	g.total.Store(total)
	g.free.Store(free)
	g.consumed.Store(0)
	g.step.Store(max(free/64, 64<<10))
	reserve := g.o.Reserve
	if reserve <= 0 {
		reserve = DefaultReserve(total)
	}
	g.reserve.Store(reserve)
	g.lastStat.Store(time.Now().UnixNano())
	g.setLevel(g.compute())
	return Level(g.level.Load())
}

// available returns the free bytes as tracked: measured, minus consumed since, plus
// credited.
func (g *Guard) available() int64 {
	a := g.free.Load() - g.consumed.Load()
	if g.o.Credit != nil {
		a += g.o.Credit()
	}
	return a
}

func (g *Guard) compute() Level {
	total, avail, reserve := g.total.Load(), g.available(), g.reserve.Load()
	if total <= 0 {
		return OK
	}
	switch {
	case avail < reserve/2:
		return Critical
	case avail < reserve || float64(total-avail)/float64(total) >= g.o.RefuseRatio:
		return Full
	}
	return OK
}

// setLevel stores l and logs the change once. Callers hold mu.
func (g *Guard) setLevel(l Level) {
	old := Level(g.level.Swap(int32(l)))
	if old == l {
		return
	}
	ev := g.o.Logger.Warn()
	msg := "disk full: sends refused until space returns; pulls and queries are served"
	switch l {
	case OK:
		ev, msg = g.o.Logger.Info(), "disk space available again: sends accepted"
	case Critical:
		ev = g.o.Logger.Error()
		msg = "disk critically full: sends refused and metadata writes paused until space returns"
	}
	ev.Str("dir", g.o.Dir).Str("from", old.String()).Float64("usage", g.Usage()).
		Int64("free", g.available()).Int64("reserve", g.reserve.Load()).Msg(msg)
}

// Level returns the current level, measuring the disk first when the last measure is
// older than Recheck or the bytes consumed since exceed the step.
func (g *Guard) Level() Level {
	if g.stale() && g.mu.TryLock() {
		// One caller measures; the others, every producer of a busy broker once the
		// figure is due, go on with the level as it stands rather than queue for a
		// statfs each.
		defer g.mu.Unlock()
		if g.stale() {
			return g.refreshLocked()
		}
	}
	return Level(g.level.Load())
}

// stale reports whether the free-space figure is due to be measured again.
func (g *Guard) stale() bool {
	return time.Now().UnixNano()-g.lastStat.Load() >= int64(Recheck) || g.consumed.Load() >= g.step.Load()
}

// AllowAppend returns nil if an append of n bytes may proceed, or an error wrapping
// ErrFull that names the usage and the limit.
func (g *Guard) AllowAppend(n int64) error {
	if g.Level() == OK && g.available()-n >= g.reserve.Load() {
		return nil
	}
	return fmt.Errorf("%w: %s is %.1f%% used (%d MiB free); sends are refused above %.1f%% or below %d MiB free and resume by themselves",
		ErrFull, g.o.Dir, 100*g.Usage(), g.available()>>20, 100*g.o.RefuseRatio, g.reserve.Load()>>20)
}

// AllowMeta returns nil if a metadata writer (pebble commit, checkpoint) may write, or
// an error wrapping ErrFull.
func (g *Guard) AllowMeta() error {
	if g == nil || g.Level() != Critical {
		return nil
	}
	return fmt.Errorf("%w: %s has %d KiB free, below the %d KiB kept for metadata; writes resume when space returns",
		ErrFull, g.o.Dir, g.available()>>10, g.reserve.Load()>>11)
}

// Consume records n bytes written (or allocated) since the last statfs.
func (g *Guard) Consume(n int64) {
	if g.consumed.Add(n) >= g.step.Load() {
		g.Refresh()
	}
}

// Usage returns the used fraction as tracked.
func (g *Guard) Usage() float64 {
	total := g.total.Load()
	if total <= 0 {
		return 0
	}
	return float64(total-g.available()) / float64(total)
}

// Free returns the free bytes as tracked (credit included).
func (g *Guard) Free() int64 { return g.available() }

// Total returns the size of the file system.
func (g *Guard) Total() int64 { return g.total.Load() }

// Reserve returns the bytes kept for metadata writers.
func (g *Guard) Reserve() int64 { return g.reserve.Load() }
