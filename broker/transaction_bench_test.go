package broker

import (
	"strconv"
	"testing"

	"github.com/rocketgo/rocketgo/broker/txn"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// halfCommand builds a half-message send as the official client sends it.
func halfCommand(topic string, queueID int32, group string, body []byte) *codec.Command {
	h := sendReq(topic, queueID, map[string]string{
		message.PropTags: "TagA", message.PropKeys: "order-1", message.PropWait: "true",
		message.PropUniqKey: "0A0000010F3A000000000000000000AB", message.PropTranMsg: "true",
		message.PropProducerGroup: group,
	})
	h.ProducerGroup = group
	h.SysFlag = message.TxPreparedType
	return codec.NewRequest(code.SendMessage, h.Encode(), body)
}

// halfOf reads the offsets END_TRANSACTION names a half message by from its send
// answer.
func halfOf(tb testing.TB, resp *codec.Command) (off, queueOffset int64) {
	tb.Helper()
	if resp == nil || resp.Code != code.Success {
		tb.Fatalf("half send: %+v", resp)
	}
	_, off, err := message.ParseOffsetMsgID(resp.ExtFields["msgId"])
	if err != nil {
		tb.Fatal(err)
	}
	qo, err := strconv.ParseInt(resp.ExtFields["queueOffset"], 10, 64)
	if err != nil {
		tb.Fatal(err)
	}
	return off, qo
}

func endCommand(group string, off, queueOffset int64, commitOrRollback int32) *codec.Command {
	h := header.EndTransactionRequest{ProducerGroup: group, TranStateTableOffset: queueOffset,
		CommitLogOffset: off, CommitOrRollback: commitOrRollback}
	return codec.NewRequest(code.EndTransaction, h.Encode(), nil)
}

// BenchmarkTransactionCommit is the broker's work for one committed transaction: the
// half-message send (decode, validate, encode, append) and END_TRANSACTION (find the
// half message, build and append the commit, wait for the dispatcher to apply it).
func BenchmarkTransactionCommit(b *testing.B) {
	br := openInProcess(b, nil)
	createTopicDirect(b, br, "Bench", 4)
	body := make([]byte, 1024)
	conn := &server.Conn{}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		off, qo := halfOf(b, br.handleSend(conn, halfCommand("Bench", int32(i&3), "pg", body)))
		if resp := br.handleEndTransaction(conn, endCommand("pg", off, qo, header.TxCommit)); resp.Code != code.Success {
			b.Fatalf("end transaction: %d %q", resp.Code, resp.Remark)
		}
	}
	b.StopTimer()
	if n := br.txn.Set().Len(); n != 0 {
		b.Fatalf("%d transactions left pending", n)
	}
}

// FuzzEndTransaction sends END_TRANSACTIONs with arbitrary offsets, groups and
// outcomes to a broker holding a few half messages: it never panics, it succeeds
// with a commit or rollback only for a real half message of the right group and
// half-queue offset, and every half message is committed at most once.
func FuzzEndTransaction(f *testing.F) {
	br := openInProcess(f, nil)
	createTopicDirect(f, br, "Orders", 4)
	conn := &server.Conn{}
	type half struct{ off, qo int64 }
	var halves []half
	isHalf := map[int64]int64{}
	addHalf := func(tb testing.TB) {
		off, qo := halfOf(tb, br.handleSend(conn, halfCommand("Orders", int32(len(halves)&3), "pg", []byte("fuzz"))))
		halves = append(halves, half{off, qo})
		isHalf[off] = qo
	}
	for i := 0; i < 4; i++ {
		addHalf(f)
	}
	f.Add(int64(0), int64(0), "pg", int32(8), uint8(0))
	f.Add(int64(0), int64(1), "pg", int32(12), uint8(1))
	f.Add(int64(0), int64(1), "0", int32(12), uint8(1)) // a repeat from the wrong group is refused too
	f.Add(int64(7), int64(0), "other", int32(8), uint8(0x80))
	f.Add(int64(1<<40), int64(-1), "", int32(0), uint8(0x81))
	f.Fuzz(func(t *testing.T, off, qo int64, group string, cor int32, pick uint8) {
		if pick&0x80 == 0 {
			h := halves[int(pick)%len(halves)]
			off = h.off
			if pick&0x40 == 0 {
				qo = h.qo
			}
		}
		resp := br.handleEndTransaction(conn, endCommand(group, off, qo, cor))
		if resp.Code == code.Success && (cor == header.TxCommit || cor == header.TxRollback) {
			if q, ok := isHalf[off]; !ok || q != qo || group != "pg" {
				t.Fatalf("END_TRANSACTION %d for offset %d, queue offset %d, group %q succeeded (%q); halves %v",
					cor, off, qo, group, resp.Remark, isHalf)
			}
		}
		// Every committed half message is in Orders exactly once.
		committed := 0
		for _, h := range halves {
			if o, ok := br.txn.Set().Resolution(h.off); ok && o == txn.OutcomeCommitted {
				committed++
			}
		}
		var stored int64
		for q := int32(0); q < 4; q++ {
			stored += br.store.MaxOffset("Orders", q)
		}
		if stored != int64(committed) {
			t.Fatalf("Orders holds %d messages, %d half messages were committed", stored, committed)
		}
		// Keep something to resolve, up to a bound on the log the fuzzer grows.
		if br.txn.Set().Len() == 0 && len(halves) < 64 {
			addHalf(t)
		}
	})
}
