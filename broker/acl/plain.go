package acl

import (
	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Plain holds the rules of one plain_acl.yml and reloads them when the file changes.
type Plain struct {
	path  string
	log   zerolog.Logger
	rules atomic.Pointer[Rules]

	// seen is the file's (mtime, size) last read, good or broken, so a broken file is
	// reported once per change.
	seen fileStamp

	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once

	// editMu serializes the admin requests' read-change-write of the file (edit.go),
	// and pollMu the reloads, which the watcher and an edit may both start.
	editMu sync.Mutex
	pollMu sync.Mutex
}

type fileStamp struct {
	mtime time.Time
	size  int64
}

// Open reads path; a missing or broken file is an error, since a broker with aclEnable
// must not start without rules.
func Open(path string, log zerolog.Logger) (*Plain, error) {
	p := &Plain{path: path, log: log}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("acl: aclFile: %w", err)
	}
	p.seen = fileStamp{st.ModTime(), st.Size()}
	r, err := p.read()
	if err != nil {
		return nil, err
	}
	p.rules.Store(r)
	return p, nil
}

func (p *Plain) read() (*Rules, error) {
	data, err := os.ReadFile(p.path)
	if err != nil {
		return nil, fmt.Errorf("acl: aclFile: %w", err)
	}
	r, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.path, err)
	}
	return r, nil
}

// Rules returns the rules in force.
func (p *Plain) Rules() *Rules { return p.rules.Load() }

// Check decides one request with the rules in force (Rules.Check).
func (p *Plain) Check(reqCode int32, ext map[string]string, body []byte, ip netip.Addr) *Refusal {
	return p.rules.Load().Check(reqCode, ext, body, ip)
}

// Watch polls the file's modification time and size every interval and reloads it when
// either changed. A file that does not parse leaves the rules in force and is logged.
// It returns at once; Close stops it.
func (p *Plain) Watch(interval time.Duration) {
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(p.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.Poll()
			}
		}
	}()
}

// Poll reloads the file if it changed since it was last read, and reports whether the
// rules were replaced.
func (p *Plain) Poll() bool {
	p.pollMu.Lock()
	defer p.pollMu.Unlock()
	st, err := os.Stat(p.path)
	if err != nil {
		if p.seen != (fileStamp{}) {
			p.log.Error().Err(err).Msg("acl file unreadable; the previous rules stay in force")
			p.seen = fileStamp{}
		}
		return false
	}
	now := fileStamp{st.ModTime(), st.Size()}
	if now == p.seen {
		return false
	}
	p.seen = now
	r, err := p.read()
	if err != nil {
		p.log.Error().Err(err).Msg("acl file broken; the previous rules stay in force")
		return false
	}
	p.rules.Store(r)
	p.log.Info().Str("file", p.path).Int("accounts", len(r.accounts)).Msg("acl file reloaded")
	return true
}

// Close stops Watch.
func (p *Plain) Close() {
	p.stopOnce.Do(func() {
		if p.stop != nil {
			close(p.stop)
			<-p.done
		}
	})
}
