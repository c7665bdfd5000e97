package broker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/broker/internal/txnsvc"
	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/broker/txn"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/store"
)

// txnHarness is a broker whose check-back loop never fires on its own (the tests run
// rounds by hand with chosen times), with a topic "Orders" of 4 queues.
func txnHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	all := append([]harnessOpt{func(o *Options, _ *store.Options) {
		o.TransactionCheckInterval = time.Hour
		o.TransactionTimeout = 6 * time.Second
		o.TransactionCheckMax = 3
	}}, opts...)
	h := newHarness(t, all...)
	h.createTopic("Orders", 4, 6)
	return h
}

// half is a stored half message as its producer knows it.
type half struct {
	offset, queueOffset int64
	queueID             int32
	uniq                string
}

// sendHalf sends a half message the way the official client does (sysFlag 4,
// TRAN_MSG=true, PGROUP) and returns what the answer says about it.
func (h *harness) sendHalf(group, topic string, qid int32, payload string, props map[string]string) half {
	h.t.Helper()
	uniq := message.NewUniqID()
	all := map[string]string{message.PropTranMsg: "true", message.PropProducerGroup: group,
		message.PropUniqKey: uniq, message.PropTags: "created", message.PropWait: "true"}
	for k, v := range props {
		all[k] = v
	}
	hdr := sendReq(topic, qid, all)
	hdr.ProducerGroup = group
	hdr.SysFlag = message.TxPreparedType
	resp := h.sendWith(hdr, []byte(payload))
	if resp.Code != code.Success {
		h.t.Fatalf("half send to %s:%d: code %d %q", topic, qid, resp.Code, resp.Remark)
	}
	var r header.SendMessageResponse
	if err := r.Decode(resp.ExtFields); err != nil {
		h.t.Fatalf("half send answer: %v", err)
	}
	_, off, err := message.ParseOffsetMsgID(r.MsgID)
	if err != nil {
		h.t.Fatalf("half send msgId %q: %v", r.MsgID, err)
	}
	if r.QueueID != qid {
		h.t.Fatalf("half send answer queueId %d, want the real queue %d", r.QueueID, qid)
	}
	return half{offset: off, queueOffset: r.QueueOffset, queueID: qid, uniq: uniq}
}

// endTx sends END_TRANSACTION for hf and returns the answer.
func (h *harness) endTx(group string, hf half, commitOrRollback int32) *codec.Command {
	h.t.Helper()
	req := header.EndTransactionRequest{ProducerGroup: group, TranStateTableOffset: hf.queueOffset,
		CommitLogOffset: hf.offset, CommitOrRollback: commitOrRollback, MsgID: hf.uniq}
	return h.call(code.EndTransaction, req.Encode(), nil)
}

func (h *harness) pending(group string, maxCount int32) *body.PendingTransactionList {
	h.t.Helper()
	req := header.ListPendingTransactionsRequest{ProducerGroup: group, MaxCount: maxCount}
	resp := h.call(code.ListPendingTransactions, req.Encode(), nil)
	if resp.Code != code.Success {
		h.t.Fatalf("list pending: code %d %q", resp.Code, resp.Remark)
	}
	l, err := body.DecodePendingTransactionList(resp.Body)
	if err != nil {
		h.t.Fatalf("list pending body %s: %v", resp.Body, err)
	}
	return l
}

// queueRecords pulls everything in topic/q from offset 0 (the queue must be
// dispatched).
func (h *harness) queueRecords(topic string, q int32) []*message.Ext {
	h.t.Helper()
	if h.b.Store().MaxOffset(topic, q) == 0 {
		return nil
	}
	resp := h.pull(pullReq("txn-test-cg", topic, q, 0))
	if resp.Code != code.Success {
		h.t.Fatalf("pull %s:%d: code %d %q", topic, q, resp.Code, resp.Remark)
	}
	return records(h.t, resp.Body)
}

// storeRecords reads topic/q straight from the store: the broker's own topics have no
// topic config a pull could name.
func (h *harness) storeRecords(topic string, q int32) []*message.Ext {
	h.t.Helper()
	r := h.b.Store().GetMessages(topic, q, 0, 1000, 1<<20, nil)
	var out []*message.Ext
	for _, rec := range r.Records {
		m, _, err := message.DecodeRecord(rec)
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// waitSettled waits until the half-message set has applied everything appended.
func (h *harness) waitSettled() {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if end := h.b.Store().MaxPhysicalOffset(); end > 0 {
		if err := h.b.txn.Set().WaitApplied(ctx, end-1); err != nil {
			h.t.Fatal(err)
		}
	}
}

func TestHalfSendInvisibleUntilCommit(t *testing.T) {
	h := txnHarness(t)
	hf := h.sendHalf("pg", "Orders", 1, "order-1", nil)
	if hf.queueOffset != 0 {
		t.Fatalf("first half message: queue offset %d, want 0", hf.queueOffset)
	}
	h.waitSettled()
	if n := h.b.Store().MaxOffset("Orders", 1); n != 0 {
		t.Fatalf("half message visible in Orders:1 (max offset %d)", n)
	}
	l := h.pending("pg", 0)
	if l.Total != 1 || len(l.Transactions) != 1 {
		t.Fatalf("pending: %+v", l)
	}
	p := l.Transactions[0]
	if p.CommitLogOffset != hf.offset || p.TranStateTableOffset != 0 || p.Topic != "Orders" || p.QueueID != 1 ||
		p.ProducerGroup != "pg" || p.MsgID != hf.uniq || p.CheckTimes != 0 || p.AgeMillis < 0 {
		t.Fatalf("pending entry %+v, half %+v", p, hf)
	}

	wantCode(t, "commit", h.endTx("pg", hf, header.TxCommit), code.Success, "")
	recs := h.queueRecords("Orders", 1)
	if len(recs) != 1 {
		t.Fatalf("after commit: %d records in Orders:1, want 1", len(recs))
	}
	m := recs[0]
	if string(m.Body) != "order-1" || message.TxType(m.SysFlag) != message.TxCommitType || m.PreparedTransactionOffset != hf.offset ||
		m.QueueOffset != 0 || m.UniqKey() != hf.uniq || m.Tags() != "created" || m.Properties[message.PropProducerGroup] != "pg" {
		t.Fatalf("committed message %+v", m)
	}
	for _, k := range []string{message.PropRealTopic, message.PropRealQueueID, message.PropTranMsg, message.PropWait} {
		if _, ok := m.Properties[k]; ok {
			t.Errorf("committed message keeps %s: %v", k, m.Properties)
		}
	}
	// The tags hash was recomputed for the real queue: a tag-filtered pull finds it.
	preq := pullReq("txn-test-cg", "Orders", 1, 0)
	preq.Subscription = "created"
	if resp := h.pull(preq); resp.Code != code.Success || len(records(t, resp.Body)) != 1 {
		t.Fatalf("tag-filtered pull: code %d", resp.Code)
	}
	if l := h.pending("", 0); l.Total != 0 {
		t.Fatalf("still pending after commit: %+v", l)
	}

	// Repeated and late END_TRANSACTIONs change nothing.
	wantCode(t, "second commit", h.endTx("pg", hf, header.TxCommit), code.Success, "already committed")
	wantCode(t, "late rollback", h.endTx("pg", hf, header.TxRollback), code.SystemError, "already committed; rollback ignored")
	wantCode(t, "repeat from another group", h.endTx("other", hf, header.TxCommit), code.SystemError, "producer group wrong")
	h.waitSettled()
	if n := h.b.Store().MaxOffset("Orders", 1); n != 1 {
		t.Fatalf("after repeated END_TRANSACTIONs: max offset %d, want 1", n)
	}
}

func TestRollbackNeverVisible(t *testing.T) {
	h := txnHarness(t)
	hf := h.sendHalf("pg", "Orders", 2, "order-r", nil)
	wantCode(t, "rollback", h.endTx("pg", hf, header.TxRollback), code.Success, "")
	wantCode(t, "commit after rollback", h.endTx("pg", hf, header.TxCommit), code.SystemError, "already rolled back; commit ignored")
	wantCode(t, "rollback again", h.endTx("pg", hf, header.TxRollback), code.Success, "already rolled back")
	h.waitSettled()
	if n := h.b.Store().MaxOffset("Orders", 2); n != 0 {
		t.Fatalf("rolled back message visible: max offset %d", n)
	}
	// The rollback is an op record naming the half queue offset.
	ops := h.storeRecords(meta.TopicTransOpHalf, 0)
	if len(ops) != 1 || ops[0].Tags() != txn.OpTagRemoved || string(ops[0].Body) != strconv.FormatInt(hf.queueOffset, 10) {
		t.Fatalf("op records: %+v", ops)
	}
}

func TestEndTransactionChecks(t *testing.T) {
	h := txnHarness(t)
	hf := h.sendHalf("pg", "Orders", 0, "x", nil)
	plain := h.send("Orders", 3, "plain", nil)
	_, plainOff, _ := message.ParseOffsetMsgID(plain.MsgID)

	wrongQ := hf
	wrongQ.queueOffset = 5
	beyond := hf
	beyond.offset = 1 << 40
	notHalf := half{offset: plainOff, queueOffset: plain.QueueOffset}
	cases := []struct {
		name   string
		resp   *codec.Command
		code   int32
		remark string
	}{
		{"wrong group", h.endTx("other", hf, header.TxCommit), code.SystemError, "producer group wrong"},
		{"wrong queue offset", h.endTx("pg", wrongQ, header.TxCommit), code.SystemError, "state table offset wrong"},
		{"beyond the log", h.endTx("pg", beyond, header.TxCommit), code.SystemError, "no half message at commitLogOffset"},
		{"not a half message", h.endTx("pg", notHalf, header.TxCommit), code.SystemError, "no half message at commitLogOffset"},
		{"bad outcome", h.endTx("pg", hf, 5), code.SystemError, "commitOrRollback 5"},
		{"unknown", h.endTx("pg", hf, header.TxUnknown), code.Success, "check back"},
		{"missing key", h.call(code.EndTransaction, map[string]string{"producerGroup": "pg"}, nil), code.SystemError, "tranStateTableOffset"},
	}
	for _, c := range cases {
		wantCode(t, c.name, c.resp, c.code, c.remark)
	}
	if l := h.pending("pg", 0); l.Total != 1 {
		t.Fatalf("refused END_TRANSACTIONs changed the pending set: %+v", l)
	}
	wantCode(t, "good commit", h.endTx("pg", hf, header.TxCommit), code.Success, "")
}

func TestHalfSendRefusals(t *testing.T) {
	h := txnHarness(t, func(o *Options, _ *store.Options) { o.AutoCreateTopicEnable = false })
	txProps := map[string]string{message.PropTranMsg: "true", message.PropProducerGroup: "pg"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range txProps {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	committed := sendReq("Orders", 0, nil)
	committed.SysFlag = message.TxCommitType
	delayed := sendReq("Orders", 0, with(map[string]string{message.PropDelay: "3"}))
	timer := sendReq("Orders", 0, with(map[string]string{message.PropTimerDelaySec: "9"}))
	retry := sendReq("%RETRY%cg", 0, with(nil))
	unknown := sendReq("NoSuchTopic", 0, with(nil))
	cases := []struct {
		name   string
		hdr    *header.SendMessageRequest
		code   int32
		remark string
	}{
		{"committed sysflag", committed, code.MessageIllegal, "END_TRANSACTION"},
		{"delayed", delayed, code.MessageIllegal, "cannot be delayed (DELAY=3"},
		{"timer", timer, code.MessageIllegal, "cannot be delayed (TIMER_DELAY_SEC=9"},
		{"retry topic", retry, code.MessageIllegal, "%RETRY%cg"},
		{"unknown topic", unknown, code.TopicNotExist, "NoSuchTopic"},
	}
	for _, c := range cases {
		resp := h.sendWith(c.hdr, []byte("x"))
		wantCode(t, c.name, resp, c.code, c.remark)
		if resp.ExtFields[message.PropMsgRegion] == "" {
			t.Errorf("%s: the refusal lacks MSG_REGION", c.name)
		}
	}
	// A batch whose header says TRAN_MSG=true.
	entries := []message.BatchEntry{{Body: []byte("a")}, {Body: []byte("b")}}
	bb, _ := message.EncodeBatch(nil, entries)
	v2 := header.SendMessageRequestV2{SendMessageRequest: *sendReq("Orders", 0, txProps)}
	v2.Batch = true
	wantCode(t, "batch", h.call(code.SendBatchMessage, v2.Encode(), bb), code.MessageIllegal, "batch")
	// TRAN_MSG=false is an ordinary message.
	if r := h.send("Orders", 0, "plain", map[string]string{message.PropTranMsg: "false"}); r.QueueOffset != 0 {
		t.Fatalf("TRAN_MSG=false send: %+v", r)
	}
	h.waitSettled()
	if l := h.pending("", 0); l.Total != 0 {
		t.Fatalf("refused sends left half messages: %+v", l)
	}
}

// checkProducer is a producer connection that answers CHECK_TRANSACTION_STATE the way
// the official client does: a new END_TRANSACTION echoing the header's offsets.
type checkProducer struct {
	t      *testing.T
	cl     *transport.Client
	id     string
	answer func(m *message.Ext) int32 // the outcome to send; -1 sends nothing

	mu     sync.Mutex
	checks []checkSeen
}

type checkSeen struct {
	hdr header.CheckTransactionStateRequest
	msg *message.Ext
}

func newCheckProducer(t *testing.T, h *harness, id, group string, answer func(*message.Ext) int32) *checkProducer {
	t.Helper()
	p := &checkProducer{t: t, id: id, answer: answer,
		cl: transport.NewClient(transport.ClientOptions{Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})}
	t.Cleanup(func() { p.cl.Close() })
	p.cl.Handle(code.CheckTransactionState, func(addr string, req *codec.Command) *codec.Command {
		var ch header.CheckTransactionStateRequest
		if err := ch.Decode(req.ExtFields); err != nil {
			t.Errorf("check header: %v", err)
			return nil
		}
		m, _, err := message.DecodeRecord(req.Body)
		if err != nil {
			t.Errorf("check body: %v", err)
			return nil
		}
		p.mu.Lock()
		p.checks = append(p.checks, checkSeen{ch, m})
		p.mu.Unlock()
		if c := p.answer(m); c >= 0 {
			end := header.EndTransactionRequest{ProducerGroup: m.Properties[message.PropProducerGroup],
				TranStateTableOffset: ch.TranStateTableOffset, CommitLogOffset: ch.CommitLogOffset,
				CommitOrRollback: c, FromTransactionCheck: true, MsgID: m.UniqKey()}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			// ErrClosed: the test closed this producer while its answer was on the way.
			if _, err := p.cl.Invoke(ctx, addr, codec.NewRequest(code.EndTransaction, end.Encode(), nil)); err != nil && !errors.Is(err, codec.ErrClosed) {
				t.Errorf("end transaction after check: %v", err)
			}
		}
		return nil
	})
	hb := &body.HeartbeatData{ClientID: id, ProducerDataSet: []body.ProducerData{{GroupName: group}}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if resp, err := p.cl.Invoke(ctx, h.b.Addr(), codec.NewRequest(code.HeartBeat, nil, hb.Encode())); err != nil || resp.Code != code.Success {
		t.Fatalf("producer heartbeat: %v %v", err, resp)
	}
	return p
}

func (p *checkProducer) seen() []checkSeen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]checkSeen(nil), p.checks...)
}

// waitChecks polls until p has received n checks.
func (p *checkProducer) waitChecks(n int) []checkSeen {
	p.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if s := p.seen(); len(s) >= n {
			return s
		}
		<-time.After(2 * time.Millisecond)
	}
	p.t.Fatalf("%s received %d check-backs, want %d", p.id, len(p.seen()), n)
	return nil
}

// waitPending polls until the broker lists n pending half messages.
func (h *harness) waitPending(n int) *body.PendingTransactionList {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var l *body.PendingTransactionList
	for time.Now().Before(deadline) {
		if l = h.pending("", 0); l.Total == n {
			return l
		}
		<-time.After(2 * time.Millisecond)
	}
	h.t.Fatalf("%d half messages pending, want %d: %+v", l.Total, n, l)
	return nil
}

func TestCheckBackCommits(t *testing.T) {
	h := txnHarness(t)
	p := newCheckProducer(t, h, "127.0.0.1@check-a", "pg", func(*message.Ext) int32 { return header.TxCommit })
	hf := h.sendHalf("pg", "Orders", 3, "checked-order", map[string]string{"KEYS": "k1"})
	h.waitSettled()

	h.b.txn.Round(time.Now().Add(3 * time.Second)) // younger than transactionTimeOut: no check
	h.b.txn.Round(time.Now().Add(7 * time.Second))
	checks := p.waitChecks(1)
	c := checks[0]
	if c.hdr.TranStateTableOffset != hf.queueOffset || c.hdr.CommitLogOffset != hf.offset || c.hdr.MsgID != hf.uniq ||
		c.hdr.TransactionID != hf.uniq || c.hdr.OffsetMsgID != message.OffsetMsgID(h.b.storeHost(), hf.offset) {
		t.Fatalf("check header %+v, half %+v", c.hdr, hf)
	}
	if c.msg.Topic != "Orders" || c.msg.QueueID != 3 || string(c.msg.Body) != "checked-order" || c.msg.UniqKey() != hf.uniq ||
		c.msg.Properties[message.PropProducerGroup] != "pg" || c.msg.Properties[message.PropTxCheckTimes] != "1" ||
		c.msg.PhysicalOffset != hf.offset || c.msg.QueueOffset != hf.queueOffset {
		t.Fatalf("check body %+v", c.msg)
	}
	h.waitPending(0)
	recs := h.queueRecords("Orders", 3)
	if len(recs) != 1 || string(recs[0].Body) != "checked-order" || recs[0].PreparedTransactionOffset != hf.offset {
		t.Fatalf("after check-back commit: %+v", recs)
	}
	// The producer's own END_TRANSACTION, arriving after the check resolved it, is a
	// no-op.
	wantCode(t, "late commit", h.endTx("pg", hf, header.TxCommit), code.Success, "already committed")
	h.waitSettled()
	if n := h.b.Store().MaxOffset("Orders", 3); n != 1 {
		t.Fatalf("late END_TRANSACTION made a copy: max offset %d", n)
	}
}

func TestCheckBackGivesUp(t *testing.T) {
	h := txnHarness(t)
	p := newCheckProducer(t, h, "127.0.0.1@check-u", "pg", func(*message.Ext) int32 { return header.TxUnknown })
	hf := h.sendHalf("pg", "Orders", 0, "never-decided", nil)
	h.waitSettled()
	// Rounds come one transactionCheckInterval (an hour here) apart.
	now := time.Now()
	for i := 1; i <= 3; i++ {
		now = now.Add(time.Hour)
		h.b.txn.Round(now)
		p.waitChecks(i)
		h.waitSettled()
		l := h.pending("pg", 0)
		if l.Total != 1 || l.Transactions[0].CheckTimes != i || l.Transactions[0].LastCheckTimestamp != now.UnixMilli() {
			t.Fatalf("after check %d: %+v", i, l)
		}
		// A round again right away does not check again.
		h.b.txn.Round(now.Add(time.Second))
	}
	if got := p.seen(); len(got) != 3 {
		t.Fatalf("%d checks sent, want 3", len(got))
	}
	h.b.txn.Round(now.Add(time.Hour)) // transactionCheckMax reached: given up
	h.waitPending(0)
	moved := h.queueRecords(meta.TopicTransCheckMaxTime, 0)
	if len(moved) != 1 || string(moved[0].Body) != "never-decided" || moved[0].PreparedTransactionOffset != hf.offset ||
		moved[0].Properties[message.PropRealTopic] != "Orders" || moved[0].Properties[message.PropTxCheckTimes] != "3" {
		t.Fatalf("%s: %+v", meta.TopicTransCheckMaxTime, moved)
	}
	if _, ok := h.b.topics.Get(meta.TopicTransCheckMaxTime); !ok {
		t.Fatalf("%s has no topic config", meta.TopicTransCheckMaxTime)
	}
	wantCode(t, "commit after give-up", h.endTx("pg", hf, header.TxCommit), code.SystemError, "discarded")
	if n := h.b.Store().MaxOffset("Orders", 0); n != 0 {
		t.Fatalf("given-up message delivered: max offset %d", n)
	}
}

func TestCheckBackRotatesAndSkipsClosed(t *testing.T) {
	h := txnHarness(t)
	unknown := func(*message.Ext) int32 { return header.TxUnknown }
	a := newCheckProducer(t, h, "127.0.0.1@a", "pg", unknown)
	b := newCheckProducer(t, h, "127.0.0.1@b", "pg", unknown)
	h.sendHalf("pg", "Orders", 0, "rotating", nil)
	h.waitSettled()
	now := time.Now()
	for i := 0; i < 2; i++ {
		now = now.Add(time.Hour)
		h.b.txn.Round(now)
		deadline := time.Now().Add(10 * time.Second)
		for len(a.seen())+len(b.seen()) < i+1 && time.Now().Before(deadline) {
			<-time.After(2 * time.Millisecond)
		}
		h.waitSettled()
	}
	if len(a.seen()) != 1 || len(b.seen()) != 1 {
		t.Fatalf("two checks went %d to a and %d to b, want one each", len(a.seen()), len(b.seen()))
	}
	// Kill b's connection: the next check goes to a.
	b.cl.Close()
	deadline := time.Now().Add(10 * time.Second)
	for len(h.b.clients.ProducerConns("pg")) != 1 && time.Now().Before(deadline) {
		<-time.After(2 * time.Millisecond)
	}
	h.b.txn.Round(now.Add(time.Hour))
	a.waitChecks(2)
}

func TestPendingSurvivesRestart(t *testing.T) {
	h := txnHarness(t)
	h1 := h.sendHalf("pg", "Orders", 0, "one", nil)
	h2 := h.sendHalf("pg", "Orders", 1, "two", nil)
	h3 := h.sendHalf("pg2", "Orders", 2, "three", map[string]string{message.PropCheckImmunity: "60"})
	wantCode(t, "commit one", h.endTx("pg", h1, header.TxCommit), code.Success, "")
	snap := filepath.Join(h.so.Dir, txnsvc.SnapshotDir, txnsvc.SnapshotName)

	check := func(stage string) {
		t.Helper()
		l := h.pending("", 0)
		if l.Total != 2 || l.Transactions[0].CommitLogOffset != h2.offset || l.Transactions[1].CommitLogOffset != h3.offset ||
			l.Transactions[1].ProducerGroup != "pg2" || l.Transactions[1].QueueID != 2 {
			t.Fatalf("%s: pending %+v", stage, l.Transactions)
		}
	}
	h.reopen() // clean close writes the snapshot
	if _, err := os.Stat(snap); err != nil {
		t.Fatalf("no snapshot after a clean close: %v", err)
	}
	check("from the snapshot")

	// Without the snapshot the set is rebuilt from the log.
	if err := h.b.Close(); err != nil {
		t.Fatal(err)
	}
	h.b = nil
	if err := os.Remove(snap); err != nil {
		t.Fatal(err)
	}
	h.open()
	check("rebuilt from the log")

	// A snapshot claiming more log than there is is not trusted.
	if err := h.b.Close(); err != nil {
		t.Fatal(err)
	}
	h.b = nil
	ahead := txn.New(1 << 40)
	data, _ := ahead.Snapshot()
	if err := os.WriteFile(snap, data, 0o644); err != nil {
		t.Fatal(err)
	}
	h.open()
	check("past an ahead snapshot")
	// A corrupt one neither.
	if err := h.b.Close(); err != nil {
		t.Fatal(err)
	}
	h.b = nil
	if err := os.WriteFile(snap, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.open()
	check("past a corrupt snapshot")

	// The reopened broker resolves as before, by the same keys.
	wantCode(t, "commit two", h.endTx("pg", h2, header.TxCommit), code.Success, "")
	wantCode(t, "rollback three", h.endTx("pg2", h3, header.TxRollback), code.Success, "")
	wantCode(t, "commit one again", h.endTx("pg", h1, header.TxCommit), code.Success, "already")
	h.waitSettled()
	if n0, n1 := h.b.Store().MaxOffset("Orders", 0), h.b.Store().MaxOffset("Orders", 1); n0 != 1 || n1 != 1 {
		t.Fatalf("max offsets %d, %d; want 1, 1", n0, n1)
	}
}

func TestAdminListAndResolve(t *testing.T) {
	h := txnHarness(t)
	var hs []half
	for i := 0; i < 5; i++ {
		g := "pgA"
		if i%2 == 1 {
			g = "pgB"
		}
		hs = append(hs, h.sendHalf(g, "Orders", int32(i%4), fmt.Sprintf("m%d", i), nil))
	}
	h.waitSettled()
	l := h.pending("pgA", 2)
	if l.Total != 3 || len(l.Transactions) != 2 || l.Transactions[0].CommitLogOffset != hs[0].offset ||
		l.Transactions[1].CommitLogOffset != hs[2].offset || l.BrokerName != "broker-t" {
		t.Fatalf("pgA limited to 2: %+v", l)
	}
	resolve := func(off int64, c int32, group string) *codec.Command {
		return h.call(code.ResolvePendingTransaction,
			(&header.ResolvePendingTransactionRequest{CommitLogOffset: off, CommitOrRollback: c, ProducerGroup: group}).Encode(), nil)
	}
	wantCode(t, "commit m0", resolve(hs[0].offset, header.TxCommit, ""), code.Success, "")
	wantCode(t, "rollback m1", resolve(hs[1].offset, header.TxRollback, "pgB"), code.Success, "")
	wantCode(t, "wrong group", resolve(hs[2].offset, header.TxCommit, "pgB"), code.SystemError, "belongs to producer group")
	wantCode(t, "bad outcome", resolve(hs[2].offset, header.TxUnknown, ""), code.SystemError, "commitOrRollback 0")
	wantCode(t, "not a half", resolve(3, header.TxCommit, ""), code.SystemError, "no half message")
	h.waitSettled()
	if l := h.pending("", 0); l.Total != 3 {
		t.Fatalf("after resolving two of five: %+v", l)
	}
	if recs := h.queueRecords("Orders", 0); len(recs) != 1 || string(recs[0].Body) != "m0" {
		t.Fatalf("Orders:0 after the admin commit: %+v", recs)
	}
	if n := h.b.Store().MaxOffset("Orders", 1); n != 0 {
		t.Fatalf("rolled back m1 visible")
	}
}

// TestConcurrentResolutions races commits and rollbacks of one transaction from many
// connections: exactly one resolution is written, every request agreeing with it
// succeeds, every other is refused.
func TestConcurrentResolutions(t *testing.T) {
	h := txnHarness(t)
	commits := 0
	for round := 0; round < 5; round++ {
		hf := h.sendHalf("pg", "Orders", 1, fmt.Sprintf("race-%d", round), nil)
		const n = 16
		codes := make([]int32, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				cl := transport.NewClient(transport.ClientOptions{})
				defer cl.Close()
				c := header.TxCommit
				if i%2 == 1 {
					c = header.TxRollback
				}
				req := header.EndTransactionRequest{ProducerGroup: "pg", TranStateTableOffset: hf.queueOffset,
					CommitLogOffset: hf.offset, CommitOrRollback: c}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				resp, err := cl.Invoke(ctx, h.b.Addr(), codec.NewRequest(code.EndTransaction, req.Encode(), nil))
				if err != nil {
					t.Errorf("end transaction %d: %v", i, err)
					return
				}
				codes[i] = resp.Code
			}(i)
		}
		wg.Wait()
		h.waitSettled()
		o, ok := h.b.txn.Set().Resolution(hf.offset)
		if !ok {
			t.Fatalf("round %d: not resolved", round)
		}
		if o == txn.OutcomeCommitted {
			commits++
		}
		for i, c := range codes {
			agrees := (i%2 == 0) == (o == txn.OutcomeCommitted)
			if agrees != (c == code.Success) {
				t.Fatalf("round %d: request %d (%s) answered %d, outcome %v", round, i, map[bool]string{true: "commit", false: "rollback"}[i%2 == 0], c, o)
			}
		}
	}
	recs := h.queueRecords("Orders", 1)
	seen := map[string]bool{}
	for _, m := range recs {
		if seen[string(m.Body)] {
			t.Fatalf("%q committed twice", m.Body)
		}
		seen[string(m.Body)] = true
	}
	if len(recs) != commits {
		t.Fatalf("%d messages in Orders:1, %d rounds resolved as commits", len(recs), commits)
	}
}

// TestStaleSnapshotCatchesUp restarts from a snapshot older than the log: the set
// replays what came after it (resolutions, new half messages, check-backs) and ends
// up where it would have been.
func TestStaleSnapshotCatchesUp(t *testing.T) {
	h := txnHarness(t)
	p := newCheckProducer(t, h, "127.0.0.1@stale", "pg", func(*message.Ext) int32 { return header.TxUnknown })
	h1 := h.sendHalf("pg", "Orders", 0, "one", nil)
	h2 := h.sendHalf("pg", "Orders", 1, "two", nil)
	h.waitSettled()
	now := time.Now().Add(time.Hour)
	h.b.txn.Round(now) // one check each, recorded before the snapshot
	p.waitChecks(2)
	h.waitSettled()
	if err := h.b.txn.SaveSnapshot(); err != nil {
		t.Fatal(err)
	}
	snap := filepath.Join(h.so.Dir, txnsvc.SnapshotDir, txnsvc.SnapshotName)
	old, err := os.ReadFile(snap)
	if err != nil {
		t.Fatal(err)
	}

	wantCode(t, "commit one", h.endTx("pg", h1, header.TxCommit), code.Success, "")
	h3 := h.sendHalf("pg", "Orders", 2, "three", nil)
	wantCode(t, "rollback two", h.endTx("pg", h2, header.TxRollback), code.Success, "")
	h4 := h.sendHalf("pg", "Orders", 3, "four", nil)
	h.waitSettled()
	h.b.txn.Round(now.Add(time.Hour)) // a second check of three and four
	p.waitChecks(4)
	h.waitSettled()

	if err := h.b.Close(); err != nil {
		t.Fatal(err)
	}
	h.b = nil
	if err := os.WriteFile(snap, old, 0o644); err != nil {
		t.Fatal(err)
	}
	h.open()
	l := h.pending("", 0)
	if l.Total != 2 || l.Transactions[0].CommitLogOffset != h3.offset || l.Transactions[1].CommitLogOffset != h4.offset ||
		l.Transactions[0].CheckTimes != 1 || l.Transactions[1].CheckTimes != 1 {
		t.Fatalf("after catching up from a stale snapshot: %+v", l.Transactions)
	}
	wantCode(t, "commit one again", h.endTx("pg", h1, header.TxCommit), code.Success, "already committed")
	wantCode(t, "commit two", h.endTx("pg", h2, header.TxCommit), code.SystemError, "already rolled back")
	wantCode(t, "commit three", h.endTx("pg", h3, header.TxCommit), code.Success, "")
	h.waitSettled()
	for q, want := range []int64{1, 0, 1, 0} {
		if n := h.b.Store().MaxOffset("Orders", int32(q)); n != want {
			t.Fatalf("Orders:%d holds %d messages, want %d", q, n, want)
		}
	}
}
