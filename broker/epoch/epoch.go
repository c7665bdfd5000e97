// Package epoch keeps a broker's epoch file (docs/failover.md §4): for every master
// epoch the broker's CommitLog holds records of, the offset where that epoch's records
// start. Replicas compare their files to find the end of the log they share.
//
// The file, <storePathRootDir>/epochFileCheckpoint, is text, one entry a line, epochs
// ascending, start offsets non-decreasing:
//
//	<epoch> <startOffset>\n
//
// It is replaced whole (write a temporary file, fsync, rename, fsync the directory),
// so a crash leaves the old or the new file, never a mix.
package epoch

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// FileName is the epoch file's name in the store directory (Apache's
// epochFileCheckpoint).
const FileName = "epochFileCheckpoint"

// maxEntries bounds the file: one entry per election that reached this broker.
const maxEntries = 1 << 16

// Entry is one epoch: its records start at Start.
type Entry struct {
	Epoch int32
	Start int64
}

// File is the epoch file of one store, safe for concurrent use.
type File struct {
	path string
	mu   sync.Mutex
	es   []Entry
}

// Open reads the epoch file in dir; a missing file is an empty list.
func Open(dir string) (*File, error) {
	f := &File{path: filepath.Join(dir, FileName)}
	b, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("epoch: %w", err)
	}
	es, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("epoch: %s: %w", f.path, err)
	}
	f.es = es
	return f, nil
}

// Parse decodes the file's bytes, checking the order of the entries.
func Parse(b []byte) ([]Entry, error) {
	var es []Entry
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		a, c, ok := strings.Cut(line, " ")
		ep, err1 := strconv.ParseInt(a, 10, 32)
		st, err2 := strconv.ParseInt(c, 10, 64)
		if !ok || err1 != nil || err2 != nil || ep <= 0 || st < 0 {
			return nil, fmt.Errorf("line %d: %q is not \"<epoch> <startOffset>\"", n, line)
		}
		e := Entry{Epoch: int32(ep), Start: st}
		if k := len(es); k > 0 && (e.Epoch <= es[k-1].Epoch || e.Start < es[k-1].Start) {
			return nil, fmt.Errorf("line %d: epoch %d at %d does not follow epoch %d at %d", n, e.Epoch, e.Start, es[k-1].Epoch, es[k-1].Start)
		}
		if len(es) == maxEntries {
			return nil, fmt.Errorf("more than %d entries", maxEntries)
		}
		es = append(es, e)
	}
	return es, nil
}

// Entries returns a copy of the entries.
func (f *File) Entries() []Entry {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Entry(nil), f.es...)
}

// Last returns the last entry, ok false when there is none.
func (f *File) Last() (Entry, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.es) == 0 {
		return Entry{}, false
	}
	return f.es[len(f.es)-1], true
}

// Append adds epoch e starting at start, durably; entries of later epochs (a stale
// future) are replaced. An epoch already last in the file keeps its start: a master
// restarted within its epoch continues it.
func (f *File) Append(e Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if k := len(f.es); k > 0 && f.es[k-1].Epoch == e.Epoch {
		return nil
	}
	es := append([]Entry(nil), f.es...)
	for len(es) > 0 && (es[len(es)-1].Epoch >= e.Epoch || es[len(es)-1].Start > e.Start) {
		es = es[:len(es)-1]
	}
	return f.writeLocked(append(es, e))
}

// Replace sets the entries, durably (a slave adopting its master's history).
func (f *File) Replace(es []Entry) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.writeLocked(append([]Entry(nil), es...))
}

func (f *File) writeLocked(es []Entry) error {
	var b bytes.Buffer
	for _, e := range es {
		fmt.Fprintf(&b, "%d %d\n", e.Epoch, e.Start)
	}
	if _, err := Parse(b.Bytes()); err != nil {
		return fmt.Errorf("epoch: refusing to write an inconsistent list: %w", err)
	}
	tmp := f.path + ".tmp"
	w, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("epoch: %w", err)
	}
	_, err = w.Write(b.Bytes())
	if err == nil {
		err = w.Sync()
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, f.path)
	}
	if err == nil {
		var d *os.File
		if d, err = os.Open(filepath.Dir(f.path)); err == nil {
			err = d.Sync()
			d.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("epoch: write %s: %w", f.path, err)
	}
	f.es = es
	return nil
}

// ConsistentEnd returns how much of a replica's log it shares with its master: the end
// of the last epoch both hold from the same start offset — the smaller of the two ends
// of that epoch, where an epoch ends where the next begins and the last one at the
// log's end (localEnd, masterEnd). ok is false when they share no epoch.
func ConsistentEnd(local []Entry, localEnd int64, master []Entry, masterEnd int64) (end int64, ok bool) {
	endOf := func(es []Entry, i int, logEnd int64) int64 {
		if i+1 < len(es) {
			return es[i+1].Start
		}
		return logEnd
	}
	for i := len(local) - 1; i >= 0; i-- {
		for j := len(master) - 1; j >= 0; j-- {
			if master[j].Epoch == local[i].Epoch && master[j].Start == local[i].Start {
				return min(endOf(local, i, localEnd), endOf(master, j, masterEnd)), true
			}
		}
	}
	return 0, false
}
