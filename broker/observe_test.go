package broker

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/namesrv"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

// withMetrics turns the metrics endpoint on at a kernel-chosen loopback port.
func withMetrics(o *Options, _ *store.Options) {
	o.MetricsExporterType = "PROM"
	o.MetricsPromExporterHost = "127.0.0.1"
	o.MetricsPromExporterPort = 0
}

func startNamesrv(t *testing.T) *namesrv.Server {
	t.Helper()
	no := namesrv.DefaultOptions()
	no.ListenAddr = "127.0.0.1:0"
	no.Logger = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
	ns := namesrv.New(no)
	if err := ns.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return ns
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// scrape fetches /metrics and parses it.
func scrape(t *testing.T, b *Broker) (map[string]*dto.MetricFamily, []byte) {
	t.Helper()
	st, text := httpGet(t, "http://"+b.MetricsAddr()+"/metrics")
	if st != http.StatusOK {
		t.Fatalf("/metrics: %d %s", st, text)
	}
	var p expfmt.TextParser
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams, []byte(text)
}

// sample returns the value of the family's series whose labels include want.
func sample(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	t.Helper()
	f := fams[name]
	if f == nil {
		t.Fatalf("no family %s", name)
	}
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		return m
	}
	t.Fatalf("%s has no series with %v", name, want)
	return nil
}

func TestMetricsEndToEnd(t *testing.T) {
	ns := startNamesrv(t)
	h := newHarness(t, withMetrics, func(o *Options, _ *store.Options) {
		o.NamesrvAddrs = []string{ns.Addr()}
	})
	base := "http://" + h.b.MetricsAddr()
	testutil.Eventually(t, 10*time.Second, "readyz 200", func() bool {
		st, _ := httpGet(t, base+"/readyz")
		return st == http.StatusOK
	})

	const topic, n = "MetricsT", 10
	h.createTopic(topic, 1, 6)
	total := 0
	for i := range n {
		size := 100 * (i + 1)
		total += size
		h.send(topic, 0, strings.Repeat("x", size), nil)
	}
	// cg-lag pulls 6 and commits 6; cg-inflight pulls 6 and commits 2.
	for _, g := range []struct {
		group  string
		commit int64
	}{{"cg-lag", 6}, {"cg-inflight", 2}} {
		p := pullReq(g.group, topic, 0, 0)
		p.MaxMsgNums = 6
		if resp := h.pull(p); resp.Code != code.Success || len(records(t, resp.Body)) != 6 {
			t.Fatalf("pull %s: code %d %s", g.group, resp.Code, resp.Remark)
		}
		u := &header.UpdateConsumerOffsetRequest{ConsumerGroup: g.group, Topic: topic, QueueID: 0, CommitOffset: g.commit}
		if resp := h.call(code.UpdateConsumerOffset, u.Encode(), nil); resp.Code != code.Success {
			t.Fatalf("commit %s: %d %s", g.group, resp.Code, resp.Remark)
		}
	}

	fams, text := scrape(t, h.b)
	node := map[string]string{"cluster": "ClusterT", "node_type": "broker", "node_id": "broker-t"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range node {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	in := with("topic", topic, "message_type", "normal", "is_system", "false")
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"rocketmq_messages_in_total", in, n},
		{"rocketmq_throughput_in_total", in, float64(total)},
		{"rocketmq_messages_out_total", with("topic", topic, "consumer_group", "cg-lag", "is_retry", "false"), 6},
		{"rocketmq_throughput_out_total", with("topic", topic, "consumer_group", "cg-lag"), 2100},
		{"rocketmq_messages_out_total", with("topic", topic, "consumer_group", "cg-inflight"), 6},
		{"rocketmq_consumer_lag_messages", with("topic", topic, "consumer_group", "cg-lag"), n - 6},
		{"rocketmq_consumer_inflight_messages", with("topic", topic, "consumer_group", "cg-lag"), 0},
		{"rocketmq_consumer_lag_messages", with("topic", topic, "consumer_group", "cg-inflight"), n - 2},
		{"rocketmq_consumer_inflight_messages", with("topic", topic, "consumer_group", "cg-inflight"), 4},
		{"rocketmq_storage_flush_behind_bytes", node, -1},
		{"rocketmq_topic_number", node, -1},
		{"rocketgo_disk_full", node, 0},
	}
	for _, c := range checks {
		m := sample(t, fams, c.name, c.labels)
		var v float64
		switch {
		case m.Counter != nil:
			v = m.GetCounter().GetValue()
		default:
			v = m.GetGauge().GetValue()
		}
		if c.want >= 0 && v != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
	hist := sample(t, fams, "rocketmq_message_size", with("topic", topic)).GetHistogram()
	if hist.GetSampleCount() != n || hist.GetSampleSum() != float64(total) {
		t.Errorf("message_size count %d sum %v, want %d %d", hist.GetSampleCount(), hist.GetSampleSum(), n, total)
	}
	if lat := sample(t, fams, "rocketmq_consumer_lag_latency", with("consumer_group", "cg-lag")).GetGauge().GetValue(); lat < 0 {
		t.Errorf("lag latency %v", lat)
	}
	promtool(t, text)

	// A stopped NameServer: the next round fails and /readyz says why.
	ns.Close()
	testutil.Eventually(t, 20*time.Second, "readyz 503 after the NameServer stopped", func() bool {
		h.b.registrar.Trigger()
		st, body := httpGet(t, base+"/readyz")
		return st == http.StatusServiceUnavailable && strings.Contains(body, "not registered")
	})
}

// promtool runs `promtool check metrics` over an exposition when promtool is installed.
func promtool(t *testing.T, text []byte) {
	t.Helper()
	path, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not on PATH (Debian package prometheus): lint skipped, expfmt parsed the output")
		return
	}
	cmd := exec.Command(path, "check", "metrics")
	cmd.Stdin = bytes.NewReader(text)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

func TestReadyzBeforeRegistration(t *testing.T) {
	h := newHarness(t, withMetrics, func(o *Options, _ *store.Options) {
		o.NamesrvAddrs = []string{"127.0.0.1:1"} // nobody listens there
	})
	base := "http://" + h.b.MetricsAddr()
	if st, body := httpGet(t, base+"/readyz"); st != http.StatusServiceUnavailable || !strings.Contains(body, "not registered with any NameServer") {
		t.Errorf("/readyz = %d %q, want 503 not registered", st, body)
	}
	if st, body := httpGet(t, base+"/healthz"); st != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz = %d %q", st, body)
	}
	if st, _ := httpGet(t, base+"/nope"); st != http.StatusNotFound {
		t.Errorf("/nope = %d, want 404", st)
	}
	if st, _ := httpGet(t, base+"/debug/pprof/"); st != http.StatusNotFound {
		t.Errorf("pprof without enablePprof = %d, want 404", st)
	}
	// Headers past the limit are refused with 431, not buffered.
	c, err := net.DialTimeout("tcp", h.b.MetricsAddr(), 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		_, _ = io.WriteString(c, "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 1<<20)+"\r\n\r\n")
	}()
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 431") {
		t.Errorf("huge header answered %q (%v), want 431", line, err)
	}
}

func TestMetricsPprofSwitch(t *testing.T) {
	h := newHarness(t, withMetrics, func(o *Options, _ *store.Options) { o.EnablePprof = true })
	if st, body := httpGet(t, "http://"+h.b.MetricsAddr()+"/debug/pprof/"); st != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("pprof index = %d", st)
	}
	if st, _ := httpGet(t, "http://"+h.b.MetricsAddr()+"/readyz"); st != http.StatusOK {
		t.Errorf("/readyz with no NameServer configured = %d, want 200", st)
	}
}

func TestMetricsTopicCap(t *testing.T) {
	br := openInProcess(t, func(o *Options, so *store.Options) { o.MetricsMaxTopicSeries = 2 })
	conn := &server.Conn{}
	for _, topic := range []string{"CapA", "CapB", "CapC", "CapD"} {
		createTopicDirect(t, br, topic, 1)
		if resp := br.handleSend(conn, sendCommand(topic, 0, []byte("body"))); resp.Code != code.Success {
			t.Fatalf("send %s: %d %s", topic, resp.Code, resp.Remark)
		}
	}
	fams, err := br.obs.m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != "rocketmq_messages_in_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "topic" {
					got[l.GetValue()] = m.GetCounter().GetValue()
				}
			}
		}
	}
	want := map[string]float64{"CapA": 1, "CapB": 1, "__other__": 2}
	if len(got) != len(want) || got["CapA"] != 1 || got["CapB"] != 1 || got["__other__"] != 2 {
		t.Errorf("messages_in by topic = %v, want %v", got, want)
	}
}
