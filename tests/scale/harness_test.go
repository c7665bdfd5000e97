package scale

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

// full reports whether ROCKETGO_SCALE=1 asks for the sizes of docs/scale.md.
func full() bool { return os.Getenv("ROCKETGO_SCALE") == "1" }

// sizes returns the full steps under ROCKETGO_SCALE=1 and the small ones otherwise.
func sizes(small, big []int) []int {
	if full() {
		return big
	}
	return small
}

// brokerEnv is the environment of every broker here: any free HA port, the metrics
// endpoint on (for the Go heap figures) with pprof (whose heap profile forces a
// collection first), and no disk-usage alarm on a full test disk.
var brokerEnv = []string{
	proctest.AnyHAPort,
	"ROCKETGO_BROKER_METRICSEXPORTERTYPE=PROM",
	"ROCKETGO_BROKER_ENABLEPPROF=true",
	"ROCKETGO_STORE_DISKSPACECLEANFORCIBLYRATIO=1",
	"ROCKETGO_STORE_DISKSPACEWARNINGLEVELRATIO=1",
}

// startNamesrv runs bin/mqnamesrv on a free port.
func startNamesrv(t *testing.T, b proctest.Binaries) (*proctest.Proc, string) {
	t.Helper()
	var addr string
	p := proctest.Launch(t, func() proctest.Spec {
		addr = proctest.FreeAddr(t)
		return proctest.Spec{Name: "mqnamesrv", Bin: b.Namesrv, Dir: t.TempDir(), Args: []string{"-listen", addr}}
	}, func(p *proctest.Proc) bool { return proctest.Logged("namesrv listening", "addr="+addr)(p) })
	return p, addr
}

// ownCopy copies the program at path into a directory of the test's: the harness's
// build directory is shared by every test binary of the user, and a broker restarted
// minutes later must run the build this test measured.
func ownCopy(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return dst
}

// startBroker runs bin/mqbroker on store dir registering with the NameServers ns (";"
// separated) and waits until it logs that it serves.
func startBroker(t *testing.T, b proctest.Binaries, ns, dir string, extra ...string) (*proctest.Proc, string) {
	t.Helper()
	var addr string
	src := b.Broker
	if other := os.Getenv("ROCKETGO_SCALE_BROKER"); other != "" {
		src = other // another build to compare with, e.g. the baseline's
	}
	bin := ownCopy(t, src)
	env := append(append([]string(nil), brokerEnv...), extra...)
	p := proctest.Launch(t, func() proctest.Spec {
		addr = proctest.FreeAddr(t)
		args := []string{"-c", "", "-listen", addr, "-store", dir, "-brokerIP1", "127.0.0.1", "-namesrv", ns}
		return proctest.Spec{Name: "mqbroker", Bin: bin, Dir: t.TempDir(), Env: env, Args: args}
	}, proctest.Logged("metrics serving"))
	return p, addr
}

// heap returns the broker's Go heap in use after a forced collection: the heap
// profile endpoint collects first (gc=1), then the metrics page reports
// go_memstats_heap_inuse_bytes.
func heap(t *testing.T, p *proctest.Proc) int64 {
	t.Helper()
	line, ok := p.FindLine("metrics serving")
	if !ok {
		t.Fatal("broker logged no metrics address")
	}
	addr := fieldOf(line, "addr")
	get := func(path string) []byte {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		return b
	}
	get("/debug/pprof/heap?gc=1")
	sc := bufio.NewScanner(strings.NewReader(string(get("/metrics"))))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_inuse_bytes "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("heap figure %q: %v", v, err)
			}
			return int64(f)
		}
	}
	t.Fatal("no go_memstats_heap_inuse_bytes on the metrics page")
	return 0
}

// rss is the child's resident set size, sampled until two readings 200 ms apart agree
// within 1 % (the runtime returns freed spans to the kernel in the background).
func rss(t *testing.T, p *proctest.Proc) int64 {
	t.Helper()
	var last int64 = -1
	var got int64
	testutil.Poll(5*time.Second, func() bool {
		n, err := p.RSS()
		if err != nil {
			t.Fatal(err)
		}
		stable := last >= 0 && abs(n-last) <= last/100
		last, got = n, n
		if !stable {
			<-time.After(200 * time.Millisecond)
		}
		return stable
	})
	return got
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// fieldOf returns the value of key=value in a console log line.
func fieldOf(line, key string) string {
	for _, tok := range strings.Fields(line) {
		if k, v, ok := strings.Cut(tok, "="); ok && k == key {
			return v
		}
	}
	return ""
}

var outMu sync.Mutex

// record logs one figure as `scale figure=name k=v …` (keys sorted) and appends it to
// ROCKETGO_SCALE_OUT when set, with the load average of the moment.
func record(t *testing.T, figure string, kv map[string]float64) {
	t.Helper()
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "scale figure=%s", figure)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%s", k, strconv.FormatFloat(kv[k], 'g', 6, 64))
	}
	fmt.Fprintf(&b, " load=%s", loadAvg())
	t.Log(b.String())
	path := os.Getenv("ROCKETGO_SCALE_OUT")
	if path == "" {
		return
	}
	outMu.Lock()
	defer outMu.Unlock()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, strings.ReplaceAll(b.String(), " ", "\t")); err != nil {
		t.Fatal(err)
	}
}

// loadAvg is the one-minute load average (the machine is shared).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// perUnit is the growth of y per unit of x between the first and the last step.
func perUnit(xs []int, ys []int64) float64 {
	n := len(xs) - 1
	return float64(ys[n]-ys[0]) / float64(xs[n]-xs[0])
}

// cpu is the CPU time (user and system) the child used so far, from /proc/PID/stat in
// clock ticks of 10 ms: on a shared machine it measures a cost where wall time
// measures the load.
func cpu(t *testing.T, p *proctest.Proc) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command name (which may hold spaces) close with ')'.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("/proc/%d/stat: %q", p.Pid(), b)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
