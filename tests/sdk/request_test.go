package sdk

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// requestTimeout bounds one request round trip in these tests.
const requestTimeout = 15 * time.Second

// responderLog is what a responder saw: the CORRELATION_ID each request body arrived
// with, and the replies it failed to send.
type responderLog struct {
	mu     sync.Mutex
	seen   map[string]string
	failed []string
}

func (r *responderLog) corrID(body string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[body]
}

// failures returns the replies that failed so far. Only those before the requests
// completed count: a redelivery after the test's requester shut down fails rightly.
func (r *responderLog) failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.failed...)
}

// startResponder starts a push consumer of topic whose every message is answered with
// "reply:<body>" through its own producer.
func startResponder(t *testing.T, c *cluster.Cluster, topic string) *responderLog {
	t.Helper()
	rp := startProducer(t, c, client.WithProducerGroup("PG_responder"))
	log := &responderLog{seen: map[string]string{}}
	startPush(t, c, "CG_responder", topic, client.SelectAll, func(ctx context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
		for _, m := range msgs {
			reply, err := client.NewReplyMessage(m, []byte("reply:"+string(m.Body)))
			if err != nil {
				t.Errorf("NewReplyMessage of %s: %v", m.Body, err)
				continue
			}
			log.mu.Lock()
			log.seen[string(m.Body)] = m.Property(client.PropertyCorrelationID)
			log.mu.Unlock()
			if _, err := rp.SendReply(ctx, reply); err != nil {
				log.mu.Lock()
				log.failed = append(log.failed, fmt.Sprintf("%s: %v", m.Body, err))
				log.mu.Unlock()
			}
		}
		return client.ConsumeSuccess, nil
	}, client.WithConsumeFrom(client.ConsumeFromFirstOffset))
	return log
}

// TestRequestReply runs 20 Request and 20 RequestAsync calls at once against a
// responder built on the push consumer; every reply carries its request's correlation
// id and the answer to its body.
func TestRequestReply(t *testing.T) {
	c := cluster.Start(t)
	const topic = "rpc-sdk"
	c.CreateTopic(t, topic, 2)
	seen := startResponder(t, c, topic)
	rq := startProducer(t, c)

	type result struct {
		body  string
		reply *client.MessageExt
		err   error
		took  time.Duration
	}
	results := make(chan result, 40)
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf("sync-%d", i)
			start := time.Now()
			reply, err := rq.Request(context.Background(), client.NewMessage(topic, []byte(body)), requestTimeout)
			results <- result{body, reply, err, time.Since(start)}
		}()
		body := fmt.Sprintf("async-%d", i)
		start := time.Now()
		err := rq.RequestAsync(context.Background(), client.NewMessage(topic, []byte(body)), requestTimeout, func(reply *client.MessageExt, err error) {
			results <- result{body, reply, err, time.Since(start)}
		})
		if err != nil {
			t.Fatalf("RequestAsync %s: %v", body, err)
		}
	}
	wg.Wait()
	var took []time.Duration
	corr := map[string]bool{}
	for i := 0; i < 40; i++ {
		var r result
		select {
		case r = <-results:
		case <-time.After(2 * requestTimeout):
			t.Fatalf("only %d of 40 requests completed", i)
		}
		if r.err != nil {
			t.Errorf("request %s: %v", r.body, r.err)
			continue
		}
		if got := string(r.reply.Body); got != "reply:"+r.body {
			t.Errorf("request %s: reply body %q", r.body, got)
		}
		id := r.reply.Property(client.PropertyCorrelationID)
		if id == "" || corr[id] {
			t.Errorf("request %s: correlation id %q empty or repeated", r.body, id)
		}
		corr[id] = true
		if want := seen.corrID(r.body); id != want {
			t.Errorf("request %s: reply correlation id %q, the responder saw %q", r.body, id, want)
		}
		if r.reply.Topic != c.ClusterName()+"_REPLY_TOPIC" || r.reply.Property(client.PropertyMsgType) != "reply" {
			t.Errorf("request %s: reply topic %q, MSG_TYPE %q", r.body, r.reply.Topic, r.reply.Property(client.PropertyMsgType))
		}
		took = append(took, r.took)
	}
	if f := seen.failures(); len(f) > 0 {
		t.Errorf("%d replies failed: %v", len(f), f)
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	if len(took) > 0 {
		t.Logf("request round trip over %d requests: p50 %v, max %v", len(took), took[len(took)/2], took[len(took)-1])
	}
}

// TestRequestTimesOut: without a responder the request fails with ErrRequestTimeout
// after its timeout, and a RequestAsync callback gets the same.
func TestRequestTimesOut(t *testing.T) {
	c := cluster.Start(t)
	const topic = "rpc-nobody"
	c.CreateTopic(t, topic, 1)
	rq := startProducer(t, c)
	start := time.Now()
	_, err := rq.Request(context.Background(), client.NewMessage(topic, []byte("x")), 300*time.Millisecond)
	if !errors.Is(err, client.ErrRequestTimeout) {
		t.Fatalf("Request: got %v, want ErrRequestTimeout", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond || d > 5*time.Second {
		t.Errorf("Request returned after %v, want about 300ms", d)
	}
	done := make(chan error, 1)
	if err := rq.RequestAsync(context.Background(), client.NewMessage(topic, []byte("y")), 300*time.Millisecond, func(_ *client.MessageExt, err error) { done <- err }); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, client.ErrRequestTimeout) {
			t.Fatalf("RequestAsync callback: got %v, want ErrRequestTimeout", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RequestAsync callback never ran")
	}
}

// TestReplyToGoneRequester: the requester shut down before the reply; the replier's
// SendReply fails with SYSTEM_ERROR and a remark naming the missing requester.
func TestReplyToGoneRequester(t *testing.T) {
	c := cluster.Start(t)
	const topic = "rpc-gone"
	c.CreateTopic(t, topic, 1)
	rq := startProducer(t, c)
	got := make(chan *client.MessageExt, 1)
	startPush(t, c, "CG_gone", topic, client.SelectAll, func(_ context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
		for _, m := range msgs {
			got <- m
		}
		return client.ConsumeSuccess, nil
	}, client.WithConsumeFrom(client.ConsumeFromFirstOffset))
	if err := rq.RequestAsync(context.Background(), client.NewMessage(topic, []byte("q")), requestTimeout, func(*client.MessageExt, error) {}); err != nil {
		t.Fatal(err)
	}
	var req *client.MessageExt
	select {
	case req = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("request never consumed")
	}
	shutdown(t, rq)
	reply, err := client.NewReplyMessage(req, []byte("late"))
	if err != nil {
		t.Fatal(err)
	}
	rp := startProducer(t, c, client.WithProducerGroup("PG_late"))
	_, err = rp.SendReply(context.Background(), reply)
	cd, ok := client.CodeOf(err)
	if !ok || cd != code.SystemError || !strings.Contains(err.Error(), "channel of <"+req.Property(client.PropertyReplyToClient)+"> not found") {
		t.Fatalf("SendReply to a gone requester: got %v (code %d), want SYSTEM_ERROR naming the requester", err, cd)
	}
}
