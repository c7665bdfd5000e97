package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/client"
)

// Order statuses in the order store.
const (
	statusPending   = "pending"   // the local transaction is still running
	statusConfirmed = "confirmed" // paid: the "order placed" message must be delivered
	statusRejected  = "rejected"  // declined: the message must never be delivered
)

// Order is what the order service stores and what the "order placed" message carries.
type Order struct {
	ID       string `json:"id"`
	Customer string `json:"customer"`
	Amount   int    `json:"amount"` // cents
	Status   string `json:"status"`
	TxID     string `json:"txId"` // the transaction id (the message's UNIQ_KEY)
	// Slow orders finish their local transaction after the send returns: the producer
	// reports "unknown" and the broker's check-back learns the outcome later.
	Slow bool `json:"slow,omitempty"`
}

// orderStore is the order service's database: one JSON file per order in a directory,
// replaced atomically (write, fsync, rename), so a crash never leaves half an order
// and every process of the service reads the same state.
type orderStore struct {
	dir string
	mu  sync.Mutex // serialises writers of this process
}

func openOrderStore(dir string) (*orderStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &orderStore{dir: dir}, nil
}

// put stores o durably.
func (s *orderStore) put(o *Order) error {
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tmp := filepath.Join(s.dir, o.ID+".tmp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err = f.Write(b); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(s.dir, o.ID+".json"))
}

// get loads an order; ok is false when it was never stored.
func (s *orderStore) get(id string) (*Order, bool, error) {
	if strings.ContainsAny(id, `/\`) || id == "" {
		return nil, false, fmt.Errorf("bad order id %q", id)
	}
	b, err := os.ReadFile(filepath.Join(s.dir, id+".json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var o Order
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, false, err
	}
	return &o, true, nil
}

// orderService places orders: each is stored and announced in one transaction — the
// order row and the "order placed" message are either both there or neither.
type orderService struct {
	store  *orderStore
	limit  int           // orders above this amount are declined
	finish time.Duration // how long a slow order's local transaction takes
	wg     sync.WaitGroup
}

// ExecuteLocalTransaction is the local transaction, run once the half message is
// stored: decide the order, store it, and report the outcome.
func (s *orderService) ExecuteLocalTransaction(_ context.Context, m *client.Message, arg any) client.LocalTransactionState {
	o := *arg.(*Order)
	o.TxID = client.TransactionID(m)
	if o.Slow {
		o.Status = statusPending
		if err := s.store.put(&o); err != nil {
			return client.UnknownTransaction
		}
		// The payment service answers later; until then the broker's check-back
		// hears "unknown".
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			<-time.After(s.finish)
			o.Status = s.decide(&o)
			_ = s.store.put(&o)
		}()
		return client.UnknownTransaction
	}
	o.Status = s.decide(&o)
	if err := s.store.put(&o); err != nil {
		// Not stored: the order does not exist, so its message must not either.
		return client.RollbackTransaction
	}
	return outcome(o.Status)
}

// CheckLocalTransaction answers the broker's check-back from the order store — never
// from this process's memory, since any instance of the service may be asked.
func (s *orderService) CheckLocalTransaction(_ context.Context, m *client.MessageExt) client.LocalTransactionState {
	keys := m.Keys()
	if len(keys) == 0 {
		return client.RollbackTransaction
	}
	o, ok, err := s.store.get(keys[0])
	switch {
	case err != nil:
		return client.UnknownTransaction // the store is unreachable: ask again later
	case !ok:
		return client.RollbackTransaction // the local transaction never committed
	}
	return outcome(o.Status)
}

// decide is the business rule: pay what the limit allows.
func (s *orderService) decide(o *Order) string {
	if o.Amount > s.limit {
		return statusRejected
	}
	return statusConfirmed
}

// outcome maps an order status to the transaction's outcome.
func outcome(status string) client.LocalTransactionState {
	switch status {
	case statusConfirmed:
		return client.CommitTransaction
	case statusRejected:
		return client.RollbackTransaction
	}
	return client.UnknownTransaction
}

// place sends the "order placed" message of o in a transaction with storing it.
func place(ctx context.Context, tp *client.TransactionProducer, topic string, o *Order) (*client.TransactionSendResult, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	msg := client.NewMessage(topic, b).WithKeys(o.ID).WithTags("placed")
	return tp.SendMessageInTransaction(ctx, msg, o)
}

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
