package broker

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"github.com/rocketgo/rocketgo/broker/dedup"
	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/broker/metrics"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/proto/metapb"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

// appender is the part of the store the send path writes through.
type appender interface {
	Put(rec []byte) (store.PutResult, error)
	PutBatch(recs []byte) (store.PutResult, error)
	PutMany(items []store.PutItem, res []store.PutResult, errs []error)
	OnFlushed(endOffset int64, fn func(err error))
}

var _ appender = (*store.Store)(nil)

// versionV349 is MQVersion V3_4_9: from it on a send's maxReconsumeTimes header wins
// over the group's retryMaxTimes (docs/protocol.md §9.3).
const versionV349 = 121

// defaultMaxMessageBytes is the store's default body limit, used when the store options
// leave it unset.
const defaultMaxMessageBytes = 4 << 20

// maxRetainedBuf caps the encode buffers kept in the pool: a rare 4 MiB message should
// not pin 4 MiB per pooled buffer forever.
const maxRetainedBuf = 1 << 20

// sendBuf holds the scratch space of one send: the rewritten properties and the encoded
// record(s).
type sendBuf struct {
	props []byte
	rec   []byte
}

var sendBufPool = sync.Pool{New: func() any { return &sendBuf{props: make([]byte, 0, 512), rec: make([]byte, 0, 4096)} }}

func putSendBuf(sb *sendBuf) {
	if cap(sb.rec) > maxRetainedBuf || cap(sb.props) > maxRetainedBuf {
		return
	}
	sb.props, sb.rec = sb.props[:0], sb.rec[:0]
	sendBufPool.Put(sb)
}

// sendTarget is where a send goes after validation, auto-creation and DLQ redirection.
type sendTarget struct {
	topic   string
	queueID int32
	tc      *metapb.TopicConfig
}

// handleSend serves SEND_MESSAGE (10, long header), SEND_MESSAGE_V2 (310, short header)
// and SEND_BATCH_MESSAGE (320, short header, batch body): validate (docs/protocol.md §2.3),
// encode the v1 record(s) once into a pooled buffer, append, answer. With ASYNC_FLUSH the
// answer is written inline; with SYNC_FLUSH it is written when the store reports the
// record flushed (or FLUSH_DISK_TIMEOUT, which still counts as sent).
func (b *Broker) handleSend(conn *server.Conn, req *codec.Command) *codec.Command {
	sb := sendBufPool.Get().(*sendBuf)
	defer putSendBuf(sb)
	var st sendStart
	switch err := b.startSend(&st, conn, req, sb.props[:0]); {
	case err != nil:
		return b.sendError(req, err)
	case st.tx:
		return b.handleHalfSend(conn, req, &st.h) // transaction.go
	}
	sb.props = st.props
	h, sp, m, dst, batch := &st.h, &st.sp, &st.m, &st.dst, st.batch
	if sp.sched.set { // DELAY or TIMER_*: stored where it waits (delay.go)
		if err := b.routeScheduled(m, sb, &sp.sched, batch); err != nil {
			return b.sendError(req, err)
		}
	}
	dd, dup := b.dedupBegin(req, dst.topic, h.Properties, batch, sp.sched.set) // dedup.go
	if dup != nil {
		return dup
	}
	defer dd.Finish()
	if sp.replyTo != "" {
		// A request: its reply is pushed over this connection (reply.go). Noted before
		// the append, which makes the request visible to consumers: a responder can
		// answer it before this goroutine runs again.
		b.clients.NoteRequester(conn, sp.replyTo)
	}
	var (
		res   store.PutResult
		sizes []int // record sizes of a batch, for the message ids
		err   error
	)
	if batch {
		sizes, err = b.encodeBatch(sb, m, req.Body)
		if err == nil {
			res, err = b.putDst.PutBatch(sb.rec)
		}
	} else {
		m.Body = req.Body
		sb.rec, err = message.EncodeRecordProps(sb.rec[:0], m, bytesString(sb.props))
		if err == nil {
			res, err = b.putDst.Put(sb.rec)
		}
	}
	if err != nil {
		return b.sendError(req, err)
	}
	dd.Stored(res, sizes)
	b.countSent(dst.topic, sp, req.Body, sizes)
	if !b.waitsForDurability() || sp.noWait { // SYNC_FLUSH and SYNC_MASTER wait (role.go)
		return dd.Answer(b.sendOK(req, code.Success, "", m.StoreHost, dst.queueID, res, sizes))
	}
	b.answerSendWhenDurable(conn, req, dd, m.StoreHost, dst.queueID, res, sizes)
	return nil
}

// answerSendWhenDurable writes the answer to a stored send once it is durable
// (waitsForDurability): success, or the flush or replication failure, which still
// counts as sent.
func (b *Broker) answerSendWhenDurable(conn *server.Conn, req *codec.Command, dd *dedup.Send, host netip.AddrPort, qid int32, res store.PutResult, sizes []int) {
	start := metrics.Mono()
	b.onDurable(res.EndOffset, func(ferr error) {
		c, remark := int32(code.Success), ""
		if ferr != nil {
			c, remark = responseCode(ferr), remarkOf(ferr)
		}
		resp := dd.Answer(b.sendOK(req, c, remark, host, qid, res, sizes))
		if err := b.replyLate(conn, req, resp, start, false); err != nil {
			b.log.Debug().Err(err).Uint64("conn", conn.ID()).Msg("send answer dropped")
		}
	})
}

// sendStart is a send decoded and validated up to its append (startSend).
type sendStart struct {
	// fields, when set, is where the header's entries are collected if the request's
	// extFields are unparsed (decodeSendHeader); the batched path sets it to its
	// pooled scratch, so a local sendStart stays on the stack.
	fields *header.SendFields
	// topic, set with fields, holds an owned copy of the last topic decoded there:
	// the unparsed extFields lie in the connection's arena (codec.BodyArena), and the
	// topic is the header string the broker may keep (an auto-created topic's name, a
	// metric's series), which must not hold a whole chunk of the arena.
	topic *string
	h     header.SendMessageRequestV2
	tx    bool // a transactional half message: nothing else below is set
	batch bool // SEND_BATCH_MESSAGE or the batch header flag
	sp    propScan
	props []byte // the properties to store (rewriteProps)
	dst   sendTarget
	m     message.Ext // the record's fields but its body and properties
}

// startSend decodes req's send header and validates it (docs/protocol.md §2.3): the
// properties every record of the request gets are the header's, without WAIT, with
// CLUSTER, appended to props. Features that need more than a plain append are refused
// before anything (an auto-created topic) is done on the message's behalf; so is a
// body over the limit. A transactional send stops after the header (st.tx).
func (b *Broker) startSend(st *sendStart, conn *server.Conn, req *codec.Command, props []byte) error {
	var err error
	if st.h, err = decodeSendHeader(req, st.fields); err != nil {
		return err
	}
	if st.topic != nil {
		if *st.topic != st.h.Topic {
			*st.topic = strings.Clone(st.h.Topic) // once per change of topic
		}
		st.h.Topic = *st.topic
	}
	if err := b.refuseSendOnSlave(); err != nil { // role.go
		return err
	}
	h := &st.h
	if st.tx = isTxSend(&h.SendMessageRequest); st.tx {
		return nil
	}
	st.batch = req.Code == code.SendBatchMessage || h.Batch
	st.props, st.sp = b.rewriteProps(props, h.Properties)
	if st.sp.unsupported != "" {
		return reject(errNotSupported, "%s not supported yet (topic %s)", st.sp.unsupported, h.Topic)
	}
	if !st.batch {
		if err := b.checkBodySize(len(req.Body)); err != nil {
			return err
		}
	}
	if st.dst, err = b.sendCheck(&h.SendMessageRequest, req.Version, st.batch); err != nil {
		return err
	}
	sysFlag := h.SysFlag &^ (message.FlagBornHostV6 | message.FlagStoreHostV6 | message.FlagMultiTags)
	if st.dst.tc.GetTopicFilterType() == metapb.TopicFilterType_MULTI_TAG {
		sysFlag |= message.FlagMultiTags
	}
	st.m = message.Ext{
		Topic:          st.dst.topic,
		QueueID:        st.dst.queueID,
		Flag:           h.Flag,
		SysFlag:        sysFlag,
		BornTimestamp:  h.BornTimestamp,
		BornHost:       conn.RemoteAddr(),
		StoreHost:      b.storeHost(),
		ReconsumeTimes: h.ReconsumeTimes,
	}
	return nil
}

// decodeSendHeader decodes req's send header: straight from the frame's bytes when the
// server left its extFields unparsed (server.HandleBatchRaw), from the map otherwise.
// Both read the same fields and fail with the same errors.
// f is the scratch space of the first (nil: the map is built); the header may point
// into it.
func decodeSendHeader(req *codec.Command, f *header.SendFields) (header.SendMessageRequestV2, error) {
	if req.HasRawExt() && f != nil {
		var ok bool
		if *f, ok = header.NewSendFields(req.Code); ok {
			req.RangeExt(f.Put)
			return header.DecodeSendFields(req.Code, f)
		}
		req.LoadExt()
	}
	return header.DecodeSend(req.Code, req.ExtFields)
}

// sendCheck validates a send and resolves where it goes (AbstractSendMessageProcessor's
// msgCheck and handleRetryAndDLQ): a legal, sendable topic that exists or can be
// auto-created from the template, write permission, a queue id in range (a negative one
// picks a random queue), and for %RETRY% topics past their max reconsume times, the
// group's DLQ.
func (b *Broker) sendCheck(h *header.SendMessageRequest, version int32, batch bool) (sendTarget, error) {
	if b.closing.Load() {
		return sendTarget{}, reject(errNotAvailable, "broker %s is shutting down", b.opts.BrokerName)
	}
	if err := meta.CheckTopicName(h.Topic); err != nil {
		return sendTarget{}, err
	}
	if meta.NotSendableTopics[h.Topic] {
		return sendTarget{}, reject(errNoPermission, "Sending message to topic[%s] is forbidden: it is written by the broker only.", h.Topic)
	}
	retry := strings.HasPrefix(h.Topic, meta.RetryGroupTopicPrefix)
	if batch && retry {
		return sendTarget{}, reject(errMessageIllegal, "batch request does not support retry group topic %s", h.Topic)
	}
	if tt := message.TxType(h.SysFlag); tt != message.TxNotType {
		return sendTarget{}, reject(errNotSupported, "transactional messages not supported yet (sysFlag %d, topic %s)", h.SysFlag, h.Topic)
	}
	// A retry topic belongs to a consumer group: the group must exist (or be
	// auto-created) before its retry topic is.
	var sg *metapb.SubscriptionGroup
	if retry {
		var err error
		if sg, err = b.groups.Ensure(strings.TrimPrefix(h.Topic, meta.RetryGroupTopicPrefix)); err != nil {
			return sendTarget{}, err
		}
	}
	tc, ok := b.topics.Get(h.Topic)
	if !ok {
		var err error
		if retry {
			tc, err = b.topics.EnsureRetry(sg.GetGroupName(), sg.GetRetryQueueNums())
		} else {
			var sysFlag int32
			if h.UnitMode {
				sysFlag = 1 // unit topic
			}
			tc, err = b.topics.AutoCreate(h.Topic, h.DefaultTopic, h.DefaultTopicQueueNums, sysFlag)
		}
		if err != nil {
			return sendTarget{}, err
		}
	}
	if tc.GetPerm()&body.PermWrite == 0 {
		return sendTarget{}, reject(errNoPermission, "the topic[%s] sending message is forbidden (perm %d has no write bit)", h.Topic, tc.GetPerm())
	}
	limit := max(tc.GetReadQueueNums(), tc.GetWriteQueueNums())
	if h.QueueID >= limit {
		return sendTarget{}, reject(errBadRequest, "request queueId[%d] is illegal, topic %s has %d write and %d read queues, producer %s",
			h.QueueID, h.Topic, tc.GetWriteQueueNums(), tc.GetReadQueueNums(), h.ProducerGroup)
	}
	dst := sendTarget{topic: h.Topic, queueID: h.QueueID, tc: tc}
	if dst.queueID < 0 {
		if tc.GetWriteQueueNums() <= 0 {
			return sendTarget{}, reject(errNoPermission, "topic %s has no write queues", h.Topic)
		}
		dst.queueID = rand.Int32N(tc.GetWriteQueueNums())
	}
	if retry {
		return b.retryOrDLQ(h, version, sg, dst)
	}
	return dst, nil
}

// retryOrDLQ redirects a send to %RETRY%group whose reconsumeTimes reached the max to
// %DLQ%group (one queue, created on first use).
func (b *Broker) retryOrDLQ(h *header.SendMessageRequest, version int32, sg *metapb.SubscriptionGroup, dst sendTarget) (sendTarget, error) {
	group := sg.GetGroupName()
	maxTimes := sg.GetRetryMaxTimes()
	if version >= versionV349 && h.MaxReconsumeTimes != nil {
		maxTimes = *h.MaxReconsumeTimes
	}
	if h.ReconsumeTimes < maxTimes {
		return dst, nil
	}
	tc, err := b.topics.EnsureDLQ(group)
	if err != nil {
		return sendTarget{}, err
	}
	if tc.GetPerm()&body.PermWrite == 0 {
		return sendTarget{}, reject(errNoPermission, "the DLQ topic[%s] sending message is forbidden (perm %d)", tc.GetTopicName(), tc.GetPerm())
	}
	return sendTarget{topic: tc.GetTopicName(), queueID: rand.Int32N(max(tc.GetWriteQueueNums(), 1)), tc: tc}, nil
}

// maxMessageBytes is the store's body limit.
func (b *Broker) maxMessageBytes() int {
	if b.sopts.MaxMessageBytes > 0 {
		return b.sopts.MaxMessageBytes
	}
	return defaultMaxMessageBytes
}

// checkBodySize refuses a body over maxMessageSize before anything is encoded.
func (b *Broker) checkBodySize(n int) error {
	if limit := b.maxMessageBytes(); n > limit {
		return reject(errMessageIllegal, "the message body size %d bytes exceeds maxMessageSize %d bytes", n, limit)
	}
	return nil
}

// propScan is what the send path learns from the properties in its one pass.
type propScan struct {
	noWait      bool       // WAIT=false: answer before the flush
	replyTo     string     // REPLY_TO_CLIENT: the message is a request of that client
	unsupported string     // a feature this broker does not implement yet, "" when none
	sched       schedProps // DELAY and TIMER_* (delay.go)
}

// rewriteProps appends to dst the properties to store: props without WAIT and without
// any CLUSTER pair, pairs no parser would read dropped, in the Java form (0x02 between
// pairs, none trailing), then CLUSTER=<cluster>. It reports WAIT=false and the first
// feature it finds that this broker does not implement yet.
func (b *Broker) rewriteProps(dst []byte, props string) ([]byte, propScan) {
	var sp propScan
	for s := props; s != ""; {
		item := s
		if i := strings.IndexByte(s, message.PropertySeparator); i >= 0 {
			item, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		i := strings.IndexByte(item, message.NameValueSeparator)
		if i <= 0 || i == len(item)-1 {
			continue
		}
		key, val := item[:i], item[i+1:]
		switch key {
		case message.PropWait:
			sp.noWait = val == "false"
			continue
		case message.PropCluster, propScheduleFrom: // SCHEDULE_FROM is the scheduler's alone (delay.go)
			continue
		case message.PropReplyToClient:
			sp.replyTo = val
		}
		if !sp.sched.note(key, val) && sp.unsupported == "" {
			sp.unsupported = unsupportedFeature(key, val)
		}
		if len(dst) > 0 {
			dst = append(dst, message.PropertySeparator)
		}
		dst = append(dst, item...)
	}
	if len(dst) > 0 {
		dst = append(dst, message.PropertySeparator)
	}
	dst = append(dst, message.PropCluster...)
	dst = append(dst, message.NameValueSeparator)
	return append(dst, b.opts.ClusterName...), sp
}

// unsupportedFeature names the feature a property asks for when this broker does not
// implement it yet: storing such a message as a plain one would deliver it at the wrong
// time or without its transaction, so the send is refused instead.
func unsupportedFeature(key, val string) string {
	switch key {
	case message.PropTranMsg:
		if val == "true" {
			return "transactional messages"
		}
	case message.PropDelay:
		if n, err := strconv.Atoi(val); err != nil || n > 0 {
			return "delay messages"
		}
	case message.PropTimerDeliverMS, message.PropTimerDelaySec, message.PropTimerDelayMS:
		return "timer messages"
	}
	return ""
}

// encodeBatch expands a batch body into full v1 records in sb.rec (Java's
// MessageExtBatchEncoder): each entry's properties followed by the request's rewritten
// properties, all with the header's topic, queue, sysflag, born time and hosts. It
// returns each record's size.
func (b *Broker) encodeBatch(sb *sendBuf, m *message.Ext, batchBody []byte) ([]int, error) {
	entries, err := message.DecodeBatch(batchBody, maxBatchEntries)
	if err != nil {
		return nil, err
	}
	shared := string(sb.props)
	// Every record repeats the request's properties: bound what the batch expands to
	// before encoding, or a small body with many entries could claim gigabytes.
	perRecord := message.RecordSize(0, len(m.Topic), len(shared)+1, 0) + 24 // IPv6 hosts
	if need, limit := int64(len(batchBody))+int64(len(entries))*int64(perRecord), batchLimit(b.maxMessageBytes()); need > limit {
		return nil, reject(errMessageIllegal, "batch of %d messages expands to %d bytes of records, limit %d (2 × maxMessageSize)", len(entries), need, limit)
	}
	sizes := make([]int, len(entries))
	var props strings.Builder
	sb.rec = sb.rec[:0]
	for i, e := range entries {
		if err := b.checkBodySize(len(e.Body)); err != nil {
			return nil, reject(errMessageIllegal, "batch entry %d: %s", i, remarkOf(err))
		}
		if f := scanUnsupported(e.Properties); f != "" {
			return nil, reject(errNotSupported, "%s not supported yet (batch entry %d, topic %s)", f, i, m.Topic)
		}
		e.Properties = stripScheduleFrom(e.Properties) // delay.go
		p := shared
		if e.Properties != "" {
			props.Reset()
			props.Grow(len(e.Properties) + 1 + len(shared))
			props.WriteString(e.Properties)
			if !strings.HasSuffix(e.Properties, string(message.PropertySeparator)) {
				props.WriteByte(message.PropertySeparator)
			}
			props.WriteString(shared)
			p = props.String()
		}
		m.Flag, m.Body = e.Flag, e.Body
		before := len(sb.rec)
		if sb.rec, err = message.EncodeRecordProps(sb.rec, m, p); err != nil {
			return nil, err
		}
		sizes[i] = len(sb.rec) - before
	}
	return sizes, nil
}

// maxBatchEntries bounds the messages of one SEND_BATCH_MESSAGE.
const maxBatchEntries = 1 << 16

// batchLimit bounds the encoded records of one batch. Producers cap a batch's bodies and
// properties at maxMessageSize; the records add their fixed fields, topic and the
// request's properties to each message, hence the factor of two.
func batchLimit(maxMessageBytes int) int64 { return 2 * int64(maxMessageBytes) }

// scanUnsupported runs unsupportedFeature over every pair of props.
func scanUnsupported(props string) string {
	for s := props; s != ""; {
		item := s
		if i := strings.IndexByte(s, message.PropertySeparator); i >= 0 {
			item, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if i := strings.IndexByte(item, message.NameValueSeparator); i > 0 {
			if f := unsupportedFeature(item[:i], item[i+1:]); f != "" {
				return f
			}
		}
	}
	return ""
}

// sendOK builds the answer to a stored send: msgId (the offset message id; for a batch
// the comma-joined ids of its records, which sit back to back from PhysicalOffset),
// queueId, queueOffset (of the first record), MSG_REGION and TRACE_ON.
func (b *Broker) sendOK(req *codec.Command, c int32, remark string, host netip.AddrPort, queueID int32, res store.PutResult, sizes []int) *codec.Command {
	resp := req.NewResponse(c, remark)
	b.fillSendOK(resp, host, queueID, res, sizes)
	return resp
}

// fillSendOK sets the extFields of a stored send's answer (sendOK) in resp.
func (b *Broker) fillSendOK(resp *codec.Command, host netip.AddrPort, queueID int32, res store.PutResult, sizes []int) {
	var msgID string
	if len(sizes) == 0 {
		msgID = message.OffsetMsgID(host, res.PhysicalOffset)
	} else {
		var sb strings.Builder
		sb.Grow(len(sizes) * 33)
		off := res.PhysicalOffset
		for i, n := range sizes {
			if i > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(message.OffsetMsgID(host, off))
			off += int64(n)
		}
		msgID = sb.String()
	}
	resp.ExtFields["msgId"] = msgID
	resp.ExtFields["queueId"] = strconv.FormatInt(int64(queueID), 10)
	resp.ExtFields["queueOffset"] = strconv.FormatInt(res.QueueOffset, 10)
	b.addSendExt(resp)
}

// sendError answers a refused send: the table's code and remark, plus MSG_REGION and
// TRACE_ON, which every send answer carries.
func (b *Broker) sendError(req *codec.Command, err error) *codec.Command {
	resp := errorResponse(req, err)
	b.addSendExt(resp)
	return resp
}

func (b *Broker) addSendExt(resp *codec.Command) {
	resp.ExtFields[message.PropMsgRegion] = b.opts.Region
	resp.ExtFields[message.PropTraceOn] = strconv.FormatBool(b.opts.TraceOn)
}

// bytesString views b as a string without copying, for a callee that only reads it
// during the call (the record encoder copies the properties into the record).
func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
