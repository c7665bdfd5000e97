// Command orderflow shows transactional messages end to end: an order service stores
// each order and sends its "order placed" message in one transaction, and a shipping
// service ships exactly the orders that were stored as confirmed.
//
//	go run ./bin/mqbroker -standalone        # in one terminal
//	go run ./client/examples/orderflow       # in another
//
// Each order's half message is sent first; the order is then decided (amounts over
// -limit are declined) and stored; the outcome commits or rolls the message back.
// Every -slow-th order finishes its local transaction only after -finish, so the
// producer reports "unknown" and the broker's check-back asks the order store later —
// after transactionTimeOut, every transactionCheckInterval (6 s and 60 s by default;
// start the broker with ROCKETGO_BROKER_TRANSACTIONCHECKINTERVAL=5s to see it sooner).
// The program waits until every confirmed order was shipped and checks that nothing
// else was.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/client"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "orderflow:", err)
		os.Exit(1)
	}
}

// run places the orders and waits for them to ship, reporting to out.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("orderflow", flag.ContinueOnError)
	ns := fs.String("namesrv", "127.0.0.1:9876", "NameServer address")
	topic := fs.String("topic", "OrderPlaced", "topic of the order events")
	n := fs.Int("orders", 20, "orders to place")
	limit := fs.Int("limit", 50000, "orders above this amount (cents) are declined")
	slow := fs.Int("slow", 5, "every slow-th order finishes its local transaction late (0: none)")
	finish := fs.Duration("finish", 2*time.Second, "how long a slow order's local transaction takes")
	dir := fs.String("store", filepath.Join(os.TempDir(), "orderflow-orders"), "order store directory")
	wait := fs.Duration("wait", 3*time.Minute, "how long to wait for every confirmed order to ship")
	if err := fs.Parse(args); err != nil {
		return err
	}
	log := zerolog.New(zerolog.ConsoleWriter{Out: out, NoColor: true, PartsExclude: []string{zerolog.TimestampFieldName}})
	store, err := openOrderStore(*dir)
	if err != nil {
		return err
	}
	admin, err := client.NewAdmin(client.WithNameServer(*ns))
	if err != nil {
		return err
	}
	defer admin.Close()
	// A consumer starts only on a topic that has a route: create it up front, once a
	// broker has registered (a broker started a moment ago may not have yet).
	for tries := 0; ; tries++ {
		err := admin.CreateTopic(ctx, client.TopicConfig{Topic: *topic, ReadQueueNums: 4, WriteQueueNums: 4}, client.Target{})
		if err == nil {
			break
		}
		if !errors.Is(err, client.ErrBrokerNotFound) || tries == 100 {
			return fmt.Errorf("create topic %s: %w", *topic, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}

	ship, err := startShipping(ctx, *ns, *topic, log.With().Str("service", "shipping").Logger())
	if err != nil {
		return err
	}
	defer ship.close()

	svc := &orderService{store: store, limit: *limit, finish: *finish}
	tp, err := client.NewTransactionProducer(svc, client.WithNameServer(*ns), client.WithProducerGroup("order-service"))
	if err != nil {
		return err
	}
	if err := tp.Start(ctx); err != nil {
		return err
	}
	defer tp.Shutdown(context.Background())

	runID := time.Now().Format("150405.000")
	want := map[string]bool{}
	for i := 0; i < *n; i++ {
		o := &Order{ID: fmt.Sprintf("order-%s-%03d", runID, i), Customer: fmt.Sprintf("customer-%d", i%7),
			Amount: 1000 + rand.IntN(2*(*limit)), Slow: *slow > 0 && i%*slow == *slow-1}
		res, err := place(ctx, tp, *topic, o)
		if err != nil {
			return fmt.Errorf("place %s: %w", o.ID, err)
		}
		log.Info().Str("service", "orders").Str("order", o.ID).Int("amount", o.Amount).Stringer("local_outcome", res.State).
			Str("tx_id", res.MsgID).Msg("placed")
		if svc.decide(o) == statusConfirmed {
			want[o.ID] = true
		}
	}
	svc.wg.Wait() // the slow local transactions have finished; their check-backs follow

	log.Info().Int("confirmed", len(want)).Msg("waiting for the confirmed orders to ship (undecided ones wait for the broker's check-back)")
	deadline := time.Now().Add(*wait)
	for !ship.hasAll(want) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("after %v: shipped %d of %d confirmed orders", *wait, ship.count(want), len(want))
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	extra := ship.extra(want, "order-"+runID+"-")
	sort.Strings(extra)
	if len(extra) > 0 {
		return fmt.Errorf("shipped orders that were not confirmed: %v", extra)
	}
	log.Info().Int("shipped", len(want)).Int("declined", *n-len(want)).
		Msg("every confirmed order shipped exactly as stored; no declined order was")
	return nil
}
