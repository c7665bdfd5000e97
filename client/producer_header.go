package client

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// sendRequest is one attempt's send command and its header in one allocation. The
// header goes on the wire through codec.ExtWriter, so neither an extFields map nor the
// decimal strings of its numbers are built per message.
type sendRequest struct {
	cmd codec.Command
	h   sendHeader
}

// sendHeader is the short header of SEND_MESSAGE_V2, SEND_BATCH_MESSAGE and
// SEND_REPLY_MESSAGE_V2 (SendMessageRequestHeaderV2.java, docs/protocol.md §1.3): the
// keys "a" to "m" of header.SendMessageRequestV2, written in the same set and spelling
// as its Encode (a test holds the two equal). The optional keys the producer never
// sets ("l" maxReconsumeTimes, "n" brokerName) are left out, as Encode leaves them
// out when absent.
type sendHeader struct {
	producerGroup         string
	topic                 string
	defaultTopic          string
	defaultTopicQueueNums int32
	queueID               int32
	sysFlag               int32
	bornTimestamp         int64
	flag                  int32
	properties            string
	batch                 bool
}

// WriteExt implements codec.ExtWriter.
func (h *sendHeader) WriteExt(e codec.ExtEncoder) codec.ExtEncoder {
	e.Str("a", h.producerGroup)
	e.Str("b", h.topic)
	e.Str("c", h.defaultTopic)
	e.Int("d", int64(h.defaultTopicQueueNums))
	e.Int("e", int64(h.queueID))
	e.Int("f", int64(h.sysFlag))
	e.Int("g", h.bornTimestamp)
	e.Int("h", int64(h.flag))
	if h.properties != "" {
		e.Str("i", h.properties)
	}
	e.Int("j", 0)        // reconsumeTimes
	e.Bool("k", false)   // unitMode
	e.Bool("m", h.batch) // batch
	return e
}

// request builds the send command of out for queue mq: SEND_BATCH_MESSAGE for a batch,
// SEND_REPLY_MESSAGE_V2 for a reply, SEND_MESSAGE_V2 otherwise, all with the short
// header the Java client sends too.
func (p *Producer) request(out *outgoing, mq MessageQueue) *codec.Command {
	r := new(sendRequest)
	p.fillRequest(r, out, mq, p.now().UnixMilli())
	return &r.cmd
}

// fillRequest is request into r, which it overwrites whole, born being the
// bornTimestamp in milliseconds.
func (p *Producer) fillRequest(r *sendRequest, out *outgoing, mq MessageQueue, born int64) {
	r.h = sendHeader{
		producerGroup:         p.groupName,
		topic:                 out.topic,
		defaultTopic:          p.defaultTopic,
		defaultTopicQueueNums: defaultTopicQueueNums,
		queueID:               mq.QueueID,
		sysFlag:               out.sysFlag,
		bornTimestamp:         born,
		flag:                  out.flag,
		properties:            out.props,
		batch:                 out.batch,
	}
	c := int32(code.SendMessageV2)
	switch {
	case out.batch:
		c = code.SendBatchMessage
	case out.reply:
		c = code.SendReplyMessageV2
	}
	r.cmd = codec.Command{
		Code:     c,
		Language: codec.DefaultLanguage,
		Version:  codec.DefaultVersion,
		Ext:      &r.h,
		Body:     out.body,
	}
}

// sendRequests recycles the request commands of asynchronous attempts: a request is
// dead once the transport's invoke returned (its frame is in the connection's write
// buffer by then, or it was refused), long before the answer.
var sendRequests = sync.Pool{New: func() any { return new(sendRequest) }}

// release returns r to sendRequests, dropping what it refers to (the body).
func (r *sendRequest) release() {
	*r = sendRequest{}
	sendRequests.Put(r)
}

// sendAnswer collects the header of a send's answer as the transport reads it
// (codec.ExtReader), so the SendResult is built without an extFields map: the keys of
// header.SendMessageResponse, the last occurrence of each, as the map decode keeps it.
type sendAnswer struct {
	vals [numSendAnswerKeys]string
	has  [numSendAnswerKeys]bool
	// resp is the command a ROCKETMQ binary answer decodes into (codec.ExtCommandReader);
	// it lives as long as the send, and is read only by the answer's callback.
	resp codec.Command
}

// The keys of header.SendMessageResponse (SendMessageResponseHeader.java).
const (
	ansMsgID = iota
	ansQueueID
	ansQueueOffset
	ansTransactionID
	ansRegion
	ansTraceOn
	numSendAnswerKeys
)

var sendAnswerKeys = [numSendAnswerKeys]string{"msgId", "queueId", "queueOffset", "transactionId", "MSG_REGION", "TRACE_ON"}

// ReadExt implements codec.ExtReader; keys the answer does not use are ignored.
func (a *sendAnswer) ReadExt(key, value string) {
	for i, k := range sendAnswerKeys {
		if k == key {
			a.vals[i], a.has[i] = value, true
			return
		}
	}
}

// ReadExtBytes implements codec.ExtBytesReader: the entry is kept as ReadExt keeps
// it, with strings made only where a value is new (the offset message id, the queue
// offset); the usual booleans and the broker's region are shared strings.
func (a *sendAnswer) ReadExtBytes(key, value []byte) {
	for i, k := range sendAnswerKeys {
		if k != string(key) {
			continue
		}
		var v string
		switch {
		case string(value) == "true":
			v = "true"
		case string(value) == "false":
			v = "false"
		case i == ansRegion:
			v = answerRegion(value)
		default:
			v = string(value)
		}
		a.vals[i], a.has[i] = v, true
		return
	}
}

// lastRegion is the MSG_REGION of the last answer, shared by the answers that repeat it
// (every answer of a broker does).
var lastRegion atomic.Pointer[string]

// answerRegion returns value as a string, the last one made when it is the same.
func answerRegion(value []byte) string {
	if r := lastRegion.Load(); r != nil && *r == string(value) {
		return *r
	}
	r := string(value)
	lastRegion.Store(&r)
	return r
}

// ExtCommand implements codec.ExtCommandReader.
func (a *sendAnswer) ExtCommand() *codec.Command { return &a.resp }

// reset forgets a previous attempt's answer.
func (a *sendAnswer) reset() { *a = sendAnswer{} }

// decode returns the answer's header exactly as header.SendMessageResponse.Decode reads
// the same entries: the usual well-formed answer is parsed here, anything else (a
// missing key, a bad number or boolean) goes through Decode for the same result and
// error.
func (a *sendAnswer) decode() (header.SendMessageResponse, error) {
	var h header.SendMessageResponse
	qid, err1 := strconv.ParseInt(a.vals[ansQueueID], 10, 32)
	qoff, err2 := strconv.ParseInt(a.vals[ansQueueOffset], 10, 64)
	trace, okTrace := false, true
	if a.has[ansTraceOn] {
		switch a.vals[ansTraceOn] {
		case "true":
			trace = true
		case "false":
		default:
			okTrace = false
		}
	}
	if !a.has[ansMsgID] || !a.has[ansQueueID] || !a.has[ansQueueOffset] || err1 != nil || err2 != nil || !okTrace {
		m := make(map[string]string, numSendAnswerKeys)
		for i, k := range sendAnswerKeys {
			if a.has[i] {
				m[k] = a.vals[i]
			}
		}
		err := h.Decode(m)
		return h, err
	}
	h = header.SendMessageResponse{
		MsgID:         a.vals[ansMsgID],
		QueueID:       int32(qid),
		QueueOffset:   qoff,
		TransactionID: a.vals[ansTransactionID],
		Region:        a.vals[ansRegion],
		TraceOn:       trace,
	}
	return h, nil
}
