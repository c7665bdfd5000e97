package mqbench

import (
	"strings"
	"testing"

	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

// TestProducerAndConsumerSDK: `mqbench producer` stores exactly -count messages with
// the producer mode's payload, synchronously and asynchronously in batches, and
// `mqbench consumer -from-first -count` consumes them all and exits.
func TestProducerAndConsumerSDK(t *testing.T) {
	cl := StartCluster(t)
	bin := BuildMQBench(t, cl.Bin, t.TempDir())
	cl.CreateTopic(t, "BenchSync")
	r := Run(t, bin, nil, "producer", "-namesrv", cl.NameServer, "-topic", "BenchSync", "-count", "20", "-threads", "2", "-size", "100", "-interval", "100ms")
	cl.CheckProduced(t, r, "BenchSync", 20, 100)

	cl.CreateTopic(t, "BenchAsync")
	r = Run(t, bin, nil, "producer", "-namesrv", cl.NameServer, "-topic", "BenchAsync", "-count", "24", "-async", "-batch", "4", "-window", "2", "-size", "64")
	cl.CheckProduced(t, r, "BenchAsync", 24, 64)

	r = Run(t, bin, nil, "consumer", "-namesrv", cl.NameServer, "-topic", "BenchAsync", "-group", "bench_cg", "-from-first", "-count", "24", "-dur", "60s")
	CheckConsumed(t, r, 24)
}

// TestConsumedNothingSDK: a consumer run that receives no message exits with status 1
// and one line on stderr saying so, after its summary.
func TestConsumedNothingSDK(t *testing.T) {
	cl := StartCluster(t)
	bin := BuildMQBench(t, cl.Bin, t.TempDir())
	cl.CreateTopic(t, "BenchEmpty")
	r := Run(t, bin, nil, "consumer", "-namesrv", cl.NameServer, "-topic", "BenchEmpty", "-group", "bench_empty", "-from-first", "-dur", "3s", "-interval", "1s")
	want := "mqbench: consumer: no message received from topic BenchEmpty by group bench_empty in "
	if r.Code != 1 || !strings.Contains(r.Stdout, "[summary] Consume TPS: 0 Messages: 0 ") ||
		!strings.HasPrefix(r.Stderr, want) || strings.Count(r.Stderr, "\n") != 1 {
		t.Fatalf("consumer of an empty topic:\n%s", r)
	}
}

// TestEverySendFailedSDK: a producer whose every send fails exits with status 1 and
// says why — a topic nobody created on a broker without autoCreateTopicEnable, and a
// NameServer no broker registered with.
func TestEverySendFailedSDK(t *testing.T) {
	cl := StartCluster(t)
	bin := BuildMQBench(t, cl.Bin, t.TempDir())
	r := Run(t, bin, nil, "producer", "-namesrv", cl.NameServer, "-topic", "NoSuchTopic", "-count", "6", "-threads", "2")
	CheckEverySendFailed(t, r, 6, "NoSuchTopic")

	lone := StartNameServer(t, cl.Bin)
	r = Run(t, bin, nil, "producer", "-namesrv", lone, "-topic", "AnyTopic", "-count", "3", "-threads", "1")
	CheckEverySendFailed(t, r, 3, "AnyTopic")
}

// TestUsageErrorsProcess: the program itself exits with status 2 on a bad flag, with
// one line saying why then the usage on stderr.
func TestUsageErrorsProcess(t *testing.T) {
	bin := BuildMQBench(t, proctest.Build(t), t.TempDir())
	r := Run(t, bin, nil, "consumer", "-threads", "2")
	if r.Code != 2 || r.Stdout != "" || !strings.HasPrefix(r.Stderr, "mqbench: consumer: flag provided but not defined: -threads\nUsage: mqbench consumer [flags]\n") {
		t.Fatalf("bad flag:\n%s", r)
	}
	r = Run(t, bin, nil, "-h")
	if r.Code != 0 || r.Stderr != "" || !strings.Contains(r.Stdout, "\n  producer   send messages;") {
		t.Fatalf("-h:\n%s", r)
	}
}
