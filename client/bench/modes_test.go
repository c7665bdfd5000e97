package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeProducer fails the sends fail says should fail, with the error it returns.
type fakeProducer struct {
	n    atomic.Int64
	fail func(i int64) error
	shut atomic.Bool
}

func (f *fakeProducer) Sender(topic string, bodies [][]byte) Sender { return f }
func (f *fakeProducer) Shutdown()                                   { f.shut.Store(true) }
func (f *fakeProducer) Send(context.Context) error                  { return f.fail(f.n.Add(1)) }
func (f *fakeProducer) SendAsync(_ context.Context, done func(error)) error {
	go done(f.fail(f.n.Add(1)))
	return nil
}

func loadConfig(out, errOut *bytes.Buffer, async bool) LoadConfig {
	return LoadConfig{Topic: "T", Size: 8, Threads: 2, Window: 4, Batch: 1, Count: 40, Async: async,
		Interval: time.Hour, Out: out, Err: errOut}
}

// TestProduceEverySendFailed: a run in which no send succeeded ends with an error
// wrapping ErrAllSendsFailed that names the first reason, and the summary lists each
// distinct reason once with its count.
func TestProduceEverySendFailed(t *testing.T) {
	for _, async := range []bool{false, true} {
		var out, errOut bytes.Buffer
		f := &fakeProducer{fail: func(i int64) error {
			if i%4 == 0 {
				return errors.New("CODE: 17 DESC: topic[T] not exist")
			}
			return errors.New("no route for topic T")
		}}
		err := ProduceWith(context.Background(), loadConfig(&out, &errOut, async), f)
		if !errors.Is(err, ErrAllSendsFailed) || !strings.Contains(err.Error(), "40 sends") {
			t.Fatalf("async=%v: err %v", async, err)
		}
		if !f.shut.Load() {
			t.Fatal("producer not shut down")
		}
		if !strings.Contains(out.String(), "[summary] Send TPS: 0 Messages: 0 Failed sends: 40 ") {
			t.Fatalf("summary: %q", out.String())
		}
		sum := errOut.String()
		if !strings.Contains(sum, "[summary] Send Failed reason (30, first at ") || !strings.Contains(sum, "): no route for topic T\n") ||
			!strings.Contains(sum, "[summary] Send Failed reason (10, first at ") || !strings.Contains(sum, "): CODE: 17 DESC: topic[T] not exist\n") ||
			strings.Count(sum, "\n") != 2 {
			t.Fatalf("async=%v: reasons:\n%s", async, sum)
		}
	}
}

// TestProduceSomeFailed: a run with some sends stored succeeds, and still says why the
// others failed.
func TestProduceSomeFailed(t *testing.T) {
	var out, errOut bytes.Buffer
	f := &fakeProducer{fail: func(i int64) error {
		if i%2 == 0 {
			return errors.New("CODE: 14 DESC: service not available now")
		}
		return nil
	}}
	if err := ProduceWith(context.Background(), loadConfig(&out, &errOut, false), f); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Messages: 20 Failed sends: 20 ") ||
		!strings.Contains(errOut.String(), "[summary] Send Failed reason (20, first at ") {
		t.Fatalf("stdout %q stderr %q", out.String(), errOut.String())
	}
}

// TestFailuresBounded: reasons past maxReasons distinct texts are counted, not kept;
// each is printed as new only once.
func TestFailuresBounded(t *testing.T) {
	var f failures
	var b bytes.Buffer
	for i := range 1000 {
		f.add(fmt.Errorf("offset %d\nmoved", i%100))
		if i == 0 {
			f.printNew(&b)
		}
	}
	f.printNew(&b)
	if n := strings.Count(b.String(), "\n"); n != maxReasons || !strings.Contains(b.String(), "(new, 1 so far): offset 0 moved\n") ||
		!strings.Contains(b.String(), "(new, 10 so far): offset 1 moved\n") {
		t.Fatalf("%d new lines:\n%s", n, b.String())
	}
	b.Reset()
	f.printNew(&b)
	if b.Len() != 0 {
		t.Fatalf("printed again: %q", b.String())
	}
	f.printSummary(&b)
	if !strings.Contains(b.String(), "[summary] Send Failed reason (10, first at ") ||
		!strings.HasSuffix(b.String(), fmt.Sprintf("[summary] Send Failed reason (%d): other reasons past the first %d\n", 1000-10*maxReasons, maxReasons)) {
		t.Fatalf("summary:\n%s", b.String())
	}
	if f.first() != "offset 0 moved" {
		t.Fatalf("first %q", f.first())
	}
}

func TestPayload(t *testing.T) {
	if got := string(Payload(30)); got != "abcdefghijklmnopqrstuvwxyzabcd" {
		t.Fatalf("payload %q", got)
	}
}
