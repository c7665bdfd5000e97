package client

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// SendStatus is how a broker acknowledged a send. Every status means the message is
// stored on the master; the non-OK ones say a durability step did not finish in time.
type SendStatus int

// Send statuses (docs/protocol.md §2.3, response codes 0, 10, 12, 11).
const (
	SendOK                SendStatus = iota // stored (and flushed/replicated as configured)
	SendFlushDiskTimeout                    // stored, the synchronous flush timed out
	SendFlushSlaveTimeout                   // stored, the slave did not acknowledge in time
	SendSlaveNotAvailable                   // stored, no slave to replicate to
)

// String returns the RocketMQ name of the status.
func (s SendStatus) String() string {
	switch s {
	case SendOK:
		return "SEND_OK"
	case SendFlushDiskTimeout:
		return "FLUSH_DISK_TIMEOUT"
	case SendFlushSlaveTimeout:
		return "FLUSH_SLAVE_TIMEOUT"
	case SendSlaveNotAvailable:
		return "SLAVE_NOT_AVAILABLE"
	}
	return fmt.Sprintf("SendStatus(%d)", int(s))
}

// SendResult is the broker's acknowledgement of a send.
type SendResult struct {
	Status SendStatus
	// MsgID is the client unique id (UNIQ_KEY) of the message; for a batch, the ids of
	// its messages joined by commas.
	MsgID string
	// OffsetMsgID is the broker's id of the stored record (store host + commitlog
	// offset); for a batch, comma-joined.
	OffsetMsgID   string
	MessageQueue  MessageQueue // where it went, topic without namespace
	QueueOffset   int64        // logical offset of the (first) message in the queue
	TransactionID string
	RegionID      string
	TraceOn       bool
}

// String describes the result.
func (r *SendResult) String() string {
	return fmt.Sprintf("SendResult{status=%s, msgId=%s, offsetMsgId=%s, queue=%s, queueOffset=%d}",
		r.Status, r.MsgID, r.OffsetMsgID, r.MessageQueue, r.QueueOffset)
}

// outgoing is a validated and encoded send, ready to go to any queue of its topic.
type outgoing struct {
	topic   string   // namespace-wrapped
	first   *Message // what selectors see
	body    []byte   // the raw, compressed or batch body
	sysFlag int32
	flag    int32
	props   string
	batch   bool
	msgIDs  string
	// propsLent says props and msgIDs are views of the asynchronous send's reused
	// buffer (properties): a result copies the id.
	propsLent bool
	queue     *MessageQueue // fixed by SendToQueue, else nil
	// msgs are the caller's messages, for trace records: a copy of a batch's slice,
	// or one pointing into one for a single message. Keeping the caller's own slice
	// would make every variadic argument escape, an allocation per send.
	msgs  []*Message
	one   [1]*Message // backs msgs for a single message
	start time.Time   // when the send began, for trace records
	reply bool        // a reply: SEND_REPLY_MESSAGE, no retry after a refusal (request.go)
}

// Send sends one message (SEND_MESSAGE) or a batch of messages of one topic
// (SEND_BATCH_MESSAGE, stored together on one queue) and waits for the broker. It
// retries failed attempts (see WithRetries) on other brokers until ctx ends; without a
// deadline on ctx each attempt is bounded by the send timeout. A message without a
// UNIQ_KEY gets one; the caller's messages are not modified.
func (p *Producer) Send(ctx context.Context, msgs ...*Message) (*SendResult, error) {
	out, err := p.prepare(msgs)
	if err != nil {
		return nil, err
	}
	if !p.track.begin() {
		return nil, ErrNotStarted
	}
	defer p.track.end()
	return p.sendSync(ctx, out)
}

// SendToQueue is Send to one given queue (as listed by the topic's route, with the
// topic without namespace). Retries stay on that queue.
func (p *Producer) SendToQueue(ctx context.Context, mq MessageQueue, msgs ...*Message) (*SendResult, error) {
	out, err := p.prepare(msgs)
	if err != nil {
		return nil, err
	}
	mq.Topic = out.topic
	out.queue = &mq
	if !p.track.begin() {
		return nil, ErrNotStarted
	}
	defer p.track.end()
	return p.sendSync(ctx, out)
}

// SendOneway sends without waiting for, or getting, any acknowledgement: one attempt,
// no retry, the message may be lost. It returns once the request is queued for writing.
func (p *Producer) SendOneway(ctx context.Context, msgs ...*Message) error {
	out, err := p.prepare(msgs)
	if err != nil {
		return err
	}
	if !p.track.begin() {
		return ErrNotStarted
	}
	defer p.track.end()
	entry, err := p.inst.publishRoute(ctx, out.topic, p.o.createTopicKey)
	if err != nil {
		return fmt.Errorf("send to %s: %w", out.topic, err)
	}
	mq, err := p.selectQueue(entry, out, "")
	if err != nil {
		return err
	}
	addr := p.inst.masterAddr(mq.BrokerName)
	if addr == "" {
		return fmt.Errorf("send to %s: %w: %s", out.topic, ErrBrokerNotFound, mq.BrokerName)
	}
	return p.inst.invokeOneway(addr, p.request(out, mq))
}

// sendSync runs the attempts of a synchronous send.
func (p *Producer) sendSync(ctx context.Context, out *outgoing) (*SendResult, error) {
	entry, err := p.inst.publishRoute(ctx, out.topic, p.o.createTopicKey)
	if err != nil {
		return nil, fmt.Errorf("send to %s: %w", out.topic, err)
	}
	attempts := 1 + p.o.retries
	lastBroker := ""
	var lastErr error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			if e := p.inst.cachedRoute(out.topic); e != nil {
				entry = e // a refresh may have changed the route meanwhile
			}
		}
		mq, err := p.selectQueue(entry, out, lastBroker)
		if err != nil {
			return nil, err
		}
		lastBroker = mq.BrokerName
		addr := p.inst.masterAddr(mq.BrokerName)
		if addr == "" {
			lastErr = fmt.Errorf("%w: %s", ErrBrokerNotFound, mq.BrokerName)
			continue
		}
		actx, cancel := withTimeout(ctx, p.o.sendTimeout)
		start := time.Now()
		resp, err := p.inst.invoke(actx, addr, p.request(out, mq))
		cancel()
		latency := time.Since(start)
		if err == nil {
			var res *SendResult
			if res, err = p.result(resp, mq, out); err == nil {
				p.noteLatency(mq.BrokerName, latency, false)
				p.tracePub(out, res, addr)
				return res, nil
			}
			if out.reply || !retryableCode(resp.Code) {
				return nil, fmt.Errorf("send to %s via %s: %w", out.topic, addr, err)
			}
		}
		p.noteLatency(mq.BrokerName, latency, true)
		lastErr = fmt.Errorf("send to %s via %s: %w", out.topic, addr, err)
		p.log.Debug().Err(err).Str("topic", out.topic).Str("broker", mq.BrokerName).Int("attempt", i+1).Msg("send failed")
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("%w (after %d attempts)", lastErr, attempts)
}

// deadlineTick is the granularity of the shared attempt deadlines: an asynchronous
// attempt times out between sendTimeout and sendTimeout+deadlineTick after it started.
const deadlineTick = 10 * time.Millisecond

// sharedDeadlines hands out one context per tick and parent that ends sendTimeout
// after the tick (or when the parent ends), so asynchronous sends without a deadline of
// their own share a timer instead of arming one each: a timer, a context, a
// registration with the parent and, in the transport, a context watch per message cost
// more than the rest of the client's work on a send.
type sharedDeadlines struct {
	mu   sync.Mutex
	tick int64
	// byParent holds this tick's contexts by their parent's Done channel (nil for
	// parents that never end); at most maxSharedParents per tick.
	byParent map[<-chan struct{}]context.Context
	cancels  []context.CancelFunc // of this tick's contexts, for stop
	closed   bool
}

// maxSharedParents bounds the parents that share a tick's deadline: a caller that
// makes a fresh context per send gets a context of its own per attempt, cancelled
// when the attempt ends, rather than one that lives until the deadline.
const maxSharedParents = 8

// get returns the context of now's tick for parent, or false when parent must
// get a context of its own (too many parents this tick, or stop ran).
func (d *sharedDeadlines) get(parent context.Context, now time.Time, timeout time.Duration) (context.Context, bool) {
	tick := now.UnixNano() / int64(deadlineTick)
	done := parent.Done()
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, false
	}
	if tick != d.tick || d.byParent == nil {
		// The previous tick's contexts end by their own timers; their cancels are
		// dropped only after that, so nothing leaks.
		d.tick = tick
		d.byParent = make(map[<-chan struct{}]context.Context, 1)
		d.cancels = d.cancels[:0]
	}
	// Parents are told apart by Done alone: the attempt context is used for its end
	// only, never for values, so one parent's values riding along are harmless.
	if ctx, ok := d.byParent[done]; ok {
		return ctx, true
	}
	if len(d.byParent) >= maxSharedParents {
		return nil, false
	}
	if done == nil {
		parent = context.Background() // drop the parent's values: the context is shared
	}
	end := time.Unix(0, (tick+1)*int64(deadlineTick)).Add(timeout)
	ctx, cancel := context.WithDeadline(parent, end)
	d.byParent[done] = ctx
	d.cancels = append(d.cancels, cancel)
	return ctx, true
}

// stop ends the current tick's contexts; later calls of get answer false.
func (d *sharedDeadlines) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	for _, c := range d.cancels {
		c()
	}
	d.cancels, d.byParent = nil, nil
}

// attemptContext returns the context of one asynchronous attempt: ctx itself when it
// has a deadline; otherwise a deadline context shared by the attempts of the current
// tick with the same parent (context.Background, or a long-lived cancellable context
// such as a signal context), which ends when ctx does or between sendTimeout and
// sendTimeout+deadlineTick after the attempt began; ctx bounded by the send timeout
// when it cannot be shared.
func (p *Producer) attemptContext(ctx context.Context, now time.Time) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, noCancel
	}
	if shared, ok := p.deadlines.get(ctx, now, p.o.sendTimeout); ok {
		return shared, noCancel
	}
	return context.WithTimeout(ctx, p.o.sendTimeout)
}

// noCancel is the cancel function of a context the attempt does not own.
func noCancel() {}

// retryableCode reports whether a send answered with c is worth another attempt
// (needRetryCode of the official client).
func retryableCode(c int32) bool {
	switch c {
	case code.SystemError, code.ServiceNotAvailable, code.NoPermission, code.TopicNotExist:
		return true
	}
	return false
}

// noteLatency feeds the fault table.
func (p *Producer) noteLatency(broker string, latency time.Duration, failed bool) {
	if p.faults != nil {
		p.faults.update(broker, latency, failed)
	}
}

// selectQueue picks the queue of one attempt.
func (p *Producer) selectQueue(entry *routeEntry, out *outgoing, lastBroker string) (MessageQueue, error) {
	if out.queue != nil {
		return *out.queue, nil
	}
	if len(entry.pub) == 0 {
		return MessageQueue{}, fmt.Errorf("send to %s: %w: no writable queue on a broker with a master", out.topic, ErrNoRoute)
	}
	if _, ok := p.o.selector.(*roundRobin); ok {
		return pickQueue(entry.pub, &p.rr, lastBroker, p.faults), nil
	}
	return p.o.selector.Select(out.first, entry.pub), nil
}

// result turns a send answer into a SendResult, or a *BrokerError for the codes that
// do not mean "stored".
func (p *Producer) result(resp *codec.Command, mq MessageQueue, out *outgoing) (*SendResult, error) {
	res := new(SendResult)
	err := p.fillResult(res, resp, mq, out, func() (h header.SendMessageResponse, err error) {
		err = h.Decode(resp.ExtFields)
		return h, err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// fillResult is result into res, with the answer's header read by decode, which is
// called only for the codes that mean "stored".
func (p *Producer) fillResult(res *SendResult, resp *codec.Command, mq MessageQueue, out *outgoing, decode func() (header.SendMessageResponse, error)) error {
	var st SendStatus
	switch resp.Code {
	case code.Success:
		st = SendOK
	case code.FlushDiskTimeout:
		st = SendFlushDiskTimeout
	case code.FlushSlaveTimeout:
		st = SendFlushSlaveTimeout
	case code.SlaveNotAvailable:
		st = SendSlaveNotAvailable
	default:
		return brokerErr(resp.Code, resp.Remark)
	}
	h, err := decode()
	if err != nil {
		return fmt.Errorf("%w: send response: %w", ErrBadResponse, err)
	}
	mq.Topic = p.unwrap(mq.Topic)
	mq.QueueID = h.QueueID
	*res = SendResult{
		Status:        st,
		MsgID:         out.msgIDs,
		OffsetMsgID:   h.MsgID,
		MessageQueue:  mq,
		QueueOffset:   h.QueueOffset,
		TransactionID: h.TransactionID,
		RegionID:      h.Region,
		TraceOn:       h.TraceOn,
	}
	return nil
}

// Topics a producer may not send to: the template of auto-created topics and the
// broker's internal topics (TopicValidator.isNotAllowedSendTopic).
var notAllowedSendTopics = map[string]bool{
	"SCHEDULE_TOPIC_XXXX":         true,
	"RMQ_SYS_TRANS_HALF_TOPIC":    true,
	"RMQ_SYS_TRANS_OP_HALF_TOPIC": true,
	"TRANS_CHECK_MAX_TIME_TOPIC":  true,
}

// checkTopic applies the broker's topic rules before anything is sent.
func (p *Producer) checkTopic(topic, wrapped string) error {
	if topic == "" {
		return fmt.Errorf("%w: empty topic", ErrInvalidMessage)
	}
	if len(wrapped) > message.MaxTopicLen {
		return fmt.Errorf("%w: topic %q is %d bytes, at most %d", ErrInvalidMessage, wrapped, len(wrapped), message.MaxTopicLen)
	}
	for i := 0; i < len(wrapped); i++ {
		c := wrapped[i]
		if !(c == '%' || c == '|' || c == '-' || c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return fmt.Errorf("%w: topic %q has character %q outside [%%|a-zA-Z0-9_-]", ErrInvalidMessage, topic, c)
		}
	}
	if wrapped == p.o.createTopicKey || wrapped == DefaultTopic || notAllowedSendTopics[wrapped] {
		return fmt.Errorf("%w: topic %q is reserved", ErrInvalidMessage, topic)
	}
	return nil
}

// checkBody rejects empty and oversized bodies.
func (p *Producer) checkBody(m *Message) error {
	if len(m.Body) == 0 {
		return fmt.Errorf("%w: %w", ErrInvalidMessage, errEmptyBody)
	}
	if len(m.Body) > p.o.maxMessageBytes {
		return fmt.Errorf("%w: body of %d bytes, at most %d", ErrInvalidMessage, len(m.Body), p.o.maxMessageBytes)
	}
	return nil
}

// properties encodes m's properties with a UNIQ_KEY (generated when absent) and
// returns them with the id. With buf not nil, generated properties are encoded into
// *buf (grown as needed) and lent reports it: props and id are then views of the
// buffer, valid until it is reused.
func properties(m *Message, now time.Time, buf *[]byte) (props, id string, lent bool, err error) {
	pm := m.propertyMap() // a consumed message sent on carries its stored properties
	switch id = pm[message.PropUniqKey]; {
	case id != "":
		props = message.EncodeProperties(pm)
	case buf != nil:
		b, at := message.AppendPropertiesUniq((*buf)[:0], pm, now)
		*buf, lent = b, true
		props = unsafe.String(unsafe.SliceData(b), len(b))
		id = props[at:]
	default:
		props, id = message.EncodePropertiesUniq(pm, now)
	}
	if len(props) > message.MaxPropertiesLen {
		return "", "", false, fmt.Errorf("%w: properties of %d bytes, at most %d", ErrInvalidMessage, len(props), message.MaxPropertiesLen)
	}
	return props, id, lent, nil
}

// prepare validates msgs and encodes them once for every attempt.
func (p *Producer) prepare(msgs []*Message) (*outgoing, error) {
	out := new(outgoing)
	if err := p.prepareInto(out, msgs, time.Now(), nil); err != nil {
		return nil, err
	}
	return out, nil
}

// prepareInto is prepare into out, now being the time the send began. With propsBuf
// not nil, a single message's generated properties are encoded into it (properties)
// and out.propsLent says so: out then lives no longer than the buffer's contents.
func (p *Producer) prepareInto(out *outgoing, msgs []*Message, now time.Time, propsBuf *[]byte) error {
	if len(msgs) == 0 || msgs[0] == nil {
		return fmt.Errorf("%w: no message", ErrInvalidMessage)
	}
	first := msgs[0]
	wrapped := p.wrap(first.Topic)
	if err := p.checkTopic(first.Topic, wrapped); err != nil {
		return err
	}
	*out = outgoing{topic: wrapped, first: first, start: now}
	if len(msgs) == 1 {
		out.one[0] = first
		out.msgs = out.one[:]
		if err := p.checkBody(first); err != nil {
			return err
		}
		props, id, lent, err := properties(first, now, propsBuf)
		if err != nil {
			return err
		}
		out.body, out.flag, out.props, out.msgIDs, out.propsLent = first.Body, first.Flag, props, id, lent
		if p.o.compressThreshold > 0 && len(first.Body) >= p.o.compressThreshold {
			if c, err := message.Compress(first.Body, p.o.compressLevel); err == nil {
				out.body = c
				out.sysFlag |= message.FlagCompressed
			}
		}
		return nil
	}
	if strings.HasPrefix(wrapped, RetryTopicPrefix) {
		return fmt.Errorf("%w: batches cannot go to retry topic %s", ErrInvalidMessage, first.Topic)
	}
	entries := make([]message.BatchEntry, len(msgs))
	ids := make([]string, len(msgs))
	size := 0
	for i, m := range msgs {
		if m == nil {
			return fmt.Errorf("%w: batch message %d is nil", ErrInvalidMessage, i)
		}
		if m.Topic != first.Topic {
			return fmt.Errorf("%w: batch mixes topics %q and %q", ErrInvalidMessage, first.Topic, m.Topic)
		}
		if m.DelayLevel() > 0 {
			return fmt.Errorf("%w: batch message %d has a delay level; batches cannot be delayed", ErrInvalidMessage, i)
		}
		if err := p.checkBody(m); err != nil {
			return fmt.Errorf("batch message %d: %w", i, err)
		}
		props, id, _, err := properties(m, now, nil)
		if err != nil {
			return fmt.Errorf("batch message %d: %w", i, err)
		}
		size += message.BatchEntryOverhead + len(m.Body) + len(props)
		if size > p.o.maxMessageBytes {
			return fmt.Errorf("%w: %d messages encode to more than %d bytes (limit %d); split the batch",
				ErrBatchTooLarge, len(msgs), size, p.o.maxMessageBytes)
		}
		entries[i] = message.BatchEntry{Flag: m.Flag, Body: m.Body, Properties: props}
		ids[i] = id
	}
	b, err := message.EncodeBatch(make([]byte, 0, size), entries)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidMessage, err)
	}
	out.body, out.batch, out.msgIDs = b, true, strings.Join(ids, ",")
	out.msgs = slices.Clone(msgs)
	return nil
}

// sendTracker counts the sends in progress and refuses new ones once Shutdown began, so
// Shutdown can wait for the last one without racing a new send. The count and the
// open/closed bits share one word, so a send costs one atomic add at each end rather
// than two mutex rounds shared with the connection's reader.
type sendTracker struct {
	state atomic.Int64 // trackOpen | trackClosed | sends in progress
	mu    sync.Mutex
	idle  chan struct{} // under mu: closed when the count drops to zero after close
}

const (
	trackOpen   = int64(1) << 62
	trackClosed = int64(1) << 61
	trackCount  = trackClosed - 1
)

// open lets sends begin.
func (t *sendTracker) open() { t.state.Or(trackOpen) }

// begin counts a new send; false when the producer is not running.
func (t *sendTracker) begin() bool {
	for {
		s := t.state.Load()
		if s&trackOpen == 0 || s&trackClosed != 0 {
			return false
		}
		if t.state.CompareAndSwap(s, s+1) {
			return true
		}
	}
}

// end counts a send finished.
func (t *sendTracker) end() {
	if s := t.state.Add(-1); s&trackClosed != 0 && s&trackCount == 0 {
		t.mu.Lock()
		if t.idle != nil {
			close(t.idle)
			t.idle = nil
		}
		t.mu.Unlock()
	}
}

// drain refuses new sends and waits until those in progress finish or ctx ends.
func (t *sendTracker) drain(ctx context.Context) error {
	t.mu.Lock()
	// After the closed bit is set the count only falls; the end that brings it to
	// zero takes mu, so it finds idle set below.
	n := (t.state.Or(trackClosed) | trackClosed) & trackCount
	if n == 0 {
		t.mu.Unlock()
		return nil
	}
	if t.idle == nil {
		t.idle = make(chan struct{})
	}
	ch := t.idle
	t.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%d sends still in flight: %w", n, errors.Join(ctx.Err()))
	}
}

// parents returns the number of parents sharing the current tick's deadline, for tests.
func (d *sharedDeadlines) parents() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.byParent)
}
