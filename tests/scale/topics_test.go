package scale

import (
	"context"
	"fmt"
	"hash/crc32"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

// Sizes of the topic test.
const (
	queuesPerTopic = 8
	createWorkers  = 32 // concurrent UPDATE_AND_CREATE_TOPIC requests
	lookupWorkers  = 4  // concurrent GET_ROUTEINFO_BY_TOPIC callers, one connection each
)

// Bounds the default run asserts (docs/scale.md §1 has the measured figures).
const (
	// maxHeapPerQueue bounds the broker's Go heap per queue of an idle topic.
	maxHeapPerQueue = 4 << 10
	// maxRegisterBytesPerTopic bounds the REGISTER_BROKER JSON body per topic.
	maxRegisterBytesPerTopic = 400
)

// topicName is the i-th topic: fixed width, so every route answer has the same size.
func topicName(i int) string { return fmt.Sprintf("ScaleTopic%06d", i) }

// TestTopics grows one broker to 200 topics × 8 queues (10,000 under ROCKETGO_SCALE=1)
// and measures, at each step, the broker's RSS and Go heap, the REGISTER_BROKER body
// the broker sends (JSON as sent, and the zlib form it may send), the time the
// NameServer takes to accept it, the GET_ROUTEINFO_BY_TOPIC answer and how many of them
// the NameServer serves per second. It asserts that the heap and the register body grow
// linearly and within their bounds per unit, and that a route answer does not grow
// with the number of topics.
func TestTopics(t *testing.T) {
	steps := sizes([]int{50, 100, 200}, []int{100, 1000, 5000, 10000})
	nsProc, ns, rec, broker, addr, rc := startTopicRig(t, proctest.Build(t), fullPeriod)

	base := struct{ rss, heap, nsRSS int64 }{rss(t, broker), heap(t, broker), rss(t, nsProc)}
	record(t, "topics", map[string]float64{"topics": 0, "queues": 0, "rss_bytes": float64(base.rss), "heap_bytes": float64(base.heap), "namesrv_rss_bytes": float64(base.nsRSS)})

	var heaps, regs []int64
	created := 0
	for _, n := range steps {
		began, bCPU, nCPU := time.Now(), cpu(t, broker), cpu(t, nsProc)
		createTopics(t, rc, addr, created, n)
		perTopic := func(d time.Duration) float64 { return ms(d) / float64(n-created) }
		createMS, createBrokerCPU, createNsCPU := perTopic(time.Since(began)), perTopic(cpu(t, broker)-bCPU), perTopic(cpu(t, nsProc)-nCPU)
		created = n

		req := fullRegistration(t, rec, n)
		rb, err := body.DecodeRegisterBrokerBody(req.Body, false)
		if err != nil {
			t.Fatalf("register body at %d topics: %v", n, err)
		}
		zipped, err := rb.Encode(true)
		if err != nil {
			t.Fatal(err)
		}
		jsonReg, jsonCPU := registerTime(t, rc, nsProc, ns, req, req.Body, false)
		zipReg, zipCPU := registerTime(t, rc, nsProc, ns, req, zipped, true)
		route := routeAnswer(t, rc, ns, topicName(n-1))
		c0 := cpu(t, nsProc)
		lookups, looked := lookupRate(t, ns, n, sizes([]int{1}, []int{3})[0])
		lookupCPU := float64((cpu(t, nsProc) - c0).Microseconds()) / float64(looked)
		r, h, nr := rss(t, broker), heap(t, broker), rss(t, nsProc)
		heaps, regs = append(heaps, h), append(regs, int64(len(req.Body)))
		record(t, "topics", map[string]float64{
			"topics": float64(n), "queues": float64(n * queuesPerTopic),
			"rss_bytes": float64(r), "heap_bytes": float64(h), "namesrv_rss_bytes": float64(nr),
			"rss_per_queue":       float64(r-base.rss) / float64(n*queuesPerTopic),
			"heap_per_queue":      float64(h-base.heap) / float64(n*queuesPerTopic),
			"register_json_bytes": float64(len(req.Body)), "register_zlib_bytes": float64(len(zipped)),
			"register_json_ms": ms(jsonReg), "register_zlib_ms": ms(zipReg),
			"register_json_cpu_ms": ms(jsonCPU), "register_zlib_cpu_ms": ms(zipCPU),
			"route_bytes": float64(route), "lookups_per_s": lookups, "lookup_cpu_us": lookupCPU,
			"create_ms_per_topic": createMS, "create_broker_cpu_ms_per_topic": createBrokerCPU,
			"create_namesrv_cpu_ms_per_topic": createNsCPU,
		})
	}

	perQueue := perUnit(steps, heaps) / queuesPerTopic
	if perQueue > maxHeapPerQueue {
		t.Errorf("broker heap grows by %.0f bytes per queue, over the bound of %d", perQueue, maxHeapPerQueue)
	}
	perTopic := perUnit(steps, regs)
	if perTopic > maxRegisterBytesPerTopic {
		t.Errorf("REGISTER_BROKER body grows by %.0f bytes per topic, over the bound of %d", perTopic, maxRegisterBytesPerTopic)
	}
	// Linear: every step adds the same bytes per topic, to a few bytes (names are of
	// fixed width; only the data version's digits differ).
	for i := 1; i < len(steps); i++ {
		step := float64(regs[i]-regs[i-1]) / float64(steps[i]-steps[i-1])
		if step < perTopic-4 || step > perTopic+4 {
			t.Errorf("REGISTER_BROKER body grew by %.1f bytes per topic from %d to %d topics, %.1f overall: not linear", step, steps[i-1], steps[i], perTopic)
		}
	}
}

// startTopicRig starts a NameServer, a recording NameServer and a broker registering
// with both (extra is added to the broker's environment), waits until the NameServer routes the broker, and returns them with a
// client.
func startTopicRig(t *testing.T, bins proctest.Binaries, extra ...string) (nsProc *proctest.Proc, ns string, rec *recorder, broker *proctest.Proc, addr string, rc *transport.Client) {
	t.Helper()
	nsProc, ns = startNamesrv(t, bins)
	rec = newRecorder(t)
	broker, addr = startBroker(t, bins, ns+";"+rec.addr(), t.TempDir(), extra...)
	testutil.Eventually(t, proctest.ReadyTimeout, "broker routed by the NameServer", func() bool {
		ok, _ := proctest.RoutedTo(ns, addr)
		return ok
	})
	rc = transport.NewClient(transport.ClientOptions{DialTimeout: 2 * time.Second})
	t.Cleanup(func() { _ = rc.Close() })
	return nsProc, ns, rec, broker, addr, rc
}

// createTopics creates topics [from, to) with createWorkers concurrent requests. Each
// answer comes once the NameServers hold the topic (docs/protocol.md §3.3).
func createTopics(t *testing.T, rc *transport.Client, addr string, from, to int) {
	t.Helper()
	createTopicsWith(t, rc, addr, from, to, createWorkers)
}

// createTopicsWith creates topics [from, to) with workers concurrent requests.
func createTopicsWith(t *testing.T, rc *transport.Client, addr string, from, to, workers int) {
	t.Helper()
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	var once sync.Once
	var failure error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= to {
					return
				}
				h := header.CreateTopicRequest{Topic: topicName(i), DefaultTopic: "TBW102", ReadQueueNums: queuesPerTopic,
					WriteQueueNums: queuesPerTopic, Perm: 6, TopicFilterType: body.FilterSingleTag}
				resp, err := invoke(rc, addr, codec.NewRequest(code.UpdateAndCreateTopic, h.Encode(), nil))
				if err == nil && resp.Code != code.Success {
					err = fmt.Errorf("code %d remark %q", resp.Code, resp.Remark)
				}
				if err != nil {
					once.Do(func() { failure = fmt.Errorf("create %s: %w", h.Topic, err) })
					return
				}
			}
		}()
	}
	wg.Wait()
	if failure != nil {
		t.Fatal(failure)
	}
}

// registerTime sends the broker's registration again to the NameServer at ns with the
// given body (the JSON one as sent, or its zlib form) and returns the median of the
// round trips, and the NameServer's CPU time per registration: what one registration
// of that table costs it. It sends at least five, and more until a second has passed
// so that the CPU time, counted in 10 ms ticks, is exact enough.
func registerTime(t *testing.T, rc *transport.Client, nsProc *proctest.Proc, ns string, sent *codec.Command, data []byte, zipped bool) (time.Duration, time.Duration) {
	t.Helper()
	c0, began0 := cpu(t, nsProc), time.Now()
	ext := maps.Clone(sent.ExtFields)
	ext["compressed"] = strconv.FormatBool(zipped)
	ext["bodyCrc32"] = strconv.Itoa(int(crc32.ChecksumIEEE(data) & 0x7FFFFFFF))
	var took []time.Duration
	for len(took) < 5 || time.Since(began0) < time.Second {
		began := time.Now()
		resp, err := invoke(rc, ns, codec.NewRequest(code.RegisterBroker, ext, data))
		if err != nil || resp.Code != code.Success {
			t.Fatalf("register again (compressed %v): %v %v", zipped, err, resp)
		}
		took = append(took, time.Since(began))
	}
	per := (cpu(t, nsProc) - c0) / time.Duration(len(took))
	slices.Sort(took)
	return took[len(took)/2], per
}

// routeAnswer returns the size of the NameServer's route answer for topic, checking
// that it routes the topic's 8 queues to one broker.
func routeAnswer(t *testing.T, rc *transport.Client, ns, topic string) int {
	t.Helper()
	resp, err := invoke(rc, ns, codec.NewRequest(code.GetRouteInfoByTopic, map[string]string{"topic": topic}, nil))
	if err != nil || resp.Code != code.Success {
		t.Fatalf("route of %s: %v %v", topic, err, resp)
	}
	r, err := body.DecodeTopicRouteData(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.QueueDatas) != 1 || r.QueueDatas[0].ReadQueueNums != queuesPerTopic || len(r.BrokerDatas) != 1 {
		t.Fatalf("route of %s: %+v, want one broker with %d queues", topic, r, queuesPerTopic)
	}
	return len(resp.Body)
}

// lookupRate is how many GET_ROUTEINFO_BY_TOPIC requests for random topics of the
// first n the NameServer answers per second, from lookupWorkers connections with one
// request in flight each, and how many it answered.
func lookupRate(t *testing.T, ns string, n, seconds int) (float64, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds)*time.Second)
	defer cancel()
	var done atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	for range lookupWorkers {
		c := transport.NewClient(transport.ClientOptions{DialTimeout: 2 * time.Second})
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			for ctx.Err() == nil {
				req := codec.NewRequest(code.GetRouteInfoByTopic, map[string]string{"topic": topicName(rand.IntN(n))}, nil)
				resp, err := c.Invoke(ctx, ns, req)
				if ctx.Err() != nil {
					return
				}
				if err != nil || resp.Code != code.Success {
					failed.Store(fmt.Sprintf("%v %v", err, resp))
					return
				}
				done.Add(1)
			}
		}()
	}
	began := time.Now()
	wg.Wait()
	if f := failed.Load(); f != nil {
		t.Fatalf("route lookup: %s", f)
	}
	return float64(done.Load()) / time.Since(began).Seconds(), done.Load()
}

func invoke(rc *transport.Client, addr string, req *codec.Command) (*codec.Command, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return rc.Invoke(ctx, addr, req)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
