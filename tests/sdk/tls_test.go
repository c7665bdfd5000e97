package sdk

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testcert"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/remoting/tlsconf"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// With tls.mode enforcing and client certificates required on the NameServer and the
// broker (which registers over TLS itself), the SDK routes, sends sync and async, and
// consumes over TLS; a plain producer gets nowhere.
func TestSDKOverTLSEnforcing(t *testing.T) {
	certs := testcert.Write(t)
	c := cluster.Start(t, cluster.WithTLS(certs.Options(tlsconf.Enforcing, tlsconf.ClientAuthRequire)))
	const topic = "TLS_TOPIC"
	withTLS := client.WithTLS(certs.Client(t, true))

	c.WaitRoute(t, "TBW102", 0) // the broker has registered over TLS
	p := startProducer(t, c, withTLS)
	want := send(t, p, topic, "sync", 20, nil)
	// The NameServer, itself on TLS, routes the topic to the broker's TLS address.
	route := c.WaitRoute(t, topic, 0)
	if addr := route.MasterAddr(c.BrokerName()); addr != c.BrokerAddr() {
		t.Fatalf("route of %s: master %q, want %q", topic, addr, c.BrokerAddr())
	}
	done := make(chan error, 20)
	for i := range 20 {
		b := fmt.Sprintf("async-%d", i)
		want = append(want, b)
		if err := p.SendAsync(context.Background(), func(r *client.SendResult, err error) {
			if err == nil && r.Status != client.SendOK {
				err = fmt.Errorf("status %v", r.Status)
			}
			done <- err
		}, client.NewMessage(topic, []byte(b))); err != nil {
			t.Fatal(err)
		}
	}
	for range 20 {
		if err := <-done; err != nil {
			t.Fatalf("async send over TLS: %v", err)
		}
	}

	col := newCollector()
	startPush(t, c, "CG_TLS", topic, client.MessageSelector{}, col.listener(), withTLS)
	testutil.Eventually(t, 20*time.Second, "every message consumed over TLS", func() bool { return col.distinct() == len(want) })
	var got []string
	for _, m := range col.snapshot() {
		got = append(got, string(m.Body))
	}
	sort.Strings(got)
	sort.Strings(want)
	if fmt.Sprint(dedupe(got)) != fmt.Sprint(want) {
		t.Fatalf("consumed bodies %q, want %q", got, want)
	}

	plain, err := client.NewProducer(client.WithNameServer(c.NamesrvAddr()), client.WithInstanceName(instanceName(t)+"_plain"),
		client.WithLogger(logger(t)), client.WithProducerGroup("PG_TLS_PLAIN"))
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Start(context.Background()); err == nil {
		defer plain.Shutdown(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := plain.Send(ctx, client.NewMessage(topic, []byte("plain"))); err == nil {
			t.Fatal("a plain producer sent to an enforcing cluster")
		}
	}
	if n := col.count("plain"); n != 0 {
		t.Fatalf("the plain producer's message was consumed %d times", n)
	}
}

// dedupe drops adjacent repeats of a sorted list (a redelivery is not a loss).
func dedupe(s []string) []string {
	out := s[:0:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
