// Package bench is the logic of the mqbench tool: producer and consumer load modes in
// the style of RocketMQ's benchmark tools (TPS, average and maximum RT, failures every
// few seconds and a final summary), and the figures (a)–(d) of docs/performance.md printed as
// "label.figure key=value ..." lines in the same format as the peer harnesses, so runs
// of rocketgo and its peers can be compared line by line and summarized together.
package bench

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// latencies collects durations; percentiles sort a copy.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.d)
}

// pcts returns p50, p99, p99.9 and max in microseconds, computed as the peer harness
// computes them (index (n-1)*p of the sorted values).
func (l *latencies) pcts() [4]float64 {
	l.mu.Lock()
	s := slices.Clone(l.d)
	l.mu.Unlock()
	var r [4]float64
	if len(s) == 0 {
		return r
	}
	slices.Sort(s)
	at := func(p float64) float64 { return float64(s[int(float64(len(s)-1)*p)].Nanoseconds()) / 1e3 }
	return [4]float64{at(.5), at(.99), at(.999), at(1)}
}

// cpuMeter measures the CPU a broker process (from /proc/PID/stat) and this process
// spend during a figure, to report CPU cost per message.
type cpuMeter struct {
	pid       int
	srv0, me0 time.Duration
}

// procCPU returns utime+stime of pid (clock ticks of 10 ms), 0 if unreadable.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 <= len(s) {
		s = s[i+2:]
	}
	f := strings.Fields(s) // f[0] is field 3 (state): utime is field 14, stime 15
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond // CLK_TCK is 100 on Linux
}

// selfCPU returns the CPU time this process used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func startCPU(pid int) *cpuMeter {
	m := &cpuMeter{pid: pid, me0: selfCPU()}
	if pid > 0 {
		m.srv0 = procCPU(pid)
	}
	return m
}

// fields returns " srv_cpu_ms=.. srv_cpu_us_per_msg=.. cli_cpu_ms=.. cli_cpu_us_per_msg=..",
// the server part only when a broker pid was given.
func (m *cpuMeter) fields(msgs int) string {
	me := selfCPU() - m.me0
	out := ""
	if m.pid > 0 {
		srv := procCPU(m.pid) - m.srv0
		out += fmt.Sprintf(" srv_cpu_ms=%d srv_cpu_us_per_msg=%.2f", srv.Milliseconds(), float64(srv.Microseconds())/float64(max(msgs, 1)))
	}
	out += fmt.Sprintf(" cli_cpu_ms=%d cli_cpu_us_per_msg=%.2f", me.Milliseconds(), float64(me.Microseconds())/float64(max(msgs, 1)))
	return out
}

// Summarize reads "figure key=value ..." lines and writes, per figure, the median of
// every numeric key over the lines seen — the peer harness's summarize, so the outputs
// of both can be fed to either. Lines starting with "#" are comments.
func Summarize(r io.Reader, w io.Writer) error {
	type acc map[string][]float64
	figs := map[string]acc{}
	var order []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.Contains(f[0], "=") || strings.HasPrefix(f[0], "#") {
			continue
		}
		a, ok := figs[f[0]]
		if !ok {
			a = acc{}
			figs[f[0]] = a
			order = append(order, f[0])
		}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			if x, err := strconv.ParseFloat(v, 64); err == nil {
				a[k] = append(a[k], x)
			}
		}
	}
	for _, name := range order {
		a := figs[name]
		keys := make([]string, 0, len(a))
		for k := range a {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		runs := 0
		var b strings.Builder
		for _, k := range keys {
			v := slices.Clone(a[k])
			sort.Float64s(v)
			runs = max(runs, len(v))
			fmt.Fprintf(&b, " %s=%s", k, strconv.FormatFloat(v[len(v)/2], 'f', -1, 64))
		}
		if _, err := fmt.Fprintf(w, "median(%d) %s%s\n", runs, name, b.String()); err != nil {
			return err
		}
	}
	return sc.Err()
}

// window counts the RT figures of one reporting interval, RocketMQ benchmark style.
type window struct {
	ok, failed atomic.Int64
	rtSum      atomic.Int64 // µs
	rtMax      atomic.Int64 // µs
}

// record adds one operation that took rt.
func (w *window) record(rt time.Duration, err error) {
	if err != nil {
		w.failed.Add(1)
		return
	}
	us := rt.Microseconds()
	w.ok.Add(1)
	w.rtSum.Add(us)
	for {
		cur := w.rtMax.Load()
		if us <= cur || w.rtMax.CompareAndSwap(cur, us) {
			return
		}
	}
}

// take returns and resets the counters.
func (w *window) take() (ok, failed int64, avgMS, maxMS float64) {
	ok, failed = w.ok.Swap(0), w.failed.Swap(0)
	sum, mx := w.rtSum.Swap(0), w.rtMax.Swap(0)
	if ok > 0 {
		avgMS = float64(sum) / float64(ok) / 1e3
	}
	return ok, failed, avgMS, float64(mx) / 1e3
}
