package scale

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

// maxCreateRegisterBytesPerTopic bounds the REGISTER_BROKER bytes sent per created
// topic: a created topic is registered alone (docs/scale.md §1.1), about 160 bytes of
// JSON plus the body's frame, whatever the number of topics already there.
const maxCreateRegisterBytesPerTopic = 1 << 10

// TestTopicCreation is the creation curve of docs/scale.md §1.1: on a fresh broker, the
// time to create the first N topics (100 … 10,000 under ROCKETGO_SCALE=1) one
// UPDATE_AND_CREATE_TOPIC at a time (a `mqadmin updateTopic` loop) and with 32 in
// flight, the broker's and the NameServer's CPU, and the REGISTER_BROKER bytes the
// broker sent meanwhile. It asserts, on the default sizes, that the registration bytes
// per created topic do not grow with the number of topics. ROCKETGO_SCALE_CREATE_SERIAL_MAX=n
// stops the one-at-a-time run after n topics (a quadratic baseline needs half an hour
// for 10,000).
func TestTopicCreation(t *testing.T) {
	all := sizes([]int{25, 50, 100}, []int{1000, 2000, 5000, 10000})
	bins := proctest.Build(t)
	for _, workers := range []int{1, createWorkers} {
		steps := all
		if n, err := strconv.Atoi(os.Getenv("ROCKETGO_SCALE_CREATE_SERIAL_MAX")); err == nil && workers == 1 {
			steps = slices.DeleteFunc(slices.Clone(all), func(s int) bool { return s > n })
		}
		t.Run(fmt.Sprintf("inflight=%d", workers), func(t *testing.T) {
			nsProc, ns, rec, broker, addr, rc := startTopicRig(t, bins)

			began, bCPU0, nCPU0 := time.Now(), cpu(t, broker), cpu(t, nsProc)
			_, regBytes0 := rec.sent()
			created, stepBegan := 0, began
			for _, n := range steps {
				_, stepBytes0 := rec.sent()
				createTopicsWith(t, rc, addr, created, n, workers)
				now := time.Now()
				regs, regBytes := rec.sent()
				perTopic := float64(regBytes-stepBytes0) / float64(n-created)
				record(t, "create", map[string]float64{
					"inflight": float64(workers), "topics": float64(n),
					"seconds":                       now.Sub(began).Seconds(),
					"step_ms_per_topic":             ms(now.Sub(stepBegan)) / float64(n-created),
					"broker_cpu_s":                  (cpu(t, broker) - bCPU0).Seconds(),
					"namesrv_cpu_s":                 (cpu(t, nsProc) - nCPU0).Seconds(),
					"register_bytes":                float64(regBytes - regBytes0),
					"register_requests":             float64(regs),
					"step_register_bytes_per_topic": perTopic,
				})
				if !full() && perTopic > maxCreateRegisterBytesPerTopic {
					t.Errorf("creating topics %d..%d sent %.0f REGISTER_BROKER bytes per topic, over %d: the registration grows with the table",
						created, n, perTopic, maxCreateRegisterBytesPerTopic)
				}
				created, stepBegan = n, now
			}
			// Every topic is routed by the real NameServer.
			for _, i := range []int{0, created / 2, created - 1} {
				routeAnswer(t, rc, ns, topicName(i))
			}
		})
	}
}

// fullPeriod is the broker's registerNameServerPeriod in TestTopics: the shortest the
// broker takes, so that the whole table is registered at most 10 s after a step.
const fullPeriod = "ROCKETGO_BROKER_REGISTERNAMESERVERPERIOD=10000"

// fullRegistration returns the first periodic registration of the whole topic table
// (it holds the broker's own TBW102, which no incremental round carries) that holds the
// first n test topics, as the recorder received it: a creation registers only the
// topic created.
func fullRegistration(t *testing.T, rec *recorder, n int) *codec.Command {
	t.Helper()
	var req *codec.Command
	testutil.Eventually(t, 30*time.Second, fmt.Sprintf("a full registration with %d topics", n), func() bool {
		req, _ = rec.last()
		if req == nil {
			return false
		}
		rb, err := body.DecodeRegisterBrokerBody(req.Body, false)
		if err != nil {
			t.Fatalf("register body: %v", err)
		}
		table := rb.TopicConfigSerializeWrapper.TopicConfigTable
		_, all := table["TBW102"]
		_, last := table[topicName(n-1)]
		return all && last
	})
	return req
}
