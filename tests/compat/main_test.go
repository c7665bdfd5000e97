package compat_test

import (
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/rlog"
)

// The official client logs through a process-global logger and recovers its goroutines'
// panics through a process-global handler. The suite installs both once: the log goes
// into a ring buffer that a failing test prints (filtered to its own names), and every
// recovered panic fails the run, because a client panic is a protocol bug on our side
// (docs/protocol.md §11.19: a missing brokerAddrs or an empty CONSUME_MESSAGE_DIRECTLY body
// panics the client).
func TestMain(m *testing.M) {
	rlog.SetLogger(clientLog)
	primitive.PanicHandler = clientPanics.record
	code := m.Run()
	if ps := clientPanics.all(); len(ps) > 0 {
		fmt.Fprintf(os.Stderr, "the official client panicked %d time(s):\n%s\n", len(ps), strings.Join(ps, "\n---\n"))
		code = 1
	}
	os.Exit(code)
}

// panicLog collects the client panics recovered by primitive.WithRecover.
type panicLog struct {
	mu     sync.Mutex
	panics []string
}

var clientPanics = &panicLog{}

func (p *panicLog) record(v interface{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.panics = append(p.panics, fmt.Sprintf("%v\n%s", v, debug.Stack()))
}

func (p *panicLog) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.panics...)
}

func (p *panicLog) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.panics)
}

// ringLog is an rlog.Logger that keeps the client's last log entries in memory.
// ROCKETMQ_GO_LOG_LEVEL=debug also keeps debug entries (off by default: the client logs
// every pull at debug level).
type ringLog struct {
	mu      sync.Mutex
	entries []logEntry
	next    int
	full    bool
	debug   bool
}

type logEntry struct {
	at    time.Time
	level string
	text  string
}

const ringSize = 20000

var clientLog = &ringLog{
	entries: make([]logEntry, ringSize),
	debug:   strings.EqualFold(os.Getenv("ROCKETMQ_GO_LOG_LEVEL"), "debug"),
}

func (r *ringLog) add(level, msg string, fields map[string]interface{}) {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(msg)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, fields[k])
	}
	e := logEntry{at: time.Now(), level: level, text: b.String()}
	r.mu.Lock()
	r.entries[r.next] = e
	r.next++
	if r.next == len(r.entries) {
		r.next, r.full = 0, true
	}
	r.mu.Unlock()
}

// since returns the entries logged at or after t that mention any of marks, oldest
// first.
func (r *ringLog) since(t time.Time, marks ...string) []logEntry {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ordered []logEntry
	if r.full {
		ordered = append(ordered, r.entries[r.next:]...)
	}
	ordered = append(ordered, r.entries[:r.next]...)
	var out []logEntry
	for _, e := range ordered {
		if e.at.Before(t) {
			continue
		}
		for _, m := range marks {
			if m != "" && strings.Contains(e.text, m) {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// withAll returns the entries logged at or after t that mention every one of words.
func (r *ringLog) withAll(t time.Time, words ...string) []logEntry {
	var out []logEntry
	for _, e := range r.since(t, words[0]) {
		all := true
		for _, w := range words[1:] {
			all = all && strings.Contains(e.text, w)
		}
		if all {
			out = append(out, e)
		}
	}
	return out
}

// Debug implements rlog.Logger.
func (r *ringLog) Debug(msg string, fields map[string]interface{}) {
	if r.debug {
		r.add("DEBUG", msg, fields)
	}
}

// Info implements rlog.Logger.
func (r *ringLog) Info(msg string, fields map[string]interface{}) { r.add("INFO", msg, fields) }

// Warning implements rlog.Logger.
func (r *ringLog) Warning(msg string, fields map[string]interface{}) { r.add("WARN", msg, fields) }

// Error implements rlog.Logger.
func (r *ringLog) Error(msg string, fields map[string]interface{}) { r.add("ERROR", msg, fields) }

// Fatal implements rlog.Logger; the client calls it for conditions it survives, so it
// is recorded, not fatal.
func (r *ringLog) Fatal(msg string, fields map[string]interface{}) { r.add("FATAL", msg, fields) }

// Level implements rlog.Logger; the ring keeps everything from info up regardless.
func (r *ringLog) Level(string) {}

// OutputPath implements rlog.Logger; the ring has no file.
func (r *ringLog) OutputPath(string) error { return nil }

// watchClient prints, when t fails, the client log entries written during t that
// mention any of marks (its topics, groups, addresses), and the client panics recovered
// during t.
func watchClient(t testing.TB, marks ...string) {
	t.Helper()
	began := time.Now()
	panicsBefore := clientPanics.count()
	t.Cleanup(func() {
		if n := clientPanics.count() - panicsBefore; n > 0 {
			t.Errorf("the official client panicked %d time(s) while this test ran (details at the end of the run)", n)
		}
		if !t.Failed() {
			return
		}
		entries := clientLog.since(began, marks...)
		if len(entries) > 400 {
			entries = entries[len(entries)-400:]
		}
		for _, e := range entries {
			t.Logf("client %s %s %s", e.at.Format("15:04:05.000"), e.level, e.text)
		}
	})
}
