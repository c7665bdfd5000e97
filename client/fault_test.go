package client

import (
	"sync/atomic"
	"testing"
	"time"
)

// manualClock is a clock tests move by hand.
type manualClock struct{ t atomic.Int64 }

func newManualClock() *manualClock {
	c := &manualClock{}
	c.t.Store(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *manualClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *manualClock) advance(d time.Duration) { c.t.Add(int64(d)) }

func TestFaultPolicyTable(t *testing.T) {
	p := DefaultFaultPolicy()
	ms := time.Millisecond
	cases := []struct {
		latency time.Duration
		want    time.Duration
	}{
		{0, 0}, {49 * ms, 0}, {100 * ms, 0}, {549 * ms, 0},
		{550 * ms, 30 * time.Second}, {999 * ms, 30 * time.Second},
		{1000 * ms, 60 * time.Second}, {2500 * ms, 120 * time.Second},
		{3 * time.Second, 180 * time.Second}, {15 * time.Second, 600 * time.Second},
		{30 * time.Second, 600 * time.Second},
	}
	for _, c := range cases {
		if got := p.avoidFor(c.latency); got != c.want {
			t.Errorf("avoidFor(%v): got %v, want %v", c.latency, got, c.want)
		}
	}
}

func TestFaultTableAvoidsAndRecovers(t *testing.T) {
	clk := newManualClock()
	f := newFaultTable(DefaultFaultPolicy(), clk.now)
	if !f.available("a") {
		t.Fatal("unknown broker not available")
	}
	f.update("a", 600*time.Millisecond, false) // slow: 30 s
	f.update("b", 0, true)                     // failed: 600 s
	f.update("c", 20*time.Millisecond, false)  // fast: never avoided
	if f.available("a") || f.available("b") || !f.available("c") {
		t.Fatalf("after updates: a=%v b=%v c=%v", f.available("a"), f.available("b"), f.available("c"))
	}
	clk.advance(29 * time.Second)
	if f.available("a") {
		t.Fatal("slow broker available after 29 s of 30")
	}
	clk.advance(time.Second)
	if !f.available("a") || f.available("b") {
		t.Fatalf("after 30 s: a=%v b=%v", f.available("a"), f.available("b"))
	}
	if got := f.leastBad([]string{"b", "a"}); got != "a" {
		t.Fatalf("leastBad: got %q, want a (not avoided)", got)
	}
	f.update("a", 0, true)
	clk.advance(time.Second) // b ends 599 s earlier than a's new avoidance
	if got := f.leastBad([]string{"a", "b"}); got != "b" {
		t.Fatalf("leastBad: got %q, want b (recovers first)", got)
	}
	// A quick success lifts avoidance at once.
	f.update("b", time.Millisecond, false)
	if !f.available("b") {
		t.Fatal("fast success did not make b available")
	}
	clk.advance(600 * time.Second)
	if !f.available("a") {
		t.Fatal("failed broker still avoided after 600 s")
	}
}

func TestPickQueue(t *testing.T) {
	qs := []MessageQueue{
		{Topic: "T", BrokerName: "a", QueueID: 0}, {Topic: "T", BrokerName: "a", QueueID: 1},
		{Topic: "T", BrokerName: "b", QueueID: 0}, {Topic: "T", BrokerName: "b", QueueID: 1},
	}
	var ctr atomic.Uint32
	// Plain rotation.
	for i := 0; i < 8; i++ {
		if got := pickQueue(qs, &ctr, "", nil); got != qs[i%4] {
			t.Fatalf("rotation %d: got %v, want %v", i, got, qs[i%4])
		}
	}
	// A retry avoids the broker that just failed.
	for i := 0; i < 8; i++ {
		if got := pickQueue(qs, &ctr, "a", nil); got.BrokerName != "b" {
			t.Fatalf("retry %d went to %v", i, got)
		}
	}
	clk := newManualClock()
	f := newFaultTable(DefaultFaultPolicy(), clk.now)
	f.update("b", 0, true)
	for i := 0; i < 8; i++ {
		if got := pickQueue(qs, &ctr, "", f); got.BrokerName != "a" {
			t.Fatalf("fault avoidance %d went to %v", i, got)
		}
	}
	// Every broker avoided: the one recovering first is used.
	clk.advance(time.Second)
	f.update("a", 0, true)
	for i := 0; i < 4; i++ {
		if got := pickQueue(qs, &ctr, "", f); got.BrokerName != "b" {
			t.Fatalf("all avoided %d went to %v, want b", i, got)
		}
	}
	// A single-broker route still sends even right after that broker failed.
	one := qs[:2]
	if got := pickQueue(one, &ctr, "a", f); got.BrokerName != "a" {
		t.Fatalf("single broker: got %v", got)
	}
}

func TestProducerFaultAvoidanceWithClock(t *testing.T) {
	ns := startFakeNamesrv(t)
	a := startFakeBroker(t, "broker-a")
	b := startFakeBroker(t, "broker-b")
	ns.setRoute("T", 1, a, b)
	clk := newManualClock()
	p := startProducer(t, ns.addr, withClock(clk.now))
	p.faults.update("broker-a", 0, true) // as if the last send to broker-a failed
	ctx := t.Context()
	for i := 0; i < 4; i++ {
		if res, err := p.Send(ctx, NewMessage("T", []byte("m"))); err != nil || res.MessageQueue.BrokerName != "broker-b" {
			t.Fatalf("while avoided, send %d: %v %v", i, res, err)
		}
	}
	clk.advance(10 * time.Minute)
	brokers := map[string]int{}
	for i := 0; i < 4; i++ {
		res, err := p.Send(ctx, NewMessage("T", []byte("m")))
		if err != nil {
			t.Fatal(err)
		}
		brokers[res.MessageQueue.BrokerName]++
	}
	if brokers["broker-a"] != 2 || brokers["broker-b"] != 2 {
		t.Fatalf("after avoidance expired: %v, want 2 each", brokers)
	}
}

// atomicCounter is a round-robin counter for tests.
type atomicCounter struct{ atomic.Uint32 }

// testTime is a fixed instant for code that stamps times.
var testTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
