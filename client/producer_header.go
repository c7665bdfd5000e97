package client

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"

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
	// head, when not nil, holds the entries "a" to "d" encoded (producer_header_cache.go).
	head *codec.ExtEntries
}

// WriteExt implements codec.ExtWriter.
func (h *sendHeader) WriteExt(e codec.ExtEncoder) codec.ExtEncoder {
	if h.head != nil {
		e.Entries(h.head)
	} else {
		e.Str("a", h.producerGroup)
		e.Str("b", h.topic)
		e.Str("c", h.defaultTopic)
		e.Int("d", int64(h.defaultTopicQueueNums))
	}
	e.Int("e", int64(h.queueID))
	e.Int("f", int64(h.sysFlag))
	e.Int("g", h.bornTimestamp)
	e.Int("h", int64(h.flag))
	if h.properties != "" {
		e.Str("i", h.properties)
	}
	tail := sendTails[0] // "j" reconsumeTimes 0, "k" unitMode false, "m" batch
	if h.batch {
		tail = sendTails[1]
	}
	e.Entries(tail)
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
		head:                  p.sendHead(out.topic),
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
//
// From a binary header (ReadExtBytes) the two numbers are parsed on the spot and the
// offset message id is copied into id, so reading the usual answer makes no string:
// the id is copied once more into the SendResult's own allocation (sendResultBox).
type sendAnswer struct {
	vals [numSendAnswerKeys]string
	has  [numSendAnswerKeys]bool
	// num holds the value of queueId or queueOffset when numeric is set for it: a
	// canonical decimal (canonicalDecimal), which vals does not hold then.
	num     [numSendAnswerKeys]int64
	numeric [numSendAnswerKeys]bool
	// id holds the msgId when idLen > 0 (which vals does not hold then).
	id    [offsetIDBytes]byte
	idLen int
	// resp is the command a ROCKETMQ binary answer decodes into (codec.ExtCommandReader);
	// it lives as long as the send, and is read only by the answer's callback.
	resp codec.Command
}

// offsetIDBytes is the length of an offset message id of an IPv4 broker
// (message.OffsetMsgID: 16 bytes in hex); longer ids are kept as strings.
const offsetIDBytes = 32

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
			a.vals[i], a.has[i], a.numeric[i] = value, true, false
			if i == ansMsgID {
				a.idLen = 0
			}
			return
		}
	}
}

// ReadExtBytes implements codec.ExtBytesReader: the entry is kept as ReadExt keeps
// it, with strings made only where a value is new and not kept otherwise: the usual
// booleans and the broker's region are shared strings, the numbers are parsed and the
// offset message id copied (see sendAnswer).
func (a *sendAnswer) ReadExtBytes(key, value []byte) {
	for i, k := range sendAnswerKeys {
		if k != string(key) {
			continue
		}
		a.has[i], a.numeric[i], a.vals[i] = true, false, ""
		if i == ansMsgID {
			a.idLen = 0
		}
		switch {
		case string(value) == "true":
			a.vals[i] = "true"
		case string(value) == "false":
			a.vals[i] = "false"
		case i == ansRegion:
			a.vals[i] = answerRegion(value)
		case i == ansMsgID && len(value) > 0 && len(value) <= len(a.id):
			a.idLen = copy(a.id[:], value)
		case i == ansQueueID || i == ansQueueOffset:
			if n, ok := canonicalDecimal(value); ok {
				a.num[i], a.numeric[i] = n, true
				break
			}
			a.vals[i] = string(value)
		default:
			a.vals[i] = string(value)
		}
		return
	}
}

// canonicalDecimal parses v when it is the decimal strconv.FormatInt gives (digits, an
// optional minus, no leading zero, at most 18 digits), so the number stands for the
// text exactly; anything else is left to the header's own parser.
func canonicalDecimal[T string | []byte](v T) (int64, bool) {
	s := v
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	if len(s) == 0 || len(s) > 18 || s[0] == '0' && (len(s) > 1 || len(v) > 1) {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if len(s) < len(v) {
		n = -n
	}
	return n, true
}

// str returns the value of key i as the header gave it.
func (a *sendAnswer) str(i int) string {
	switch {
	case a.numeric[i]:
		return strconv.FormatInt(a.num[i], 10)
	case i == ansMsgID && a.idLen > 0:
		return string(a.id[:a.idLen])
	}
	return a.vals[i]
}

// number parses the value of key i as a decimal of bits bits, as strconv.ParseInt.
func (a *sendAnswer) number(i, bits int) (int64, error) {
	if a.numeric[i] {
		n := a.num[i]
		if bits < 64 && (n < -(1<<(bits-1)) || n > 1<<(bits-1)-1) {
			return 0, strconv.ErrRange
		}
		return n, nil
	}
	return strconv.ParseInt(a.vals[i], 10, bits)
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
func (a *sendAnswer) decode() (header.SendMessageResponse, error) { return a.decodeIn(nil) }

// sendResultBox is a SendResult with room for its OffsetMsgID and its MsgID, which then
// point into the box: the result of an asynchronous send is one allocation.
type sendResultBox struct {
	res SendResult
	id  [offsetIDBytes]byte
	uid [uniqIDBytes]byte
}

// uniqIDBytes is the length of a generated UNIQ_KEY (message.NewUniqID).
const uniqIDBytes = 32

// uniqID returns a copy of id in the box (a new string when it does not fit).
func (b *sendResultBox) uniqID(id string) string {
	if len(id) == 0 || len(id) > len(b.uid) {
		return strings.Clone(id)
	}
	n := copy(b.uid[:], id)
	return unsafe.String(&b.uid[0], n)
}

// decodeIn is decode, the msgId copied into box when it was kept in a.id and box is
// not nil.
func (a *sendAnswer) decodeIn(box *sendResultBox) (header.SendMessageResponse, error) {
	var h header.SendMessageResponse
	qid, err1 := a.number(ansQueueID, 32)
	qoff, err2 := a.number(ansQueueOffset, 64)
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
				m[k] = a.str(i)
			}
		}
		err := h.Decode(m)
		return h, err
	}
	id := a.vals[ansMsgID]
	if n := a.idLen; n > 0 {
		if box == nil {
			id = string(a.id[:n])
		} else {
			copy(box.id[:], a.id[:n])
			id = unsafe.String(&box.id[0], n)
		}
	}
	h = header.SendMessageResponse{
		MsgID:         id,
		QueueID:       int32(qid),
		QueueOffset:   qoff,
		TransactionID: a.vals[ansTransactionID],
		Region:        a.vals[ansRegion],
		TraceOn:       trace,
	}
	return h, nil
}
