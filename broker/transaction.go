package broker

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/broker/txn"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/proto/metapb"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// Transaction defaults (BrokerConfig.java).
const (
	defaultTxnCheckInterval = 60 * time.Second
	defaultTxnTimeout       = 6 * time.Second
	defaultTxnCheckMax      = 15
	maxTxnCheckMax          = 1 << 20
)

// txnSnapshotEvery is how often the half-message set is saved: a restart replays at
// most this much of the log into it (on top of the unclean-shutdown recovery).
const txnSnapshotEvery = 10 * time.Second

// txnWait bounds how long an END_TRANSACTION waits for its half message, or its own
// resolution, to be dispatched (normally microseconds).
const txnWait = 3 * time.Second

// maxPendingTransactions bounds the unresolved half messages a broker holds: each
// costs memory in the half-message set (a couple of hundred bytes) and work in every
// check round, and producers that never resolve them would otherwise grow both with
// the log. Past it, half messages are refused with SYSTEM_BUSY until some resolve.
const maxPendingTransactions = 1 << 20

// txnSnapshotDir and txnSnapshotName locate the snapshot under the store root.
const (
	txnSnapshotDir  = "txn"
	txnSnapshotName = "halfset"
)

// validateTxn checks the transaction options (called by Options.Validate).
func (o Options) validateTxn() error {
	switch {
	case o.TransactionCheckInterval < time.Millisecond:
		return fmt.Errorf("broker: transactionCheckInterval %v is under 1ms (durations take a unit, e.g. 60s)", o.TransactionCheckInterval)
	case o.TransactionTimeout < 0:
		return fmt.Errorf("broker: transactionTimeOut %v is negative", o.TransactionTimeout)
	case o.TransactionCheckMax < 1 || o.TransactionCheckMax > maxTxnCheckMax:
		return fmt.Errorf("broker: transactionCheckMax %d outside 1..%d", o.TransactionCheckMax, maxTxnCheckMax)
	}
	return nil
}

// txnService is the broker's side of transactional messages: the half-message set
// (a store projection), its snapshot, and the check-back loop. END_TRANSACTION and the
// admin extensions are in endtx.go.
type txnService struct {
	b    *Broker
	set  *txn.Set
	log  zerolog.Logger
	path string
	pol  txn.Policy

	snapMu   sync.Mutex // one snapshot write at a time
	snapDone int64      // applied offset of the last snapshot written

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// openTxn loads the half-message set (from its snapshot when it is usable, else from
// the log) and registers it with the store, which catches it up before returning.
func (b *Broker) openTxn() error {
	t := &txnService{
		b:    b,
		log:  b.log.With().Str("component", "txn").Logger(),
		path: filepath.Join(b.sopts.Dir, txnSnapshotDir, txnSnapshotName),
		pol: txn.Policy{
			Interval:  b.opts.TransactionCheckInterval,
			Timeout:   b.opts.TransactionTimeout,
			MaxChecks: b.opts.TransactionCheckMax,
			Retention: b.sopts.FileReservedTime,
		},
		stop: make(chan struct{}),
	}
	t.set = t.load()
	t.snapDone = t.set.Applied()
	began := time.Now()
	if err := b.store.AddProjection(t.set); err != nil {
		return fmt.Errorf("broker: half-message set: %w", err)
	}
	t.log.Info().Int("pending", t.set.Len()).Int64("applied", t.set.Applied()).
		Dur("took", time.Since(began)).Msg("half-message set loaded")
	b.txn = t
	return nil
}

// load returns the set restored from the snapshot, or an empty one that the store
// fills from its oldest record. A snapshot that does not decode, or that is ahead of
// the log (a machine crash cut the log's tail, and with it resolutions the snapshot
// has applied), is deleted, so that it is never used once the log has grown past it.
func (t *txnService) load() *txn.Set {
	st := t.b.store
	empty := func() *txn.Set { return txn.New(st.MinPhysicalOffset()) }
	data, err := os.ReadFile(t.path)
	if errors.Is(err, os.ErrNotExist) {
		return empty()
	}
	if err != nil {
		t.log.Warn().Err(err).Str("path", t.path).Msg("half-message snapshot unreadable; rebuilding from the log")
		return empty()
	}
	set, err := txn.Restore(data)
	if err == nil && set.Applied() > st.MaxPhysicalOffset() {
		err = fmt.Errorf("snapshot applied through %d, the log ends at %d", set.Applied(), st.MaxPhysicalOffset())
	}
	if err != nil {
		t.log.Warn().Err(err).Str("path", t.path).Msg("half-message snapshot unusable; rebuilding from the log")
		if rerr := removeSynced(t.path); rerr != nil {
			t.log.Error().Err(rerr).Str("path", t.path).Msg("remove unusable half-message snapshot")
		}
		return empty()
	}
	return set
}

// start launches the check-back loop.
func (t *txnService) start() {
	t.wg.Add(1)
	go t.loop()
}

// close stops the loop, waits for it, and saves a last snapshot. Safe to call more
// than once, and without start.
func (t *txnService) close() {
	t.stopOnce.Do(func() { close(t.stop) })
	t.wg.Wait()
	if err := t.saveSnapshot(); err != nil {
		t.log.Warn().Err(err).Msg("save half-message snapshot")
	}
}

// loop runs a check round every transactionCheckInterval and saves the snapshot every
// txnSnapshotEvery, until close.
func (t *txnService) loop() {
	defer t.wg.Done()
	rounds := time.NewTicker(t.pol.Interval)
	defer rounds.Stop()
	snaps := time.NewTicker(txnSnapshotEvery)
	defer snaps.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-rounds.C:
			t.round(t.b.now())
		case <-snaps.C:
			if err := t.saveSnapshot(); err != nil {
				t.log.Warn().Err(err).Msg("save half-message snapshot")
			}
		}
	}
}

// round carries out one check round at now (docs/protocol.md §7.3): gives up the half
// messages Due says to, sends CHECK_TRANSACTION_STATE for the others to a live producer
// of their group, and records the checks sent in one or a few op records.
func (t *txnService) round(now time.Time) {
	if t.b.isSlave() {
		return // the master checks; a slave's set only follows the replicated log
	}
	var checked []int64
	for _, a := range t.set.Due(now, t.pol) {
		if t.b.closing.Load() {
			return
		}
		switch a.Kind {
		case txn.Discard:
			t.discard(a.Entry, a.Reason, now)
		case txn.Check:
			if t.checkBack(a.Entry, now) {
				checked = append(checked, a.Entry.QueueOffset)
				t.set.MarkChecked(a.Entry.Offset, now)
			}
		}
	}
	if len(checked) == 0 {
		return
	}
	recs, err := txn.OpRecords(nil, txn.OpTagChecked, checked, t.b.storeHost(), now.UnixMilli())
	if err == nil {
		_, err = t.b.putDst.PutBatch(recs)
	}
	if err != nil {
		// The checks went out; only their count is not durable (MarkChecked still
		// spaces them out). The next round tries again with new records.
		t.log.Warn().Err(err).Int("checks", len(checked)).Msg("record check-backs")
	}
}

// checkBack sends CHECK_TRANSACTION_STATE for e to a live producer connection of its
// group, rotating over the group's connections from one check to the next; false if
// no connection took it.
func (t *txnService) checkBack(e txn.Entry, now time.Time) bool {
	conns := t.b.clients.ProducerConns(e.Group)
	if len(conns) == 0 {
		t.log.Debug().Str("group", e.Group).Int64("offset", e.Offset).Msg("no producer online to check back")
		return false
	}
	half, err := t.b.store.ReadRecord(e.Offset)
	if err != nil {
		t.discard(e, fmt.Sprintf("its record is no longer in the log (%v)", err), now)
		return false
	}
	body, err := txn.CheckBody(nil, half, e.Checks+1)
	if err != nil {
		t.discard(e, fmt.Sprintf("its record cannot be read back (%v)", err), now)
		return false
	}
	h := header.CheckTransactionStateRequest{
		TranStateTableOffset: e.QueueOffset,
		CommitLogOffset:      e.Offset,
		MsgID:                e.UniqKey,
		TransactionID:        e.UniqKey,
		OffsetMsgID:          message.OffsetMsgID(message.RecordStoreHost(half), e.Offset),
	}
	for i := range conns {
		c := conns[(e.Checks+i)%len(conns)]
		if err := c.InvokeOneway(codec.NewRequest(code.CheckTransactionState, h.Encode(), body)); err != nil {
			t.log.Debug().Err(err).Uint64("conn", c.ID()).Str("group", e.Group).Msg("check-back not sent")
			continue
		}
		t.log.Debug().Str("group", e.Group).Int64("offset", e.Offset).Str("msg_id", e.UniqKey).
			Int("checks", e.Checks+1).Str("addr", c.RemoteAddr().String()).Msg("check-back sent")
		return true
	}
	return false
}

// discard gives a half message up: a copy goes to TRANS_CHECK_MAX_TIME_TOPIC (or, if
// its record is gone, a rollback op record is written), which resolves it, with a log
// line for the operator.
func (t *txnService) discard(e txn.Entry, reason string, now time.Time) {
	if _, st, _ := t.set.Claim(e.Offset, txn.OutcomeDiscarded); st != txn.Claimed {
		return // resolved meanwhile
	}
	var rec []byte
	half, err := t.b.store.ReadRecord(e.Offset)
	if err == nil {
		rec, err = txn.DiscardRecord(nil, half, e.Offset, e.Checks)
	}
	if err == nil {
		_, err = t.b.topics.Ensure(meta.TopicTransCheckMaxTime, 1)
	}
	if err == nil {
		_, err = t.b.putDst.Put(rec)
	} else {
		reason += fmt.Sprintf("; not moved to %s: %v", meta.TopicTransCheckMaxTime, err)
		rec, err = txn.OpRecords(nil, txn.OpTagRemoved, []int64{e.QueueOffset}, t.b.storeHost(), now.UnixMilli())
		if err == nil {
			_, err = t.b.putDst.PutBatch(rec)
		}
	}
	if err != nil {
		t.set.Release(e.Offset)
		t.log.Error().Err(err).Int64("offset", e.Offset).Str("group", e.Group).Msg("give up half message")
		return
	}
	t.log.Warn().Str("group", e.Group).Str("topic", e.Topic).Int32("queue_id", e.QueueID).
		Int64("offset", e.Offset).Str("msg_id", e.UniqKey).Int("checks", e.Checks).
		Time("stored", e.StoreTime).Str("reason", reason).
		Msg("transaction unresolved; half message moved to " + meta.TopicTransCheckMaxTime)
}

// saveSnapshot writes the set's snapshot if it has moved since the last one: a
// temporary file, fsync, rename, fsync of the directory.
func (t *txnService) saveSnapshot() error {
	t.snapMu.Lock()
	defer t.snapMu.Unlock()
	if t.set.Applied() == t.snapDone {
		return nil
	}
	data, applied := t.set.Snapshot()
	dir := filepath.Dir(t.path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp := t.path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err = f.Write(data); err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, t.path)
	}
	if err == nil {
		err = syncDir(dir)
	}
	if err != nil {
		return fmt.Errorf("broker: save half-message snapshot %s: %w", t.path, err)
	}
	t.snapDone = applied
	return nil
}

// removeSynced removes path (if present) and syncs its directory, so the removal
// survives a crash.
func removeSynced(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// syncDir fsyncs a directory, making a rename or removal in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// isTxSend reports whether a send is transactional, by sysflag or TRAN_MSG, and so
// goes to handleHalfSend. The cheap substring test keeps ordinary sends at one scan
// of their properties.
func isTxSend(h *header.SendMessageRequest) bool {
	return message.TxType(h.SysFlag) != message.TxNotType ||
		strings.Contains(h.Properties, message.PropTranMsg) && tranMsgTrue(h.Properties)
}

// tranMsgTrue reports TRAN_MSG=true, case-insensitively as Java's Boolean.parseBoolean.
func tranMsgTrue(props string) bool {
	v, ok := message.PropertyOf([]byte(props), message.PropTranMsg)
	return ok && strings.EqualFold(v, "true")
}

// handleHalfSend stores the half message of a transactional send (docs/protocol.md §7.1):
// validated as a send to its real topic (auto-creation included), then written to
// RMQ_SYS_TRANS_HALF_TOPIC queue 0 with REAL_TOPIC, REAL_QID and PGROUP. The answer is
// a send answer: the half message's offset id, the real queue id, and its offset in
// the half queue — the two values END_TRANSACTION names it by.
func (b *Broker) handleHalfSend(conn *server.Conn, req *codec.Command, h *header.SendMessageRequestV2) *codec.Command {
	if err := checkHalfSend(req, h); err != nil {
		return b.sendError(req, err)
	}
	if n := b.txn.set.Len(); n >= maxPendingTransactions {
		return b.sendError(req, reject(errSystemBusy, "%d transactions are unresolved on broker %s, the most it holds; resolve some first",
			n, b.opts.BrokerName))
	}
	sb := sendBufPool.Get().(*sendBuf)
	defer putSendBuf(sb)
	var sp propScan
	sb.props, sp = b.rewriteProps(sb.props[:0], h.Properties)
	if f := undelayable(string(sb.props)); f != "" {
		return b.sendError(req, reject(errMessageIllegal, "a transactional message cannot be delayed (%s, topic %s)", f, h.Topic))
	}
	if err := b.checkBodySize(len(req.Body)); err != nil {
		return b.sendError(req, err)
	}
	rh := h.SendMessageRequest
	rh.SysFlag &^= message.TxMask
	dst, err := b.sendCheck(&rh, req.Version, false)
	if err != nil {
		return b.sendError(req, err)
	}
	sysFlag := h.SysFlag &^ (message.FlagBornHostV6 | message.FlagStoreHostV6 | message.FlagMultiTags | message.TxMask)
	if dst.tc.GetTopicFilterType() == metapb.TopicFilterType_MULTI_TAG {
		sysFlag |= message.FlagMultiTags
	}
	m := message.Ext{
		Topic:          meta.TopicTransHalf,
		Flag:           h.Flag,
		SysFlag:        sysFlag,
		BornTimestamp:  h.BornTimestamp,
		BornHost:       conn.RemoteAddr(),
		StoreHost:      b.storeHost(),
		ReconsumeTimes: h.ReconsumeTimes,
		Body:           req.Body,
	}
	props := txn.HalfProperties(string(sb.props), dst.topic, dst.queueID, h.ProducerGroup)
	if sb.rec, err = message.EncodeRecordProps(sb.rec[:0], &m, props); err != nil {
		return b.sendError(req, err)
	}
	res, err := b.putDst.Put(sb.rec)
	if err != nil {
		return b.sendError(req, err)
	}
	if !b.waitsForDurability() || sp.noWait { // SYNC_FLUSH and SYNC_MASTER wait, as for any send
		return b.sendOK(req, code.Success, "", m.StoreHost, dst.queueID, res, nil)
	}
	host, qid := m.StoreHost, dst.queueID
	b.onDurable(res.EndOffset, func(ferr error) {
		c, remark := int16(code.Success), ""
		if ferr != nil {
			c, remark = responseCode(ferr), remarkOf(ferr)
		}
		if err := conn.Reply(b.sendOK(req, c, remark, host, qid, res, nil)); err != nil {
			b.log.Debug().Err(err).Uint64("conn", conn.ID()).Msg("send answer dropped")
		}
	})
	return nil
}

// checkHalfSend refuses transactional sends that cannot be half messages: batches
// (as Java's CommitLog does), a prepared sysflag without TRAN_MSG=true (it would be
// stored and never resolved), committed or rolled back sysflags (only END_TRANSACTION
// writes those), and retry topics.
func checkHalfSend(req *codec.Command, h *header.SendMessageRequestV2) error {
	switch tt := message.TxType(h.SysFlag); {
	case req.Code == code.SendBatchMessage || h.Batch:
		return reject(errMessageIllegal, "a batch cannot hold transactional messages (topic %s); send them one by one", h.Topic)
	case tt == message.TxCommitType || tt == message.TxRollbackType:
		return reject(errMessageIllegal, "sysFlag %d marks a committed or rolled back message; a producer sends half messages (sysFlag 4, TRAN_MSG=true) and resolves them with END_TRANSACTION (37)", h.SysFlag)
	case !tranMsgTrue(h.Properties):
		return reject(errMessageIllegal, "sysFlag %d marks a half message but property TRAN_MSG is not true (topic %s)", h.SysFlag, h.Topic)
	case strings.HasPrefix(h.Topic, meta.RetryGroupTopicPrefix) || strings.HasPrefix(h.Topic, meta.DLQGroupTopicPrefix):
		return reject(errMessageIllegal, "a transactional message cannot go to %s", h.Topic)
	}
	return nil
}

// undelayable names a delay or timer property of props, which a transactional message
// must not have: its delivery time is its commit.
func undelayable(props string) string {
	for _, k := range []string{message.PropDelay, message.PropTimerDeliverMS, message.PropTimerDelaySec, message.PropTimerDelayMS} {
		if v, ok := message.PropertyOf([]byte(props), k); ok && !(k == message.PropDelay && v == "0") {
			return k + "=" + v
		}
	}
	return ""
}
