package sdk

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// Shape of the churn run. Each of churnSenders goroutines of one producer sends
// churnBurst messages every churnTick (together about 600 messages a second when sends
// keep up) for at least churnProduce; the membership changes one step of churnSteps
// every churnEvery while they do.
const (
	churnTopic    = "churn"
	churnGroup    = "CG_churn"
	churnQueues   = 8
	churnMembers  = 3
	churnSenders  = 3
	churnTick     = 10 * time.Millisecond
	churnBurst    = 2
	churnProduce  = 30 * time.Second
	churnEvery    = 3500 * time.Millisecond
	churnAfter    = 3 * time.Second  // production goes on this long after the last change
	churnSettle   = 20 * time.Second // bound on a rebalance after a change
	churnDrain    = 30 * time.Second // bound on consuming the backlog once production stops
	churnMaxDupPc = 5                // duplicates allowed, in percent of the messages produced
)

// churnSteps is the membership schedule: each step stops that many members (the oldest
// ones) and then starts as many new ones, so the group always keeps at least one member
// and is back at churnMembers after every step. One step replaces two members at once.
var churnSteps = []int{1, 1, 2, 1, 1, 1}

// churnLedger is what the producer and the listeners record: per message sequence number,
// whether its send was acknowledged or failed, and how often it was delivered.
type churnLedger struct {
	mu        sync.Mutex
	acked     map[int]bool
	failed    map[int]error // sends that returned an error or a status other than SEND_OK
	delivered map[int]int
	foreign   []string // deliveries that are not messages of this test
	deliver   int      // deliveries in total
}

func newChurnLedger() *churnLedger {
	return &churnLedger{acked: map[int]bool{}, failed: map[int]error{}, delivered: map[int]int{}}
}

func (l *churnLedger) ack(seq int) {
	l.mu.Lock()
	l.acked[seq] = true
	l.mu.Unlock()
}

func (l *churnLedger) fail(seq int, err error) {
	l.mu.Lock()
	l.failed[seq] = err
	l.mu.Unlock()
}

// record notes one delivery; a body that is not "churn-<seq>" with matching keys and
// topic is kept aside as foreign.
func (l *churnLedger) record(m *client.MessageExt) {
	body := string(m.Body)
	seq, err := strconv.Atoi(strings.TrimPrefix(body, "churn-"))
	l.mu.Lock()
	defer l.mu.Unlock()
	l.deliver++
	if err != nil || !strings.HasPrefix(body, "churn-") || m.Topic != churnTopic || !slices.Equal(m.Keys(), []string{body}) {
		l.foreign = append(l.foreign, fmt.Sprintf("%q topic %q keys %v", body, m.Topic, m.Keys()))
		return
	}
	l.delivered[seq]++
}

// missing returns the acknowledged messages not delivered yet.
func (l *churnLedger) missing() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int
	for seq := range l.acked {
		if l.delivered[seq] == 0 {
			out = append(out, seq)
		}
	}
	slices.Sort(out)
	return out
}

// churnMember is one consumer of the group and what it consumed.
type churnMember struct {
	name string
	pc   *client.PushConsumer
	got  atomic.Int64
}

// TestConsumerGroupChurn runs a clustering group of three push consumers under
// continuous production for at least 30 s while members are stopped and new ones
// started — one at a time, and once two at once — and checks that the union of what
// the members consumed is exactly what was produced: every acknowledged message
// delivered at least once, nothing delivered that was not sent. Duplicates are expected
// only around the changes (messages in flight when a queue moves) and must stay under
// 5 %.
func TestConsumerGroupChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("churn: 30 s of production")
	}
	began := time.Now()
	c := cluster.Start(t)
	c.CreateTopic(t, churnTopic, churnQueues)
	p := startProducer(t, c)
	ledger := newChurnLedger()

	var members []*churnMember // live members, oldest first; test goroutine only
	var all []*churnMember
	startMember := func() *churnMember {
		m := &churnMember{name: fmt.Sprintf("member-%d", len(all))}
		l := func(_ context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
			for _, msg := range msgs {
				ledger.record(msg)
			}
			m.got.Add(int64(len(msgs)))
			return client.ConsumeSuccess, nil
		}
		m.pc = startPush(t, c, churnGroup, churnTopic, client.SelectAll, l,
			client.WithConsumeFrom(client.ConsumeFromFirstOffset))
		all = append(all, m)
		return m
	}
	// stopMembers shuts its members down concurrently, so two leave at once as the group
	// sees it rather than one after the other; startMembers starts them in turn.
	startMembers := func(n int) {
		for i := 0; i < n; i++ {
			members = append(members, startMember())
		}
	}
	stopMembers := func(n int) {
		gone := members[:n]
		members = slices.Clone(members[n:])
		var wg sync.WaitGroup
		errs := make([]error, len(gone))
		for i, m := range gone {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				defer cancel()
				errs[i] = m.pc.Shutdown(ctx)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("shutdown %s: %v", gone[i].name, err)
			}
		}
	}
	// settled reports whether the live members split the topic's queues and the retry
	// queue between them with nothing shared, every member holding some, and the broker
	// listing exactly the live members: the rebalance after a change has finished.
	wantIDs := func() []string {
		ids := make([]string, len(members))
		for i, m := range members {
			ids[i] = m.pc.ClientID()
		}
		slices.Sort(ids)
		return ids
	}
	settled := func() bool {
		seen := map[client.MessageQueue]bool{}
		held := 0
		for _, m := range members {
			a := m.pc.Assignment()
			if len(a) == 0 {
				return false
			}
			held += len(a)
			for _, q := range a {
				seen[q] = true
			}
		}
		if held != churnQueues+1 || len(seen) != churnQueues+1 {
			return false
		}
		ids := slices.Clone(c.ConsumerIDs(t, churnGroup))
		slices.Sort(ids)
		return slices.Equal(ids, wantIDs())
	}

	startMembers(churnMembers)
	testutil.Eventually(t, churnSettle, "the first three members to split the queues", settled)

	// The producers: churnSenders goroutines, each sending a burst every tick until told
	// to stop, each message acknowledged or not. A ticker paces each; when sends are
	// slower than the pace, ticks are dropped and the rate is what the sends allow.
	stopProducing := make(chan struct{})
	var produced sync.WaitGroup
	var nextSeq atomic.Int64
	// stopProduction ends the senders; deferred too, so a failing test stops them before
	// its cleanups shut the producer down.
	stopProduction := sync.OnceFunc(func() {
		close(stopProducing)
		produced.Wait()
	})
	defer stopProduction()
	for w := 0; w < churnSenders; w++ {
		produced.Add(1)
		go func() {
			defer produced.Done()
			tick := time.NewTicker(churnTick)
			defer tick.Stop()
			for {
				select {
				case <-stopProducing:
					return
				case <-tick.C:
				}
				for i := 0; i < churnBurst; i++ {
					seq := int(nextSeq.Add(1) - 1)
					body := fmt.Sprintf("churn-%d", seq)
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					res, err := p.Send(ctx, client.NewMessage(churnTopic, []byte(body)).WithKeys(body))
					cancel()
					switch {
					case err != nil:
						ledger.fail(seq, err)
					case res.Status != client.SendOK:
						ledger.fail(seq, fmt.Errorf("status %v", res.Status))
					default:
						ledger.ack(seq)
					}
				}
			}
		}()
	}
	prodStart := time.Now()

	// The churn: one step every churnEvery, each waited on until the group has
	// rebalanced, so every step is a real change of who reads which queue.
	changes := 0
	var lastChange time.Time
	pace := time.NewTicker(churnEvery)
	for i, n := range churnSteps {
		<-pace.C
		stopMembers(n)
		changes++
		startMembers(n)
		changes++
		lastChange = time.Now()
		testutil.Eventually(t, churnSettle, fmt.Sprintf("the group to rebalance after step %d (%d replaced)", i, n), settled)
		t.Logf("churn step %d at %v: replaced %d, members %v, %d sends so far",
			i, time.Since(prodStart).Round(time.Millisecond), n, wantIDs(), nextSeq.Load())
	}
	pace.Stop()
	stopAt := prodStart.Add(churnProduce)
	if after := lastChange.Add(churnAfter); after.After(stopAt) {
		stopAt = after
	}
	<-time.After(time.Until(stopAt)) // the production phase's length, not synchronization
	stopProduction()
	prodTime := time.Since(prodStart)

	var missing []int
	if !testutil.Poll(churnDrain, func() bool {
		missing = ledger.missing()
		return len(missing) == 0
	}) {
		t.Errorf("%d acknowledged messages never consumed, first %v", len(missing), missing[:min(len(missing), 20)])
	}

	ledger.mu.Lock()
	defer ledger.mu.Unlock()
	acked, failed := len(ledger.acked), len(ledger.failed)
	if acked == 0 {
		t.Fatal("no send was acknowledged")
	}
	// Nothing consumed that was not sent: a delivery must be an acknowledged message or
	// one whose send failed on the client side after the broker may have stored it.
	var unknown []int
	for seq := range ledger.delivered {
		if !ledger.acked[seq] {
			if _, ok := ledger.failed[seq]; !ok {
				unknown = append(unknown, seq)
			}
		}
	}
	if len(unknown) > 0 || len(ledger.foreign) > 0 {
		t.Errorf("consumed messages never sent: seqs %v, foreign %v", unknown, ledger.foreign)
	}
	if failed > 0 {
		errs := slices.Collect(maps.Values(ledger.failed))
		t.Logf("%d sends not acknowledged (not counted as produced), e.g. %v", failed, errs[0])
		if failed*100 > acked {
			t.Errorf("%d of %d sends failed", failed, acked+failed)
		}
	}
	distinct := len(ledger.delivered)
	dups := ledger.deliver - distinct
	perMember := make([]string, len(all))
	for i, m := range all {
		perMember[i] = fmt.Sprintf("%s:%d", m.name, m.got.Load())
	}
	t.Logf("churn: produced %d acknowledged (%d attempts, %.0f msg/s over %v), consumed %d distinct in %d deliveries, "+
		"%d duplicates (%.2f %%), %d membership changes over %d members, wall time %v; per member %v",
		acked, nextSeq.Load(), float64(nextSeq.Load())/prodTime.Seconds(), prodTime.Round(time.Millisecond),
		distinct, ledger.deliver, dups, 100*float64(dups)/float64(acked), changes, len(all),
		time.Since(began).Round(time.Millisecond), perMember)
	if dups*100 > acked*churnMaxDupPc {
		t.Errorf("%d duplicates, more than %d %% of %d", dups, churnMaxDupPc, acked)
	}
	for _, m := range all {
		if m.got.Load() == 0 {
			t.Errorf("%s consumed nothing while it held queues", m.name)
		}
	}
}
