package compat_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/rocketmq-client-go/v2/consumer"
	"github.com/apache/rocketmq-client-go/v2/primitive"
	"github.com/apache/rocketmq-client-go/v2/producer"

	"github.com/rocketgo/rocketgo/client"
)

// This file checks request/reply (RocketMQ 4.6+) between the official Go client v2.1.2
// and rocketgo: the official Request/RequestAsync answered by an official responder,
// and each side against rocketgo's SDK. The reply travels as SEND_REPLY_MESSAGE (324)
// to the broker, which pushes it to the requester with PUSH_REPLY_MESSAGE_TO_CLIENT
// (326).

// requestTTL bounds one request round trip.
const requestTTL = 15 * time.Second

// replyOutcome is what one request got back.
type replyOutcome struct {
	body, replyBody, corrID string
	err                     error
	took                    time.Duration
}

// requester issues requests to a topic, synchronously or not, and reports each outcome.
type requester struct {
	sync  func(body string) replyOutcome
	async func(body string, done func(replyOutcome)) error
}

// officialRequester is an official producer's Request and RequestAsync.
func (e *env) officialRequester(topic string) requester {
	p := e.producer()
	return requester{
		sync: func(body string) replyOutcome {
			start := time.Now()
			reply, err := p.Request(context.Background(), requestTTL, primitive.NewMessage(topic, []byte(body)))
			o := replyOutcome{body: body, err: err, took: time.Since(start)}
			if err == nil {
				o.replyBody, o.corrID = string(reply.Body), reply.GetProperty(primitive.PropertyCorrelationID)
			}
			return o
		},
		async: func(body string, done func(replyOutcome)) error {
			start := time.Now()
			// v2.1.2 runs the callback twice: on the reply, and again when removing the
			// request from its table evicts it. The first call is the outcome.
			var once sync.Once
			return p.RequestAsync(context.Background(), requestTTL, func(_ context.Context, reply *primitive.Message, err error) {
				first := false
				once.Do(func() { first = true })
				if !first {
					return
				}
				o := replyOutcome{body: body, err: err, took: time.Since(start)}
				if err == nil {
					o.replyBody, o.corrID = string(reply.Body), reply.GetProperty(primitive.PropertyCorrelationID)
				}
				done(o)
			}, primitive.NewMessage(topic, []byte(body)))
		},
	}
}

// ourRequester is a rocketgo producer's Request and RequestAsync.
func (e *env) ourRequester(topic string) requester {
	p := e.ourProducer()
	outcome := func(body string, start time.Time, reply *client.MessageExt, err error) replyOutcome {
		o := replyOutcome{body: body, err: err, took: time.Since(start)}
		if err == nil {
			o.replyBody, o.corrID = string(reply.Body), reply.Property(client.PropertyCorrelationID)
		}
		return o
	}
	return requester{
		sync: func(body string) replyOutcome {
			start := time.Now()
			reply, err := p.Request(context.Background(), client.NewMessage(topic, []byte(body)), requestTTL)
			return outcome(body, start, reply, err)
		},
		async: func(body string, done func(replyOutcome)) error {
			start := time.Now()
			return p.RequestAsync(context.Background(), client.NewMessage(topic, []byte(body)), requestTTL, func(reply *client.MessageExt, err error) {
				done(outcome(body, start, reply, err))
			})
		},
	}
}

// corrLog records the correlation id each request body reached the responder with,
// and the replies the responder failed to send.
type corrLog struct {
	mu     sync.Mutex
	byID   map[string]string
	failed []string
}

// fail records a reply that failed. Only those before the requests completed count: a
// redelivery after the test's requester shut down fails rightly.
func (c *corrLog) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failed = append(c.failed, fmt.Sprintf(format, args...))
}

func (c *corrLog) failures() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.failed...)
}

func (c *corrLog) note(body, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID == nil {
		c.byID = map[string]string{}
	}
	c.byID[body] = id
}

func (c *corrLog) of(body string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.byID[body]
}

// officialResponder answers every request of topic with "reply:<body>" through an
// official push consumer and producer, the way the client's rpc example does.
func (e *env) officialResponder(topic string) *corrLog {
	e.t.Helper()
	rp := e.producer(producer.WithGroupName(e.name("RPG")))
	seen := &corrLog{}
	pc, err := consumer.NewPushConsumer(
		consumer.WithNameServer(e.nameserver()),
		consumer.WithGroupName(e.name("RCG")),
		consumer.WithInstance(e.instance()),
		consumer.WithConsumerModel(consumer.Clustering),
		consumer.WithConsumeFromWhere(consumer.ConsumeFromFirstOffset),
	)
	if err != nil {
		e.t.Fatalf("new responder: %v", err)
	}
	t := e.t
	err = pc.Subscribe(topic, consumer.MessageSelector{Type: consumer.TAG, Expression: "*"}, func(ctx context.Context, msgs ...*primitive.MessageExt) (consumer.ConsumeResult, error) {
		for _, m := range msgs {
			body := []byte("reply:" + string(m.Body))
			reply, err := consumer.CreateReplyMessage(m, body)
			if err != nil {
				t.Errorf("CreateReplyMessage of %s: %v", m.Body, err)
				continue
			}
			// v2.1.2's CreateReplyMessage parses body as properties and leaves Body empty.
			reply.Body = body
			seen.note(string(m.Body), m.GetProperty(primitive.PropertyCorrelationID))
			if res, err := rp.SendSync(ctx, reply); err != nil {
				seen.fail("reply to %s: %v", m.Body, err)
			} else if res.Status != primitive.SendOK {
				seen.fail("reply to %s: status %v", m.Body, res.Status)
			}
		}
		return consumer.ConsumeSuccess, nil
	})
	if err != nil {
		e.t.Fatalf("responder subscribe: %v", err)
	}
	if err := pc.Start(); err != nil {
		e.t.Fatalf("start responder: %v", err)
	}
	e.t.Cleanup(func() { _ = pc.Shutdown() })
	return seen
}

// ourResponder is officialResponder built on rocketgo's SDK.
func (e *env) ourResponder(topic string) *corrLog {
	e.t.Helper()
	rp := e.ourProducer(client.WithProducerGroup(e.name("RRPG")))
	seen := &corrLog{}
	t := e.t
	e.ourPush(e.name("RRCG"), topic, client.SelectAll, func(ctx context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
		for _, m := range msgs {
			reply, err := client.NewReplyMessage(m, []byte("reply:"+string(m.Body)))
			if err != nil {
				t.Errorf("NewReplyMessage of %s: %v", m.Body, err)
				continue
			}
			seen.note(string(m.Body), m.Property(client.PropertyCorrelationID))
			if _, err := rp.SendReply(ctx, reply); err != nil {
				seen.fail("SendReply to %s: %v", m.Body, err)
			}
		}
		return client.ConsumeSuccess, nil
	})
	return seen
}

// runRequests sends 20 Request and 20 RequestAsync (all but the first at once) and
// checks every reply: the answer to its body, with the correlation id its request
// reached the responder with, each id distinct. It returns the round-trip times, sorted.
func runRequests(t *testing.T, rq requester, seen *corrLog) []time.Duration {
	t.Helper()
	const n = 20
	out := make(chan replyOutcome, 2*n)
	// The first request goes alone, and so does its reply: v2.1.2 publishes a topic's
	// route to its producers before it records the brokers' addresses (internal/route.go,
	// UpdateTopicRouteInfoWithDefault), so sends racing a producer's first route lookup
	// of a topic can find a queue but no address and fail with "topic=… route info not
	// found" (the requester's on the request topic, the responder's on the reply topic).
	// After one round trip both producers know both routes.
	out <- rq.sync("sync-0")
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		if i > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out <- rq.sync(fmt.Sprintf("sync-%d", i))
			}()
		}
		body := fmt.Sprintf("async-%d", i)
		if err := rq.async(body, func(o replyOutcome) { out <- o }); err != nil {
			t.Fatalf("RequestAsync %s: %v", body, err)
		}
	}
	wg.Wait()
	ids := map[string]string{}
	var took []time.Duration
	got := map[string]bool{}
	for i := 0; i < 2*n; i++ {
		var o replyOutcome
		select {
		case o = <-out:
		case <-time.After(2 * requestTTL):
			var missing []string
			for j := 0; j < n; j++ {
				for _, b := range []string{fmt.Sprintf("sync-%d", j), fmt.Sprintf("async-%d", j)} {
					if !got[b] {
						missing = append(missing, fmt.Sprintf("%s (the responder saw it with correlation id %q)", b, seen.of(b)))
					}
				}
			}
			t.Fatalf("%d of %d requests got no outcome: %v; replies the responder failed to send: %v", 2*n-i, 2*n, missing, seen.failures())
		}
		got[o.body] = true
		if o.err != nil {
			t.Errorf("request %s: %v", o.body, o.err)
			continue
		}
		if o.replyBody != "reply:"+o.body {
			t.Errorf("request %s: reply body %q", o.body, o.replyBody)
		}
		if want := seen.of(o.body); o.corrID == "" || o.corrID != want {
			t.Errorf("request %s: reply correlation id %q, the responder saw %q", o.body, o.corrID, want)
		}
		if prev, dup := ids[o.corrID]; dup {
			t.Errorf("requests %s and %s share correlation id %s", prev, o.body, o.corrID)
		}
		ids[o.corrID] = o.body
		took = append(took, o.took)
	}
	if f := seen.failures(); len(f) > 0 {
		t.Errorf("%d replies failed: %v", len(f), f)
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	if len(took) > 0 {
		t.Logf("%d round trips: p50 %v, p90 %v, max %v", len(took), took[len(took)/2], took[len(took)*9/10], took[len(took)-1])
	}
	return took
}

// TestRequestReply pairs each requester with each responder but rocketgo with itself
// (tests/sdk covers that): official → official, official → rocketgo, rocketgo → official.
func TestRequestReply(t *testing.T) {
	cases := []struct {
		name      string
		requester func(e *env, topic string) requester
		responder func(e *env, topic string) *corrLog
	}{
		{"official_to_official", (*env).officialRequester, (*env).officialResponder},
		{"official_to_ours", (*env).officialRequester, (*env).ourResponder},
		{"ours_to_official", (*env).ourRequester, (*env).officialResponder},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			topic := e.name("T")
			e.c.CreateTopic(t, topic, 2)
			seen := c.responder(e, topic)
			runRequests(t, c.requester(e, topic), seen)
		})
	}
}

// TestReplyToGoneRequesterOfficial: an official replier whose requester is not
// connected gets SYSTEM_ERROR with a remark naming it.
func TestReplyToGoneRequesterOfficial(t *testing.T) {
	e := newEnv(t)
	rp := e.producer()
	// The reply topic is registered by the broker's first round, which may still be in
	// flight: without its route the client would fall back to TBW102's queue count.
	e.c.WaitRoute(t, e.c.ClusterName()+"_REPLY_TOPIC", 10*time.Second)
	reply := primitive.NewMessage(e.c.ClusterName()+"_REPLY_TOPIC", []byte("late"))
	reply.WithProperty(primitive.PropertyMsgType, "reply")
	reply.WithProperty(primitive.PropertyCorrelationID, "corr-1")
	reply.WithProperty(primitive.PropertyMessageReplyToClient, "10.9.9.9@gone")
	ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
	defer cancel()
	_, err := rp.SendSync(ctx, reply)
	if err == nil || !strings.Contains(err.Error(), "CODE: 1,") || !strings.Contains(err.Error(), "channel of <10.9.9.9@gone> not found") {
		t.Fatalf("reply to a gone requester: got %v, want CODE 1 naming the requester", err)
	}
}
