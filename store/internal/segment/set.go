package segment

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Set is the ordered run of contiguous, equal-sized segment files of one log (the
// CommitLog, or one ConsumeQueue). Readers look files up without locking through an
// immutable snapshot; the single writer appends at the end and retention removes from
// the front, each publishing a new snapshot.
type Set struct {
	dir  string
	size int64

	mu    sync.Mutex // serializes Append and RemoveFirst
	files atomic.Pointer[[]*File]
}

// NewSet returns an empty set of files of size bytes in dir.
func NewSet(dir string, size int64) *Set {
	s := &Set{dir: dir, size: size}
	s.files.Store(&[]*File{})
	return s
}

// Dir returns the directory of the set.
func (s *Set) Dir() string { return s.dir }

// FileSize returns the size of every file of the set.
func (s *Set) FileSize() int64 { return s.size }

// Files returns the current files in offset order. The slice must not be modified.
func (s *Set) Files() []*File { return *s.files.Load() }

// Len returns the number of files.
func (s *Set) Len() int { return len(*s.files.Load()) }

// First returns the first file, nil if the set is empty.
func (s *Set) First() *File {
	fs := *s.files.Load()
	if len(fs) == 0 {
		return nil
	}
	return fs[0]
}

// Last returns the last file, nil if the set is empty.
func (s *Set) Last() *File {
	fs := *s.files.Load()
	if len(fs) == 0 {
		return nil
	}
	return fs[len(fs)-1]
}

// Find returns the file that holds the absolute offset off, nil if none does. It is O(1):
// files are contiguous and equal-sized.
func (s *Set) Find(off int64) *File {
	fs := *s.files.Load()
	if len(fs) == 0 || off < fs[0].start {
		return nil
	}
	i := (off - fs[0].start) / s.size
	if i >= int64(len(fs)) {
		return nil
	}
	return fs[i]
}

// Append adds f at the end. f must start where the last file ends (or anywhere if the
// set is empty) and have the set's size.
func (s *Set) Append(f *File) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.files.Load()
	if f.size != s.size {
		return fmt.Errorf("segment: append %s: size %d, set has %d", f.path, f.size, s.size)
	}
	if n := len(old); n > 0 && old[n-1].End() != f.start {
		return fmt.Errorf("segment: append %s: starts at %d, last file ends at %d", f.path, f.start, old[n-1].End())
	}
	next := make([]*File, len(old), len(old)+1)
	copy(next, old)
	next = append(next, f)
	s.files.Store(&next)
	return nil
}

// RemoveFirst takes the first file out of the set and returns it (nil if empty). The
// caller disposes of it, normally through a Grave so that readers holding slices of it
// finish first.
func (s *Set) RemoveFirst() *File {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.files.Load()
	if len(old) == 0 {
		return nil
	}
	next := append([]*File(nil), old[1:]...)
	s.files.Store(&next)
	return old[0]
}

// RemoveLast takes the last file out of the set and returns it (nil if empty). Recovery
// uses it to drop files wholly past a cut.
func (s *Set) RemoveLast() *File {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := *s.files.Load()
	if len(old) == 0 {
		return nil
	}
	next := append([]*File(nil), old[:len(old)-1]...)
	s.files.Store(&next)
	return old[len(old)-1]
}

// Close closes every file and empties the set.
func (s *Set) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var first error
	for _, f := range *s.files.Load() {
		if err := f.Close(); err != nil && first == nil {
			first = err
		}
	}
	s.files.Store(&[]*File{})
	return first
}

// Grave holds files taken out of service whose mappings must outlive the readers that
// may still hold slices of them. A buried file is unlinked at once and unmapped (which
// releases its disk space) once its grace period has passed.
type Grave struct {
	grace time.Duration

	mu    sync.Mutex
	items []buried
	// bytes is written under mu and read without it: the disk guard asks for it on
	// every append.
	bytes atomic.Int64
}

type buried struct {
	f  *File
	at time.Time
}

// NewGrave returns a grave that keeps mappings for grace.
func NewGrave(grace time.Duration) *Grave { return &Grave{grace: grace} }

// Bury unlinks f and schedules its unmapping at now+grace. The unlink error, if any, is
// returned; the file is buried regardless.
func (g *Grave) Bury(f *File, now time.Time) error {
	err := f.Remove()
	g.mu.Lock()
	g.items = append(g.items, buried{f: f, at: now.Add(g.grace)})
	g.bytes.Add(f.size)
	g.mu.Unlock()
	return err
}

// Pending returns the bytes of buried files not yet unmapped: disk space that will be
// released by Reap.
func (g *Grave) Pending() int64 {
	return g.bytes.Load()
}

// Reap closes every file whose grace has passed at now and returns how many it closed.
func (g *Grave) Reap(now time.Time) int {
	g.mu.Lock()
	var due []*File
	keep := g.items[:0]
	for _, it := range g.items {
		if !now.Before(it.at) {
			due = append(due, it.f)
			g.bytes.Add(-it.f.size)
		} else {
			keep = append(keep, it)
		}
	}
	clear(g.items[len(keep):])
	g.items = keep
	g.mu.Unlock()
	for _, f := range due {
		_ = f.Close()
	}
	return len(due)
}

// Close unmaps every buried file at once (the store is closing: no reader may use its
// slices any more).
func (g *Grave) Close() {
	g.mu.Lock()
	items := g.items
	g.items = nil
	g.bytes.Store(0)
	g.mu.Unlock()
	for _, it := range items {
		_ = it.f.Close()
	}
}
