package pop

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/message"
)

func TestReceiveAckRedeliverWithAttempts(t *testing.T) {
	e := newEnv(t)
	e.send(0, 5, "a")
	r1 := e.receive(0, 3, false)
	if got := offsets(r1); got != "[0:0@1 0:1@1 0:2@1]" {
		t.Fatalf("first receive: %s", got)
	}
	if h := r1.Messages[0].Handle; h.CkOffset != 0 || h.PopTime != e.clk.Now().UnixMilli() || h.InvisibleTime != 60000 || h.BrokerName != "broker-a" {
		t.Fatalf("handle %+v", h)
	}
	if err := e.s.Ack(context.Background(), testGroup, testTopic, r1.Messages[1].Handle); err != nil {
		t.Fatal(err)
	}
	// Acking twice: the second names no current delivery.
	if err := e.s.Ack(context.Background(), testGroup, testTopic, r1.Messages[1].Handle); !errors.Is(err, ErrStaleHandle) {
		t.Fatalf("second ack: %v", err)
	}
	if off, _ := e.offs.Get(testGroup, testTopic, 0); off != 0 {
		t.Fatalf("consume offset %d, want 0 (offset 0 still in flight)", off)
	}
	// Still invisible: only the two never delivered.
	if got := offsets(e.receive(0, 10, false)); got != "[0:3@1 0:4@1]" {
		t.Fatalf("second receive: %s", got)
	}
	e.clk.Advance(61 * time.Second)
	r3 := e.receive(0, 10, false)
	if got := offsets(r3); got != "[0:0@2 0:2@2 0:3@2 0:4@2]" {
		t.Fatalf("after the invisible time: %s", got)
	}
	for _, m := range r3.Messages {
		if rt := message.RecordReconsumeTimes(m.Record); rt != 1 {
			t.Fatalf("offset %d: reconsume times %d, want 1", m.Offset, rt)
		}
	}
	// The old handle of offset 0 is stale now.
	if err := e.s.Ack(context.Background(), testGroup, testTopic, r1.Messages[0].Handle); !errors.Is(err, ErrStaleHandle) {
		t.Fatalf("ack of a redelivered message's old handle: %v", err)
	}
	for _, m := range r3.Messages {
		if err := e.s.Ack(context.Background(), testGroup, testTopic, m.Handle); err != nil {
			t.Fatal(err)
		}
	}
	if off, _ := e.offs.Get(testGroup, testTopic, 0); off != 5 {
		t.Fatalf("consume offset %d, want 5", off)
	}
	e.clk.Advance(10 * time.Minute)
	if got := offsets(e.receive(0, 10, false)); got != "[]" {
		t.Fatalf("acked messages came back: %s", got)
	}
}

func TestChangeInvisible(t *testing.T) {
	e := newEnv(t)
	e.send(1, 1, "a")
	r := e.receive(1, 1, false)
	h := r.Messages[0].Handle
	e.clk.Advance(time.Second)
	nh, err := e.s.ChangeInvisible(context.Background(), testGroup, testTopic, h, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if nh.PopTime != e.clk.Now().UnixMilli() || nh.InvisibleTime != 5000 || nh.Offset != 0 || nh.CkOffset != 0 {
		t.Fatalf("new handle %+v", nh)
	}
	if err := e.s.Ack(context.Background(), testGroup, testTopic, h); !errors.Is(err, ErrStaleHandle) {
		t.Fatalf("ack with the old handle: %v", err)
	}
	e.clk.Advance(4 * time.Second)
	if got := offsets(e.receive(1, 1, false)); got != "[]" {
		t.Fatalf("visible before its new time: %s", got)
	}
	e.clk.Advance(time.Second)
	if got := offsets(e.receive(1, 1, false)); got != "[1:0@2]" {
		t.Fatalf("after the new time: %s", got)
	}
	if _, err := e.s.ChangeInvisible(context.Background(), testGroup, testTopic, nh, time.Second); !errors.Is(err, ErrStaleHandle) {
		t.Fatalf("change of a redelivered message's handle: %v", err)
	}
}

func TestDeadLetterAfterMaxAttempts(t *testing.T) {
	e := newEnv(t)
	e.send(0, 2, "a")
	for i := 1; i <= attempts; i++ {
		r := e.receive(0, 1, false)
		if len(r.Messages) != 1 || r.Messages[0].Offset != 0 || r.Messages[0].Attempt != int32(i) {
			t.Fatalf("attempt %d: %s", i, offsets(r))
		}
		e.clk.Advance(61 * time.Second)
	}
	e.s.Revive()
	if off, _ := e.offs.Get(testGroup, testTopic, 0); off != 1 {
		t.Fatalf("consume offset %d after the DLQ, want 1", off)
	}
	testutil.Eventually(t, 5*time.Second, "the DLQ copy dispatched", func() bool { return e.st.MaxOffset(dlqTopic, 0) == 1 })
	g := e.st.GetMessages(dlqTopic, 0, 0, 10, 0, nil)
	if len(g.Records) != 1 {
		t.Fatalf("DLQ holds %d messages", len(g.Records))
	}
	m, _, err := message.DecodeRecord(g.Records[0])
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Body) != "m0" || m.ReconsumeTimes != attempts || m.Properties[message.PropRetryTopic] != testTopic {
		t.Fatalf("DLQ copy: body %q reconsume %d props %v", m.Body, m.ReconsumeTimes, m.Properties)
	}
	// The next receive gets offset 1, not the dead letter.
	if got := offsets(e.receive(0, 5, false)); got != "[0:1@1]" {
		t.Fatalf("after the DLQ: %s", got)
	}
}

func TestFIFOOneBatchInFlightPerQueue(t *testing.T) {
	e := newEnv(t)
	e.send(0, 4, "a")
	e.send(1, 2, "a")
	r := e.receive(-1, 4, true)
	// Each queue gives its first messages; the batch fills from both.
	var q0 []Message
	for _, m := range r.Messages {
		if m.QueueID == 0 {
			q0 = append(q0, m)
		}
		if m.Handle.ReviveQid != ReviveQidFIFO {
			t.Fatalf("FIFO handle %+v", m.Handle)
		}
	}
	if got := offsets(r); got != "[0:0@1 0:1@1 1:0@1 1:1@1]" && got != "[0:0@1 0:1@1 0:2@1 0:3@1]" {
		t.Fatalf("first FIFO receive: %s", got)
	}
	if got := offsets(e.receive(0, 4, true)); got != "[]" && len(q0) > 0 {
		t.Fatalf("queue 0 delivered while its batch is in flight: %s", got)
	}
	// Acking part of the batch keeps the queue blocked; acking all of it frees it.
	for i, m := range q0 {
		if err := e.s.Ack(context.Background(), testGroup, testTopic, m.Handle); err != nil {
			t.Fatal(err)
		}
		got := offsets(e.receive(0, 4, true))
		if i < len(q0)-1 && got != "[]" {
			t.Fatalf("queue 0 delivered with %d of its batch unacked: %s", len(q0)-1-i, got)
		}
		if i == len(q0)-1 && got != "[0:2@1 0:3@1]" && len(q0) == 2 {
			t.Fatalf("after the batch: %s", got)
		}
	}
}

func TestFIFORedeliversInOrder(t *testing.T) {
	e := newEnv(t)
	e.send(0, 3, "a")
	r := e.receive(0, 2, true)
	if got := offsets(r); got != "[0:0@1 0:1@1]" {
		t.Fatalf("first: %s", got)
	}
	// Offset 1 acked, 0 not: after the invisible time 0 comes again before 2.
	if err := e.s.Ack(context.Background(), testGroup, testTopic, r.Messages[1].Handle); err != nil {
		t.Fatal(err)
	}
	e.clk.Advance(61 * time.Second)
	r = e.receive(0, 2, true)
	if got := offsets(r); got != "[0:0@2 0:2@1]" {
		t.Fatalf("redelivery: %s", got)
	}
	if r.Messages[0].Offset != 0 || r.Messages[1].Offset != 2 {
		t.Fatalf("out of order: %s", offsets(r))
	}
}

func TestLongPollWakesOnArrival(t *testing.T) {
	e := newEnv(t)
	done := make(chan *ReceiveResult, 1)
	go func() {
		res, err := e.s.Receive(context.Background(), ReceiveRequest{Group: testGroup, Topic: testTopic, QueueID: -1, Queues: 2,
			MaxNum: 4, InvisibleTime: time.Minute, LongPoll: 20 * time.Second, InitMode: InitMin})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	// Let the receive find nothing and wait; then a message arrives.
	start := time.Now()
	e.send(1, 1, "a")
	select {
	case res := <-done:
		if got := offsets(res); got != "[1:0@1]" {
			t.Fatalf("long poll answered %s", got)
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("woken after %v", time.Since(start))
		}
	case <-time.After(15 * time.Second):
		t.Fatal("long poll not woken by the arrival")
	}
}

func TestLongPollTimesOutEmpty(t *testing.T) {
	e := newEnv(t)
	start := time.Now()
	res, err := e.s.Receive(context.Background(), ReceiveRequest{Group: testGroup, Topic: testTopic, QueueID: 0, Queues: 2,
		MaxNum: 1, InvisibleTime: time.Minute, LongPoll: 200 * time.Millisecond})
	if err != nil || len(res.Messages) != 0 {
		t.Fatalf("got %v %v", res, err)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("answered after %v, before its long poll", d)
	}
}

func TestFilterSkipsAreDone(t *testing.T) {
	e := newEnv(t)
	e.send(0, 2, "a")
	e.send(0, 2, "b")
	want := message.TagsHash("b")
	res, err := e.s.Receive(context.Background(), ReceiveRequest{Group: testGroup, Topic: testTopic, QueueID: 0, Queues: 2,
		MaxNum: 10, InvisibleTime: time.Minute, InitMode: InitMin, Filter: func(c int64) bool { return c == want }})
	if err != nil {
		t.Fatal(err)
	}
	if got := offsets(res); got != "[0:2@1 0:3@1]" {
		t.Fatalf("filtered receive: %s", got)
	}
	for _, m := range res.Messages {
		if err := e.s.Ack(context.Background(), testGroup, testTopic, m.Handle); err != nil {
			t.Fatal(err)
		}
	}
	if off, _ := e.offs.Get(testGroup, testTopic, 0); off != 4 {
		t.Fatalf("consume offset %d, want 4", off)
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t)
	for _, r := range []ReceiveRequest{
		{Group: testGroup, Topic: testTopic, QueueID: 0, Queues: 2, MaxNum: 33, InvisibleTime: time.Minute},
		{Group: testGroup, Topic: testTopic, QueueID: 2, Queues: 2, MaxNum: 1, InvisibleTime: time.Minute},
		{Group: testGroup, Topic: testTopic, QueueID: 0, Queues: 2, MaxNum: 1, InvisibleTime: time.Millisecond},
	} {
		if _, err := e.s.Receive(context.Background(), r); !errors.Is(err, ErrBadRequest) {
			t.Fatalf("%+v: %v", r, err)
		}
	}
}

// TestRecoveryFromLog closes and reopens the store: the state comes back from the
// revive log (and, the second time, from the snapshot plus the log after it).
func TestRecoveryFromLog(t *testing.T) {
	for _, snap := range []bool{false, true} {
		e := newEnv(t)
		e.snap = snap
		e.close()
		e.open()
		e.send(0, 6, "a")
		r := e.receive(0, 6, false)
		if snap {
			if err := e.s.Snapshot(); err != nil {
				t.Fatal(err)
			}
		}
		for _, m := range r.Messages[:3] {
			if err := e.s.Ack(context.Background(), testGroup, testTopic, m.Handle); err != nil {
				t.Fatal(err)
			}
		}
		h4 := r.Messages[4].Handle
		nh, err := e.s.ChangeInvisible(context.Background(), testGroup, testTopic, h4, 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		e.close()
		e.open()
		if got := offsets(e.receive(0, 10, false)); got != "[]" {
			t.Fatalf("snapshot %v: visible right after the restart: %s", snap, got)
		}
		e.clk.Advance(61 * time.Second)
		if got := offsets(e.receive(0, 10, false)); got != "[0:3@2 0:5@2]" {
			t.Fatalf("snapshot %v: after the invisible time: %s", snap, got)
		}
		// The changed delivery kept its new time and handle across the restart.
		if err := e.s.Ack(context.Background(), testGroup, testTopic, nh); err != nil {
			t.Fatalf("snapshot %v: ack with the changed handle: %v", snap, err)
		}
		e.clk.Advance(time.Hour)
		if got := offsets(e.receive(0, 10, false)); got != "[0:3@3 0:5@3]" {
			t.Fatalf("snapshot %v: later: %s", snap, got)
		}
	}
}

// TestResetForgetsState: after Reset the in-flight messages are forgotten and the
// group starts again from its committed offset — also after a restart.
func TestResetForgetsState(t *testing.T) {
	e := newEnv(t)
	e.send(0, 3, "a")
	if got := offsets(e.receive(0, 2, false)); got != "[0:0@1 0:1@1]" {
		t.Fatalf("first: %s", got)
	}
	if err := e.s.Reset("", testTopic); err != nil {
		t.Fatal(err)
	}
	e.offs.mu.Lock()
	delete(e.offs.m, qkey{testGroup, testTopic, 0}) // the broker drops the topic's offsets too
	e.offs.mu.Unlock()
	e.close()
	e.open()
	if got := offsets(e.receive(0, 5, false)); got != "[0:0@1 0:1@1 0:2@1]" {
		t.Fatalf("after the reset and a restart: %s", got)
	}
}
