package broker

import (
	"errors"
	"strconv"
	"time"
	"unsafe"

	"github.com/rocketgo/rocketgo/broker/filter"
	"github.com/rocketgo/rocketgo/broker/internal/brokerstats"
	"github.com/rocketgo/rocketgo/broker/internal/longpoll"
	"github.com/rocketgo/rocketgo/broker/internal/sqlread"
	"github.com/rocketgo/rocketgo/broker/internal/tags"
	"github.com/rocketgo/rocketgo/broker/metrics"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

// reader is the part of the store the pull path reads through.
type reader interface {
	GetMessages(topic string, queueID int32, offset int64, maxCount, maxBytes int, match func(tagsCode int64) bool) store.GetResult
	MaxOffset(topic string, queueID int32) int64
}

var _ reader = (*store.Store)(nil)

// Expression types of a subscription.
const (
	exprTag   = "TAG"
	exprSQL92 = "SQL92"
)

// pullPlan is a validated pull: what to read and how to filter. A parked pull keeps it
// and runs it again when released.
type pullPlan struct {
	topic    string
	group    string
	queueID  int32
	offset   int64
	maxCount int
	// match filters ConsumeQueue units by tags code; nil accepts every message.
	match func(tagsCode int64) bool
	// sql filters records by their properties (SQL92, propfilter.go); nil for tags.
	sql *filter.Expr
}

// handlePull serves PULL_MESSAGE (11) (docs/protocol.md §2.4): it checks the group, topic,
// queue and subscription, stores the commit offset the consumer piggybacks, reads up to
// the batch limits, and answers with the records as zero-copy body parts. A pull that
// finds nothing new and carries the suspend bit is parked (see park) and answered
// when a matching message arrives or its suspend timeout passes.
func (b *Broker) handlePull(conn *server.Conn, req *codec.Command) *codec.Command {
	var h header.PullMessageRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	// The plan stays on this goroutine's stack unless the pull is parked (park copies it).
	var p pullPlan
	if err := b.planPull(&h, &p); err != nil {
		return errorResponse(req, err)
	}
	// Stored only on the request's first run, as Java's brokerAllowSuspend gate does;
	// negative values are the client's "nothing consumed yet".
	if h.SysFlag&header.PullCommitOffset != 0 && h.CommitOffset >= 0 {
		// The names passed planPull, so the key can hold them.
		_ = b.offsets.Commit(p.group, p.topic, p.queueID, h.CommitOffset)
	}
	resp, suspendable := b.runPull(req, &p)
	if suspendable && h.SysFlag&header.PullSuspend != 0 {
		parked, busy := b.park(conn, req, &p, h.SuspendTimeoutMillis)
		if parked {
			return nil
		}
		if busy != nil {
			return busy
		}
	}
	return resp
}

// planPull validates a pull and resolves its filter into p.
func (b *Broker) planPull(h *header.PullMessageRequest, p *pullPlan) error {
	sg, err := b.groups.Ensure(h.ConsumerGroup)
	if err != nil {
		return err
	}
	if !sg.GetConsumeEnable() {
		return reject(errNoPermission, "subscription group [%s] does not have consume permission", h.ConsumerGroup)
	}
	tc, ok := b.topics.Get(h.Topic)
	if !ok {
		return reject(errTopicNotExist, "topic[%s] not exist, apply first please!", h.Topic)
	}
	if tc.GetPerm()&body.PermRead == 0 {
		return reject(errNoPermission, "the topic[%s] pulling message is forbidden (perm %d has no read bit)", h.Topic, tc.GetPerm())
	}
	if h.QueueID < 0 || h.QueueID >= tc.GetReadQueueNums() {
		return reject(errBadRequest, "queueId[%d] is illegal, topic:[%s] topicConfig.readQueueNums:[%d] consumer:[%s]",
			h.QueueID, h.Topic, tc.GetReadQueueNums(), h.ConsumerGroup)
	}
	sql, err := b.sqlFilterOf(h) // propfilter.go
	if err != nil {
		return err
	}
	var match func(int64) bool
	if sql == nil {
		if match, err = b.pullFilter(h); err != nil {
			return err
		}
	}
	maxCount := min(max(int(h.MaxMsgNums), 1), b.live().MaxTransferCount)
	*p = pullPlan{topic: h.Topic, group: h.ConsumerGroup, queueID: h.QueueID, offset: h.QueueOffset, maxCount: maxCount, match: match, sql: sql}
	return nil
}

// readPull reads what a pull plan asks for: through the tag filter on the
// ConsumeQueue, or, for SQL92, by evaluating each record's properties.
func (b *Broker) readPull(p *pullPlan) store.GetResult {
	if p.sql == nil {
		return b.pullSrc.GetMessages(p.topic, p.queueID, p.offset, p.maxCount, b.live().MaxTransferBytes, p.match)
	}
	return sqlread.Read(b.pullSrc, p.topic, p.queueID, p.offset, p.maxCount,
		func() int { return b.live().MaxTransferBytes }, p.sql.MatchProperties)
}

// pullFilter returns the tag filter of a pull: from the request's own expression when
// it carries one (sysFlag bit 2), else from the subscription the group registered by
// heartbeat. The hash codes are always recomputed from the tag strings: the Go client's
// codeSet hashes UTF-8 bytes and differs from the stored Java hash for non-ASCII tags.
//
// A pull with neither — a consumer that pulls before its first heartbeat reached this
// broker — is served as "*" instead of Java's SUBSCRIPTION_NOT_EXIST (docs/protocol.md
// §11.14): the client filters by tag again itself, so the worst case is a few messages
// transferred and dropped, while an error would stall the queue for 3 s.
func (b *Broker) pullFilter(h *header.PullMessageRequest) (func(int64) bool, error) {
	if h.SysFlag&header.PullClassFilter != 0 {
		return nil, nil
	}
	if h.SysFlag&header.PullSubscription != 0 {
		if err := checkExprType(h.ExpressionType); err != nil {
			return nil, err
		}
		return tags.Matcher(tags.Parse(h.Subscription)), nil
	}
	sd, ok := b.clients.Subscription(h.ConsumerGroup, h.Topic)
	if !ok {
		return nil, nil
	}
	if sd.SubVersion < h.SubVersion {
		return nil, reject(errSubscriptionNotLatest, "the consumer's subscription of %s is not latest (registered %d, pull %d), group %s",
			h.Topic, sd.SubVersion, h.SubVersion, h.ConsumerGroup)
	}
	if err := checkExprType(sd.ExpressionType); err != nil {
		return nil, err
	}
	if sd.ClassFilterMode {
		return nil, nil
	}
	return tags.Matcher(tags.OfSubscription(sd)), nil
}

// checkExprType accepts TAG (also when empty) and refuses the rest.
func checkExprType(t string) error {
	switch t {
	case "", exprTag:
		return nil
	case exprSQL92:
		return nil // filtered per record after the read: propfilter.go
	}
	return reject(errSubscriptionParse, "expression type %q unknown; use TAG", t)
}

// runPull reads the queue and builds the answer; suspendable reports PULL_NOT_FOUND,
// the only answer a long poll may hold back.
//
// The status table (docs/protocol.md §2.4):
//
//	status                     code                          nextBeginOffset
//	NO_MATCHED_LOGIC_QUEUE     21 if offset != 0, else 19    0
//	NO_MESSAGE_IN_QUEUE        21 if offset != 0, else 19    0
//	OFFSET_TOO_SMALL           21                            min
//	OFFSET_OVERFLOW_ONE        19                            offset
//	OFFSET_OVERFLOW_BADLY      21                            max
//	FOUND                      0                             offset + units scanned
//	NO_MATCHED_MESSAGE         20                            offset + units scanned
//	MESSAGE_WAS_REMOVING       20                            as scanned
func (b *Broker) runPull(req *codec.Command, p *pullPlan) (resp *codec.Command, suspendable bool) {
	res := b.readPull(p) // propfilter.go: the tag filter, or SQL92 per record
	var c int32
	next := res.NextBegin
	switch res.Status {
	case store.Found:
		c = code.Success
		b.countPulled(len(res.Records))
		b.bstats.Add(brokerstats.Key{Name: brokerstats.GroupGetNums, Topic: p.topic, Group: p.group}, int64(len(res.Records)))
		b.obs.m.Pulled(p.topic, p.group, p.queueID, next, res.Records) // observe.go
	case store.NoMatchedMessage, store.MessageWasRemoving:
		c = code.PullRetryImmediately
	case store.OffsetTooSmall:
		c, next = code.PullOffsetMoved, res.MinOffset
	case store.OffsetOverflowOne:
		c, next = code.PullNotFound, p.offset
	case store.OffsetOverflowBadly:
		c, next = code.PullOffsetMoved, res.MaxOffset
	case store.NoMessageInQueue, store.NoMatchedLogicQueue:
		c, next = code.PullOffsetMoved, 0
		if p.offset == 0 {
			c = code.PullNotFound
		}
	default:
		c = code.SystemError
	}
	c, next, remark := b.slavePull(p, &res, c, next) // role.go: a slave never moves offsets
	resp = req.NewResponse(c, remark)
	// The four numbers are formatted into one buffer, each field a string over its part:
	// one allocation instead of one per number (the buffer is never written again).
	var nums [4]int64
	nums[0], nums[1], nums[2], nums[3] = next, res.MinOffset, res.MaxOffset, b.suggestBrokerID(p.group, &res) // role.go
	var ends [4]int
	buf := make([]byte, 0, 4*20)
	for i, n := range nums {
		buf = strconv.AppendInt(buf, n, 10)
		ends[i] = len(buf)
	}
	// NewResponse's empty map takes the four fields: one group, no second map.
	resp.ExtFields["nextBeginOffset"] = unsafe.String(&buf[0], ends[0])
	resp.ExtFields["minOffset"] = unsafe.String(&buf[ends[0]], ends[1]-ends[0])
	resp.ExtFields["maxOffset"] = unsafe.String(&buf[ends[1]], ends[2]-ends[1])
	resp.ExtFields["suggestWhichBrokerId"] = unsafe.String(&buf[ends[2]], ends[3]-ends[2])
	if c == code.Success {
		resp.BodyParts = res.Records
	}
	return resp, c == code.PullNotFound
}

// maxSuspend caps how long a pull is parked. The Go client waits 30 s for a pull answer
// and asks for 20 s; a client asking for more than the cap gets PULL_NOT_FOUND at the cap
// and simply pulls again, while an answer after its own timeout would be lost.
const maxSuspend = 25 * time.Second

// park holds a pull that found nothing (docs/protocol.md §9.9). It reports whether the pull
// was parked; when it was not, busy is the SYSTEM_BUSY answer if a bound refused it, or
// nil if the caller should answer PULL_NOT_FOUND now (the broker is closing, or the
// timeout is zero).
//
// The parked request is answered by re-running the pull (without suspending again) when
// a message past its offset arrives and passes its tag filter, when its own deadline
// passes — exactly then, by its own timer — or when the broker closes.
func (b *Broker) park(conn *server.Conn, req *codec.Command, plan *pullPlan, suspendMillis int64) (parked bool, busy *codec.Command) {
	p := new(pullPlan) // outlives the handler: the release re-runs it
	*p = *plan
	timeout := time.Duration(min(max(suspendMillis, 0), int64(maxSuspend/time.Millisecond))) * time.Millisecond
	if live := b.live(); !live.LongPollingEnable {
		timeout = live.ShortPollingTime
	}
	start := metrics.Mono() // rocketmq_rpc_latency of the late answer (observe_rpc.go)
	r := &longpoll.Request{
		Topic:   p.topic,
		QueueID: p.queueID,
		Offset:  p.offset,
		Owner:   conn.ID(),
		Match:   p.match,
	}
	r.Release = func(why longpoll.Reason) { b.answerParked(conn, req, p, why, start, !r.NotFirst) }
	switch err := b.polls.Park(r, timeout); {
	case err == nil:
	case errors.Is(err, longpoll.ErrFull), errors.Is(err, longpoll.ErrOwnerFull):
		return false, errorResponse(req, reject(errSystemBusy,
			"[PULL]system busy: %v (limits: %d in all, %d per connection); pull again later", err, b.opts.MaxParkedPulls, b.opts.MaxParkedPullsPerConn))
	default: // closed, or nothing to wait for
		return false, nil
	}
	// A message that arrived after the pull read the queue and before Park registered it
	// has already notified; look once more so it does not wait for the deadline.
	if maxOff := b.pullSrc.MaxOffset(p.topic, p.queueID); maxOff > p.offset {
		b.polls.Wake(p.topic, p.queueID, maxOff)
	}
	return true, nil
}

// answerParked re-runs a released pull and writes its answer on the request's
// connection. now says whether the releasing goroutine may write it itself
// (server.Conn.ReplyNow): only the first pull an arrival releases is, so that an arrival
// releasing the pulls of many consumer groups does not make all their writes in a row
// before it returns; the others are queued on their connections' event loops.
func (b *Broker) answerParked(conn *server.Conn, req *codec.Command, p *pullPlan, why longpoll.Reason, start int64, now bool) {
	resp, _ := b.runPull(req, p)
	if err := b.writeLate(conn, req, resp, start, true, now); err != nil {
		b.log.Debug().Err(err).Uint64("conn", conn.ID()).Str("topic", p.topic).Int32("queue_id", p.queueID).
			Stringer("reason", why).Msg("parked pull answer dropped")
	}
}

// onArrival is the store's dispatch hook: every ConsumeQueue append may release parked
// pulls waiting on that queue. It runs where the store dispatches (the dispatcher
// goroutine, or under ASYNC_FLUSH the appender's event loop) and costs one atomic load
// while no pull is parked.
func (b *Broker) onArrival(a store.Arrival) {
	b.polls.Notify(a.Topic, a.QueueID, a.MaxOffset, a.TagsCode)
	if b.pop != nil {
		b.pop.Notify(a.Topic, a.QueueID) // pop.go: waiting POP receives
	}
}
