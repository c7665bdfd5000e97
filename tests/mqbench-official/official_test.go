package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rocketgo/rocketgo/tests/internal/proctest"
	"github.com/rocketgo/rocketgo/tests/mqbench"
)

// programs builds mqbench and, next to it where mqbench looks for it, mqbench-official
// from this module.
func programs(t *testing.T, b proctest.Binaries) (mqb string) {
	t.Helper()
	dir := t.TempDir()
	mqb = mqbench.BuildMQBench(t, b, dir)
	mqbench.GoBuild(t, ".", ".", filepath.Join(dir, "mqbench-official"))
	return mqb
}

// TestProducerAndConsumerOfficial: `mqbench producer -client official` stores exactly
// -count messages with the producer mode's payload through Apache's Go client, sync
// and async, and prints mqbench's summary; `mqbench consumer -client official` consumes
// them all and exits.
func TestProducerAndConsumerOfficial(t *testing.T) {
	cl := mqbench.StartCluster(t)
	bin := programs(t, cl.Bin)
	cl.CreateTopic(t, "OfficialSync")
	r := mqbench.Run(t, bin, nil, "producer", "-client", "official", "-namesrv", cl.NameServer, "-topic", "OfficialSync",
		"-count", "20", "-threads", "2", "-size", "100", "-interval", "100ms")
	cl.CheckProduced(t, r, "OfficialSync", 20, 100)

	cl.CreateTopic(t, "OfficialAsync")
	r = mqbench.Run(t, bin, nil, "producer", "-client", "official", "-namesrv", cl.NameServer, "-topic", "OfficialAsync",
		"-count", "12", "-async", "-window", "3", "-size", "64")
	cl.CheckProduced(t, r, "OfficialAsync", 12, 64)

	r = mqbench.Run(t, bin, nil, "consumer", "-client", "official", "-namesrv", cl.NameServer, "-topic", "OfficialAsync",
		"-group", "official_cg", "-from-first", "-count", "12", "-dur", "60s")
	mqbench.CheckConsumed(t, r, 12)
}

// TestEverySendFailedOfficial: through Apache's client too, a producer whose every
// send fails exits with status 1 and prints the client's reason.
func TestEverySendFailedOfficial(t *testing.T) {
	cl := mqbench.StartCluster(t)
	bin := programs(t, cl.Bin)
	r := mqbench.Run(t, bin, nil, "producer", "-client", "official", "-namesrv", cl.NameServer, "-topic", "NoSuchTopic", "-count", "4", "-threads", "1")
	mqbench.CheckEverySendFailed(t, r, 4, "NoSuchTopic")
}

// TestConsumedNothingOfficial: through Apache's client too, a consumer run that
// receives no message exits with status 1 and says so after its summary.
func TestConsumedNothingOfficial(t *testing.T) {
	cl := mqbench.StartCluster(t)
	bin := programs(t, cl.Bin)
	cl.CreateTopic(t, "OfficialEmpty")
	r := mqbench.Run(t, bin, nil, "consumer", "-client", "official", "-namesrv", cl.NameServer, "-topic", "OfficialEmpty",
		"-group", "official_empty", "-from-first", "-dur", "3s", "-interval", "1s")
	want := "mqbench: consumer: no message received from topic OfficialEmpty by group official_empty in "
	if r.Code != 1 || !strings.Contains(r.Stdout, "[summary] Consume TPS: 0 Messages: 0 ") || !strings.Contains(r.Stderr, want) {
		t.Fatalf("consumer of an empty topic:\n%s", r)
	}
}

// TestFlagsOfficial: mqbench passes the flags set on its command line, and the
// program refuses the ones its command does not take, as mqbench does.
func TestFlagsOfficial(t *testing.T) {
	bin := programs(t, proctest.Build(t))
	r := mqbench.Run(t, bin, nil, "consumer", "-client", "official", "-size", "3")
	if r.Code != 2 || !strings.HasPrefix(r.Stderr, "mqbench: consumer: flag provided but not defined: -size\n") {
		t.Fatalf("consumer -size:\n%s", r)
	}
	r = mqbench.Run(t, filepath.Join(filepath.Dir(bin), "mqbench-official"), nil, "figures")
	if r.Code != 2 || !strings.HasPrefix(r.Stderr, "mqbench-official: usage: ") {
		t.Fatalf("mqbench-official figures:\n%s", r)
	}
}
