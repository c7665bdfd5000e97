package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/client"
)

// shipping is the shipping service: a push consumer of the order events that ships
// each order once. Redelivery can happen (a consumer restart before its offset was
// committed), so it remembers what it shipped — a real service would keep that in
// its own database.
type shipping struct {
	pc  *client.PushConsumer
	log zerolog.Logger

	mu      sync.Mutex
	shipped map[string]int
}

func startShipping(ctx context.Context, ns, topic string, log zerolog.Logger) (*shipping, error) {
	s := &shipping{shipped: map[string]int{}, log: log}
	pc, err := client.NewPushConsumer(client.WithNameServer(ns), client.WithConsumerGroup("shipping"),
		client.WithConsumeFrom(client.ConsumeFromLastOffset))
	if err != nil {
		return nil, err
	}
	if err := pc.Subscribe(topic, client.ByTag("placed"), s.onOrders); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := pc.Start(sctx); err != nil {
		return nil, fmt.Errorf("start shipping consumer: %w", err)
	}
	s.pc = pc
	return s, nil
}

// onOrders ships the orders of a batch of events.
func (s *shipping) onOrders(_ context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
	for _, m := range msgs {
		var o Order
		if err := json.Unmarshal(m.Body, &o); err != nil {
			s.log.Warn().Err(err).Str("msg_id", m.MsgID).Msg("malformed order event skipped")
			continue
		}
		s.mu.Lock()
		s.shipped[o.ID]++
		first := s.shipped[o.ID] == 1
		s.mu.Unlock()
		if first {
			s.log.Info().Str("order", o.ID).Str("customer", o.Customer).Msg("shipped")
		}
	}
	return client.ConsumeSuccess, nil
}

// hasAll reports whether every order of want was shipped.
func (s *shipping) hasAll(want map[string]bool) bool {
	return s.count(want) == len(want)
}

// count returns how many orders of want were shipped.
func (s *shipping) count(want map[string]bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id := range want {
		if s.shipped[id] > 0 {
			n++
		}
	}
	return n
}

// extra returns the shipped orders with prefix (this run's) that want does not hold.
func (s *shipping) extra(want map[string]bool, prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id := range s.shipped {
		if strings.HasPrefix(id, prefix) && !want[id] {
			out = append(out, id)
		}
	}
	return out
}

func (s *shipping) close() {
	_ = s.pc.Shutdown(context.Background())
}
