package bench

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/tests/cluster"
)

func TestSummarize(t *testing.T) {
	in := strings.Join([]string{
		"# a comment line",
		"run=1 ignored because the first field has '='",
		"x.a_async_pub msgs=100 msgs_per_s=10 note=text",
		"x.a_async_pub msgs=100 msgs_per_s=30",
		"x.a_async_pub msgs=100 msgs_per_s=20",
		"x.b_sync_pub p50_us=5",
	}, "\n")
	var out bytes.Buffer
	if err := Summarize(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	want := "median(3) x.a_async_pub msgs=100 msgs_per_s=20\nmedian(1) x.b_sync_pub p50_us=5\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}

func TestLatencyPercentiles(t *testing.T) {
	var l latencies
	for i := 1000; i >= 1; i-- {
		l.add(time.Duration(i) * time.Microsecond)
	}
	p := l.pcts()
	if p[0] != 500 || p[1] != 990 || p[2] != 999 || p[3] != 1000 {
		t.Fatalf("percentiles %v", p)
	}
	var w window
	w.record(2*time.Millisecond, nil)
	w.record(4*time.Millisecond, nil)
	w.record(0, context.Canceled)
	ok, failed, avg, mx := w.take()
	if ok != 2 || failed != 1 || avg != 3 || mx != 4 {
		t.Fatalf("window: %d %d %v %v", ok, failed, avg, mx)
	}
	if ok, _, _, _ := w.take(); ok != 0 {
		t.Fatal("take did not reset")
	}
}

// TestRunFigures runs every figure, small, against an in-process cluster and checks
// the lines have the peer harness's shape and count what was sent.
func TestRunFigures(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := cluster.Start(t)
	c.WaitRoute(t, "TBW102", 0)
	var out bytes.Buffer
	cfg := DefaultFiguresConfig()
	cfg.NameServer, cfg.Out = c.NamesrvAddr(), &out
	cfg.N, cfg.SyncN, cfg.Rate, cfg.Dur, cfg.Fetch, cfg.Deadline = 2000, 200, 400, 500*time.Millisecond, 100, 20*time.Second
	if err := RunFigures(context.Background(), cfg); err != nil {
		t.Fatalf("figures: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []*regexp.Regexp{
		regexp.MustCompile(`^rocketgo\.a_async_pub msgs=2000 stored=2000 errs=0 secs=\S+ msgs_per_s=\d+ MB_per_s=\S+ cli_cpu_ms=\d+ cli_cpu_us_per_msg=\S+$`),
		regexp.MustCompile(`^rocketgo\.c_pull_consume msgs=2001 ack=commit batch=100 secs=\S+ msgs_per_s=\d+ MB_per_s=\S+ cli_cpu_ms=\d+ cli_cpu_us_per_msg=\S+$`),
		regexp.MustCompile(`^rocketgo\.b_sync_pub msgs=200 secs=\S+ msgs_per_s=\d+ p50_us=\S+ p99_us=\S+ p999_us=\S+ max_us=\S+ cli_cpu_ms=\d+ cli_cpu_us_per_msg=\S+$`),
		regexp.MustCompile(`^rocketgo\.d_e2e_latency target_rate=400 achieved_rate=\d+ msgs=200 recv=200 p50_us=\S+ p99_us=\S+ p999_us=\S+ max_us=\S+$`),
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines:\n%s", len(lines), out.String())
	}
	for i, re := range want {
		if !re.MatchString(lines[i]) {
			t.Errorf("line %d %q does not match %s", i, lines[i], re)
		}
	}
}
