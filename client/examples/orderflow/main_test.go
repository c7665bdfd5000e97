package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// syncBuffer is a bytes.Buffer safe for the example's concurrent log lines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestOrderFlow runs the example against a real NameServer and broker whose
// check-back comes after half a second: committed, declined and slow (checked back)
// orders all settle, and run verifies that exactly the confirmed ones shipped.
func TestOrderFlow(t *testing.T) {
	c := cluster.Start(t, cluster.WithBrokerOptions(func(o *broker.Options) {
		o.TransactionCheckInterval = 200 * time.Millisecond
		o.TransactionTimeout = 500 * time.Millisecond
	}))
	out := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args := []string{"-namesrv", c.NamesrvAddr(), "-orders", "15", "-slow", "3", "-finish", "300ms",
		"-store", t.TempDir(), "-wait", "30s"}
	if err := run(ctx, args, out); err != nil {
		t.Fatalf("orderflow: %v\n%s", err, out)
	}
	log := out.String()
	for _, want := range []string{"local_outcome=UNKNOW", "placed", "shipped", "every confirmed order shipped"} {
		if !strings.Contains(log, want) {
			t.Fatalf("output lacks %q:\n%s", want, log)
		}
	}
}
