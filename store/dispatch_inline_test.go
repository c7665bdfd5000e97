package store

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/message"
)

// TestInlineDispatchBeforePutReturns: under ASYNC_FLUSH an append on an idle store is
// dispatched on the appender's goroutine, so its arrival is heard before Put returns.
// Under SYNC_FLUSH the dispatcher goroutine does it, after the flusher's round.
func TestInlineDispatchBeforePutReturns(t *testing.T) {
	s := openT(t, testOptions(t, AsyncFlush))
	var mu sync.Mutex
	var heard int64
	s.Subscribe(func(a Arrival) {
		mu.Lock()
		heard = a.MaxOffset
		mu.Unlock()
	})
	early := 0
	for i := 0; i < 50; i++ {
		r := put(t, s, msg{topic: "T", queue: 0, body: body(i, 100)})
		mu.Lock()
		if heard == r.QueueOffset+1 {
			early++
		}
		mu.Unlock()
		syncDispatch(t, s) // the next put starts on an idle dispatcher
	}
	// The dispatcher goroutine may be finishing a round (woken by syncDispatch) when a
	// put looks; most puts must find it idle.
	if early < 25 {
		t.Fatalf("%d of 50 appends were dispatched before Put returned, want most", early)
	}
}

// TestInlineDispatchConcurrentAppenders: appenders racing with each other and with the
// dispatcher goroutine (a projection being added meanwhile) deliver every arrival
// exactly once, in queue order, each unit readable with its whole body when heard.
func TestInlineDispatchConcurrentAppenders(t *testing.T) {
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		s := openT(t, testOptions(t, mode))
		const queues, perQueue = 4, 300
		var mu sync.Mutex
		next := make([]int64, queues) // the MaxOffset each queue's next arrival must have
		var bad []string
		s.Subscribe(func(a Arrival) {
			r := s.GetMessages(a.Topic, a.QueueID, a.MaxOffset-1, 1, 0, nil)
			mu.Lock()
			defer mu.Unlock()
			if want := next[a.QueueID] + 1; a.MaxOffset != want {
				bad = append(bad, fmt.Sprintf("queue %d: arrival with max %d, want %d", a.QueueID, a.MaxOffset, want))
			}
			next[a.QueueID] = a.MaxOffset
			if r.Status != Found || len(r.Records) != 1 {
				bad = append(bad, fmt.Sprintf("queue %d offset %d: get says %s", a.QueueID, a.MaxOffset-1, r.Status))
				return
			}
			want := body(int(a.QueueID)*perQueue+int(a.MaxOffset-1), 300)
			if got := message.RecordBody(r.Records[0]); !bytes.Equal(got, want) {
				bad = append(bad, fmt.Sprintf("queue %d offset %d: body %.12q, want %.12q", a.QueueID, a.MaxOffset-1, got, want))
			}
		})
		var wg sync.WaitGroup
		for q := 0; q < queues; q++ {
			wg.Add(1)
			go func(q int) {
				defer wg.Done()
				for i := 0; i < perQueue; i++ {
					if _, err := s.Put(encode(t, msg{topic: "C", queue: int32(q), body: body(q*perQueue+i, 300)})); err != nil {
						t.Errorf("put %d/%d: %v", q, i, err)
						return
					}
				}
			}(q)
		}
		p := &countingProjection{}
		if err := s.AddProjection(p); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		testutil.Eventually(t, 10*time.Second, "every arrival heard", func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, n := range next {
				if n != perQueue {
					return false
				}
			}
			return true
		})
		syncDispatch(t, s)
		mu.Lock()
		defer mu.Unlock()
		if len(bad) > 0 {
			t.Fatalf("%d wrong arrivals, first: %s", len(bad), bad[0])
		}
		if got := p.count(); got != queues*perQueue {
			t.Fatalf("projection saw %d records, want %d", got, queues*perQueue)
		}
	})
}

// countingProjection counts the records it is fed, checking they come in log order.
type countingProjection struct {
	mu   sync.Mutex
	n    int
	last int64
	err  error
}

func (p *countingProjection) Name() string   { return "counting" }
func (p *countingProjection) Applied() int64 { return 0 }
func (p *countingProjection) Apply(rec []byte, off int64) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if off < p.last && p.err == nil {
		p.err = fmt.Errorf("record at %d fed after %d", off, p.last)
	}
	p.last = off + int64(len(rec))
	p.n++
	return nil
}
func (p *countingProjection) Truncate(int64) error { return nil }

func (p *countingProjection) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return -1
	}
	return p.n
}
