// Package txnsvc owns the broker's service for transactional messages: the
// half-message set (broker/txn) as a store projection, its snapshot on disk, the
// check-back loop that asks producers for unresolved transactions and gives up those
// past transactionCheckMax, and the resolution of a half message by END_TRANSACTION or
// an operator. The broker root serves the requests (10 with a half message, 37, 2100,
// 2101) on top of it.
package txnsvc

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/broker/internal/refusal"
	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/broker/txn"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

// txnSnapshotEvery is how often the half-message set is saved: a restart replays at
// most this much of the log into it (on top of the unclean-shutdown recovery).
const txnSnapshotEvery = 10 * time.Second

// txnWait bounds how long an END_TRANSACTION waits for its half message, or its own
// resolution, to be dispatched (normally microseconds).
const txnWait = 3 * time.Second

// SnapshotDir and SnapshotName locate the snapshot under the store root.
const (
	SnapshotDir  = "txn"
	SnapshotName = "halfset"
)

// Service is the broker's side of transactional messages: the half-message set (a
// store projection), its snapshot, the check-back loop and the resolution of half
// messages.
type Service struct {
	o    Options
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

// Options are what the service needs of its broker.
type Options struct {
	// Dir is the store root; the snapshot lives under it in txn/halfset.
	Dir string
	// Policy is when half messages are checked back and given up.
	Policy txn.Policy
	// Store holds the half messages; the set is one of its projections.
	Store *store.Store
	// Put and PutBatch append records (the broker's appender, so a test may swap it).
	Put      func(rec []byte) (store.PutResult, error)
	PutBatch func(recs []byte) (store.PutResult, error)
	// Topics creates TRANS_CHECK_MAX_TIME_TOPIC for given-up half messages.
	Topics *meta.Topics
	// Producers lists the live connections of a producer group, for check-backs.
	Producers func(group string) []*server.Conn
	// StoreHost is the address stamped on op records; Now the broker's clock.
	StoreHost func() netip.AddrPort
	Now       func() time.Time
	// Passive reports a slave, whose set only follows the replicated log; Closing a
	// broker shutting down.
	Passive func() bool
	Closing func() bool
	Logger  zerolog.Logger
}

// Open loads the half-message set (from its snapshot when it is usable, else from the
// log) and registers it with the store, which catches it up before returning.
func Open(o Options) (*Service, error) {
	t := &Service{
		o:    o,
		log:  o.Logger.With().Str("component", "txn").Logger(),
		path: filepath.Join(o.Dir, SnapshotDir, SnapshotName),
		pol:  o.Policy,
		stop: make(chan struct{}),
	}
	t.set = t.load()
	t.snapDone = t.set.Applied()
	began := time.Now()
	if err := o.Store.AddProjection(t.set); err != nil {
		return nil, fmt.Errorf("broker: half-message set: %w", err)
	}
	t.log.Info().Int("pending", t.set.Len()).Int64("applied", t.set.Applied()).
		Dur("took", time.Since(began)).Msg("half-message set loaded")
	return t, nil
}

// Set returns the half-message set.
func (t *Service) Set() *txn.Set { return t.set }

// Log returns the service's logger.
func (t *Service) Log() *zerolog.Logger { return &t.log }

// load returns the set restored from the snapshot, or an empty one that the store
// fills from its oldest record. A snapshot that does not decode, or that is ahead of
// the log (a machine crash cut the log's tail, and with it resolutions the snapshot
// has applied), is deleted, so that it is never used once the log has grown past it.
func (t *Service) load() *txn.Set {
	st := t.o.Store
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

// Start launches the check-back loop.
func (t *Service) Start() {
	t.wg.Add(1)
	go t.loop()
}

// Close stops the loop, waits for it, and saves a last snapshot. Safe to call more
// than once, and without start.
func (t *Service) Close() {
	t.stopOnce.Do(func() { close(t.stop) })
	t.wg.Wait()
	if err := t.SaveSnapshot(); err != nil {
		t.log.Warn().Err(err).Msg("save half-message snapshot")
	}
}

// loop runs a check round every transactionCheckInterval and saves the snapshot every
// txnSnapshotEvery, until close.
func (t *Service) loop() {
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
			t.Round(t.o.Now())
		case <-snaps.C:
			if err := t.SaveSnapshot(); err != nil {
				t.log.Warn().Err(err).Msg("save half-message snapshot")
			}
		}
	}
}

// Round carries out one check round at now (docs/protocol.md §7.3): gives up the half
// messages Due says to, sends CHECK_TRANSACTION_STATE for the others to a live producer
// of their group, and records the checks sent in one or a few op records.
func (t *Service) Round(now time.Time) {
	if t.o.Passive() {
		return // the master checks; a slave's set only follows the replicated log
	}
	var checked []int64
	for _, a := range t.set.Due(now, t.pol) {
		if t.o.Closing() {
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
	recs, err := txn.OpRecords(nil, txn.OpTagChecked, checked, t.o.StoreHost(), now.UnixMilli())
	if err == nil {
		_, err = t.o.PutBatch(recs)
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
func (t *Service) checkBack(e txn.Entry, now time.Time) bool {
	conns := t.o.Producers(e.Group)
	if len(conns) == 0 {
		t.log.Debug().Str("group", e.Group).Int64("offset", e.Offset).Msg("no producer online to check back")
		return false
	}
	half, err := t.o.Store.ReadRecord(e.Offset)
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
func (t *Service) discard(e txn.Entry, reason string, now time.Time) {
	if _, st, _ := t.set.Claim(e.Offset, txn.OutcomeDiscarded); st != txn.Claimed {
		return // resolved meanwhile
	}
	var rec []byte
	half, err := t.o.Store.ReadRecord(e.Offset)
	if err == nil {
		rec, err = txn.DiscardRecord(nil, half, e.Offset, e.Checks)
	}
	if err == nil {
		_, err = t.o.Topics.Ensure(meta.TopicTransCheckMaxTime, 1)
	}
	if err == nil {
		_, err = t.o.Put(rec)
	} else {
		reason += fmt.Sprintf("; not moved to %s: %v", meta.TopicTransCheckMaxTime, err)
		rec, err = txn.OpRecords(nil, txn.OpTagRemoved, []int64{e.QueueOffset}, t.o.StoreHost(), now.UnixMilli())
		if err == nil {
			_, err = t.o.PutBatch(rec)
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

// SaveSnapshot writes the set's snapshot if it has moved since the last one: a
// temporary file, fsync, rename, fsync of the directory.
func (t *Service) SaveSnapshot() error {
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

// Resolve writes the resolution want for the half message at off. With h (an
// END_TRANSACTION) the half message must belong to h's producer group and half-queue
// offset; without (the admin extension) any pending half message may be resolved.
// A resolution already written (or being written) answers with a remark and no error
// when it is want, and an error when it is the other one.
func (t *Service) Resolve(off int64, want txn.Outcome, h *header.EndTransactionRequest) (string, error) {
	if lg := t.o.Store; off < 0 || off >= lg.MaxPhysicalOffset() {
		return "", refusal.New(refusal.BadRequest, "no half message at commitLogOffset %d: the log holds [%d, %d)",
			off, lg.MinPhysicalOffset(), lg.MaxPhysicalOffset())
	}
	// The half message's send was answered once it was in the log; the set learns of
	// it from the dispatcher a moment later.
	ctx, cancel := context.WithTimeout(context.Background(), txnWait)
	defer cancel()
	if err := t.set.WaitApplied(ctx, off); err != nil {
		return "", refusal.New(refusal.SystemBusy, "half message at %d not dispatched yet; try again", off)
	}
	e, st, prev := t.set.Claim(off, want)
	switch st {
	case txn.InProgress:
		if h != nil {
			if err := checkEndTx(e, h); err != nil {
				return "", err
			}
		}
		return t.already(off, want, prev, "being ")
	case txn.Resolved, txn.NotPending:
		// A repeated END_TRANSACTION is checked like the first one was.
		return t.notPending(off, want, h)
	}
	if h != nil {
		if err := checkEndTx(e, h); err != nil {
			t.set.Release(off)
			return "", err
		}
	}
	rec, err := t.resolutionRecord(e, want)
	var res store.PutResult
	if err == nil {
		res, err = t.o.Put(rec)
	}
	if err != nil {
		t.set.Release(off)
		return "", err
	}
	// The claim keeps the entry from being resolved twice until the dispatcher applies
	// the record; waiting for that lets a request right after this answer see it.
	if err := t.set.WaitApplied(ctx, res.PhysicalOffset); err != nil {
		t.log.Debug().Err(err).Int64("offset", off).Msg("resolution not yet dispatched")
	}
	ev := t.log.Debug()
	if h == nil {
		ev = t.log.Info() // by an operator: worth a line
	}
	ev.Str("group", e.Group).Str("topic", e.Topic).Int32("queue_id", e.QueueID).Int64("offset", off).
		Str("msg_id", e.UniqKey).Str("outcome", want.String()).Msg("transaction resolved")
	return "", nil
}

// resolutionRecord builds the record that resolves e as want: the committed message,
// or a rollback op record.
func (t *Service) resolutionRecord(e txn.Entry, want txn.Outcome) ([]byte, error) {
	if want == txn.OutcomeRolledBack {
		return txn.OpRecords(nil, txn.OpTagRemoved, []int64{e.QueueOffset}, t.o.StoreHost(), t.o.Now().UnixMilli())
	}
	half, err := t.o.Store.ReadRecord(e.Offset)
	if err != nil {
		return nil, refusal.New(refusal.BadRequest, "half message at %d is no longer in the log (%v); it cannot be committed", e.Offset, err)
	}
	rec, err := txn.CommitRecord(nil, half, e.Offset)
	if err != nil {
		return nil, refusal.New(refusal.BadRequest, "half message at %d: %v", e.Offset, err)
	}
	return rec, nil
}

// checkEndTx applies Java's checks of an END_TRANSACTION against its half message.
func checkEndTx(e txn.Entry, h *header.EndTransactionRequest) error {
	if e.Group != h.ProducerGroup {
		return refusal.New(refusal.BadRequest, "the producer group wrong: half message at %d belongs to %q, END_TRANSACTION names %q",
			e.Offset, e.Group, h.ProducerGroup)
	}
	if e.QueueOffset != h.TranStateTableOffset {
		return refusal.New(refusal.BadRequest, "the transaction state table offset wrong: half message at %d has %d, END_TRANSACTION names %d",
			e.Offset, e.QueueOffset, h.TranStateTableOffset)
	}
	return nil
}

// already answers a request for a transaction that is resolved, or being resolved,
// with prev.
func (t *Service) already(off int64, want, prev txn.Outcome, state string) (string, error) {
	switch {
	case prev == want:
		return fmt.Sprintf("transaction at %d %s%s", off, state, prev), nil
	case prev == txn.OutcomeUnknown:
		return fmt.Sprintf("transaction at %d %sresolved", off, state), nil
	}
	return "", refusal.New(refusal.BadRequest, "transaction at %d %s%s; %s ignored", off, state, prev, verb(want))
}

// notPending answers a request for an offset the set has no pending half message at:
// either none was ever stored there, or its transaction was resolved (perhaps long
// enough ago to be forgotten). The record is read to tell which and to check the
// request against it; it is never acted on, since a record the dispatcher did not take
// for a half message is not trusted as one.
func (t *Service) notPending(off int64, want txn.Outcome, h *header.EndTransactionRequest) (string, error) {
	rec, err := t.o.Store.ReadRecord(off)
	if err != nil || message.RecordTopic(rec) != meta.TopicTransHalf {
		return "", refusal.New(refusal.BadRequest, "no half message at commitLogOffset %d", off)
	}
	if h != nil {
		group, _ := message.PropertyOf(message.RecordProperties(rec), message.PropProducerGroup)
		e := txn.Entry{Offset: off, Group: group, QueueOffset: message.RecordQueueOffset(rec)}
		if err := checkEndTx(e, h); err != nil {
			return "", err
		}
	}
	if o, ok := t.set.Resolution(off); ok {
		return t.already(off, want, o, "already ")
	}
	return fmt.Sprintf("transaction at %d already resolved", off), nil
}

func verb(o txn.Outcome) string {
	if o == txn.OutcomeCommitted {
		return "commit"
	}
	return "rollback"
}

// Pending lists the unresolved half messages of group (all groups when empty), at most
// limit, oldest first, with their age at now and their check count.
func (t *Service) Pending(group string, limit int, now time.Time, host netip.AddrPort, brokerName string) *body.PendingTransactionList {
	entries, total := t.set.List(group, limit)
	l := &body.PendingTransactionList{BrokerName: brokerName, Now: now.UnixMilli(), Total: total,
		Transactions: make([]body.PendingTransaction, len(entries))}
	for i, e := range entries {
		pt := body.PendingTransaction{
			AgeMillis:            now.Sub(e.StoreTime).Milliseconds(),
			CheckTimes:           e.Checks,
			CommitLogOffset:      e.Offset,
			MsgID:                e.UniqKey,
			OffsetMsgID:          message.OffsetMsgID(host, e.Offset),
			ProducerGroup:        e.Group,
			QueueID:              e.QueueID,
			Topic:                e.Topic,
			StoreTimestamp:       e.StoreTime.UnixMilli(),
			TranStateTableOffset: e.QueueOffset,
		}
		if !e.LastCheck.IsZero() {
			pt.LastCheckTimestamp = e.LastCheck.UnixMilli()
		}
		l.Transactions[i] = pt
	}
	return l
}
