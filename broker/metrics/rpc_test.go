package metrics

import (
	"syscall"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
)

func TestRPCCodeNames(t *testing.T) {
	for c, want := range map[int32]string{
		code.SendMessageV2: "send_message_v2", code.PullMessage: "pull_message",
		code.ListPendingTransactions: "list_pending_transactions", 99999: "99999",
	} {
		if got := RequestCodeName(c); got != want {
			t.Errorf("RequestCodeName(%d) = %q, want %q", c, got, want)
		}
	}
	for c, want := range map[int32]string{
		code.Success: "success", code.PullNotFound: "pull_not_found", code.FlowControl: "flow_control",
		100: "other", -1: "other", 70000: "other",
	} {
		if got := ResponseCodeName(c); got != want {
			t.Errorf("ResponseCodeName(%d) = %q, want %q", c, got, want)
		}
	}
}

// BenchmarkRPCObserve is the dispatch hook's cost once its series exists: the start
// reading and the observation. It must not allocate. Besides wall time it reports
// cpu-ns/op, the process CPU time per operation, which a busy machine inflates far
// less than wall time.
func BenchmarkRPCObserve(b *testing.B) {
	m := New(Node{Cluster: "c", BrokerName: "b"}, 1000, nil)
	rt := m.RPCRoute(code.SendMessageV2)
	rt.Observe(Mono(), code.Success, false, ResultSuccess)
	b.ReportAllocs()
	withCPU(b, func() {
		for i := 0; i < b.N; i++ {
			rt.Observe(Mono(), code.Success, false, ResultSuccess)
		}
	})
}

// BenchmarkSentCPU is BenchmarkSent with cpu-ns/op.
func BenchmarkSentCPU(b *testing.B) {
	m := New(Node{Cluster: "c", BrokerName: "b"}, 1000, nil)
	m.Sent("Bench", Normal, 1, 1024)
	b.ReportAllocs()
	withCPU(b, func() {
		for i := 0; i < b.N; i++ {
			m.Sent("Bench", Normal, 1, 1024)
		}
	})
}

// withCPU runs the benchmark loop fn and reports the process CPU time per operation.
func withCPU(b *testing.B, fn func()) {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	b.ResetTimer()
	start := cpu()
	fn()
	used := cpu() - start
	b.StopTimer()
	b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
}
