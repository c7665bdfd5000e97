package compat5

import (
	"context"
	"fmt"
	"testing"
	"time"

	rmq "github.com/apache/rocketmq-clients/golang/v5"
)

// A normal producer of the 5.x SDK, over its default TLS, sends through the gRPC
// endpoint; each receipt names the message id it gave.
func TestSDKNormalProducerOverTLS(t *testing.T) {
	s := startServer(t)
	s.createTopic(t, "normal5", 4, "")
	p := s.producer(t, rmq.WithTopics("normal5"))
	for i := range 10 {
		msg := &rmq.Message{Topic: "normal5", Body: []byte(fmt.Sprintf("body-%d", i))}
		msg.SetTag("TagA")
		msg.SetKeys(fmt.Sprintf("key-%d", i))
		rs, err := p.Send(context.Background(), msg)
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
		if len(rs) != 1 || rs[0].MessageID == "" {
			t.Fatalf("send %d: receipts %v", i, rs)
		}
	}
}

// A delay message's delivery time is kept: the broker stores it as a timer and it is
// not consumable before it is due.
func TestSDKDelayProducer(t *testing.T) {
	s := startServer(t)
	s.createTopic(t, "delay5", 1, "+message.type=DELAY")
	p := s.producer(t, rmq.WithTopics("delay5"))
	due := time.Now().Add(3 * time.Second)
	msg := &rmq.Message{Topic: "delay5", Body: []byte("later")}
	msg.SetDelayTimestamp(due)
	if _, err := p.Send(context.Background(), msg); err != nil {
		t.Fatalf("send: %v", err)
	}
	c := s.consumer(t, "gdelay5", "delay5", "*")
	got := receiveAll(t, c, 1, 10*time.Second, true)
	if len(got) != 1 || string(got[0].GetBody()) != "later" {
		t.Fatalf("received %d messages", len(got))
	}
	if now := time.Now(); now.Before(due) {
		t.Fatalf("delivered at %v, before it was due at %v", now, due)
	}
}

// A transactional message left open is checked back through the SDK's transaction
// checker (Telemetry), which commits it; a consumer then gets it. One committed by the
// producer arrives too; one rolled back never does.
func TestSDKTransactionProducerWithCheckBack(t *testing.T) {
	s := startServer(t, "ROCKETGO_BROKER_TRANSACTIONCHECKINTERVAL=500ms", "ROCKETGO_BROKER_TRANSACTIONTIMEOUT=500ms")
	s.createTopic(t, "tx5", 1, "+message.type=TRANSACTION")
	checked := make(chan string, 4)
	p := s.producer(t, rmq.WithTopics("tx5"), rmq.WithTransactionChecker(&rmq.TransactionChecker{
		Check: func(mv *rmq.MessageView) rmq.TransactionResolution {
			checked <- string(mv.GetBody())
			return rmq.COMMIT
		},
	}))
	send := func(body string) rmq.Transaction {
		tx := p.BeginTransaction()
		if _, err := p.SendWithTransaction(context.Background(), &rmq.Message{Topic: "tx5", Body: []byte(body)}, tx); err != nil {
			t.Fatalf("send %s: %v", body, err)
		}
		return tx
	}
	if err := send("committed").Commit(); err != nil {
		t.Fatal(err)
	}
	if err := send("rolled-back").RollBack(); err != nil {
		t.Fatal(err)
	}
	send("checked") // left open: the broker asks the checker
	select {
	case b := <-checked:
		if b != "checked" {
			t.Fatalf("check-back for %q, want the open one", b)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no check-back within 20 s")
	}
	c := s.consumer(t, "gtx5", "tx5", "*")
	got := receiveAll(t, c, 2, 10*time.Second, true)
	bodies := map[string]bool{}
	for _, mv := range got {
		bodies[string(mv.GetBody())] = true
	}
	if len(got) != 2 || !bodies["committed"] || !bodies["checked"] {
		t.Fatalf("consumed %v, want committed and checked", bodies)
	}
}
