package client

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/client/trace"
)

// A full queue drops records without waiting and counts them; what was queued is sent
// in batches carrying the records' keys; a failing send counts its records as failed.
func TestTracerQueueBatchAndCounters(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1) // the sender is inside send, holding its batch
	var mu sync.Mutex
	var bodies [][]byte
	var keys [][]string
	fail := false
	send := func(ctx context.Context, body []byte, k []string) error {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return errors.New("refused")
		}
		bodies, keys = append(bodies, body), append(keys, k)
		return nil
	}
	tr := newTracer(4, send, "10.0.0.1", zerolog.Nop())
	rec := func(i int) trace.Record {
		return trace.Record{Type: trace.SubBefore, MsgID: "ID" + string(rune('a'+i)), Keys: "k"}
	}
	// The first record is taken by the sender, which then blocks; 4 more fill the
	// queue; the rest are dropped at once. The queue being empty is not enough: the
	// sender may still be collecting its batch, so wait until it is inside send.
	tr.add(rec(0))
	select {
	case <-entered:
	case <-time.After(5 * time.Second):
		t.Fatal("the sender never called send")
	}
	start := time.Now()
	for i := 1; i < 10; i++ {
		tr.add(rec(i))
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("add waited %v with a full queue", d)
	}
	if s := tr.stats(); s.Dropped != 5 {
		t.Fatalf("dropped %d, want 5", s.Dropped)
	}
	close(release)
	if err := tr.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := tr.stats(); s != (TraceStats{Sent: 5, Dropped: 5}) {
		t.Fatalf("stats %+v, want 5 sent, 5 dropped", s)
	}
	var all []trace.Record
	for _, b := range bodies {
		recs, err := trace.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, recs...)
	}
	if len(all) != 5 || all[0].MsgID != "IDa" || all[4].MsgID != "IDe" {
		t.Fatalf("sent records %+v", all)
	}
	if len(bodies) != 2 || strings.Join(keys[1], " ") != "IDb k IDc IDd IDe" {
		t.Fatalf("batches %d, keys %v", len(bodies), keys)
	}
	tr.add(rec(0)) // after close
	if s := tr.stats(); s.Dropped != 6 {
		t.Fatalf("record after close: dropped %d, want 6", s.Dropped)
	}

	fail = true
	failing := newTracer(8, send, "", zerolog.Nop())
	for i := 0; i < 3; i++ {
		failing.add(rec(i))
	}
	if err := failing.close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := failing.stats(); s != (TraceStats{Failed: 3}) {
		t.Fatalf("failing sender stats %+v, want 3 failed", s)
	}
}
