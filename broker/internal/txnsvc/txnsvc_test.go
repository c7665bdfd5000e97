package txnsvc

import (
	"errors"
	"testing"

	"github.com/rocketgo/rocketgo/broker/internal/refusal"
	"github.com/rocketgo/rocketgo/broker/txn"
	"github.com/rocketgo/rocketgo/proto/header"
)

// TestCheckEndTx: an END_TRANSACTION must name its half message's producer group and
// half-queue offset.
func TestCheckEndTx(t *testing.T) {
	e := txn.Entry{Offset: 100, Group: "pg", QueueOffset: 7}
	if err := checkEndTx(e, &header.EndTransactionRequest{ProducerGroup: "pg", TranStateTableOffset: 7}); err != nil {
		t.Fatalf("matching request refused: %v", err)
	}
	for _, h := range []header.EndTransactionRequest{
		{ProducerGroup: "other", TranStateTableOffset: 7},
		{ProducerGroup: "pg", TranStateTableOffset: 8},
	} {
		if err := checkEndTx(e, &h); !errors.Is(err, refusal.BadRequest) {
			t.Fatalf("%+v: got %v, want a bad request", h, err)
		}
	}
}

// TestAlready: a repeated resolution answers with a remark; the other outcome is refused.
func TestAlready(t *testing.T) {
	var s Service
	cases := []struct {
		want, prev txn.Outcome
		remark     string
		refused    bool
	}{
		{txn.OutcomeCommitted, txn.OutcomeCommitted, "transaction at 5 already " + txn.OutcomeCommitted.String(), false},
		{txn.OutcomeRolledBack, txn.OutcomeUnknown, "transaction at 5 already resolved", false},
		{txn.OutcomeRolledBack, txn.OutcomeCommitted, "", true},
	}
	for _, c := range cases {
		remark, err := s.already(5, c.want, c.prev, "already ")
		if remark != c.remark || (err != nil) != c.refused {
			t.Fatalf("want %v prev %v: remark %q err %v", c.want, c.prev, remark, err)
		}
		if c.refused && refusal.Remark(err) != "transaction at 5 already "+c.prev.String()+"; rollback ignored" {
			t.Fatalf("remark %q", refusal.Remark(err))
		}
	}
}
