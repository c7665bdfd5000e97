// Package trace is Apache RocketMQ's message trace format: the records clients with
// trace on write to RMQ_SYS_TRACE_TOPIC, their text encoding, and the printer of
// mqadmin queryMsgTraceById.
//
// A trace message's body is a sequence of records, each ended by FieldSep (\u0002),
// its fields separated by ContentSep (\u0001), in the order of Java's TraceDataEncoder
// and rocketmq-client-go v2.1.2 (internal/trace.go):
//
//	Pub            type timestamp region group topic msgId tags keys storeHost bodyLength costTime msgType offsetMsgId success clientHost
//	SubBefore      type timestamp region group requestId msgId retryTimes keys clientHost
//	SubAfter       type requestId msgId costTime success keys contextCode timestamp group
//	EndTransaction type timestamp region group topic msgId tags keys storeHost msgType transactionId transactionState fromTransactionCheck
//
// Java's encoder ends Pub after success and SubBefore after keys, SubAfter after
// timestamp; the Go client adds the trailing fields. Decode accepts every length both
// produce. The trace message's KEYS are the msgId and keys of its records, so
// QUERY_MESSAGE by msgId finds them.
package trace

import (
	"strconv"
	"strings"
)

// Separators of the encoding (TraceConstants.CONTENT_SPLITOR, FIELD_SPLITOR).
const (
	ContentSep = '\u0001' // between the fields of a record
	FieldSep   = '\u0002' // after each record
)

// DefaultTopic is where trace records go unless a client names another topic
// (TopicValidator.RMQ_SYS_TRACE_TOPIC).
const DefaultTopic = "RMQ_SYS_TRACE_TOPIC"

// Type is a record's kind (TraceType.java).
type Type string

// Record kinds.
const (
	Pub            Type = "Pub"            // a send and its result
	SubBefore      Type = "SubBefore"      // a message handed to a listener
	SubAfter       Type = "SubAfter"       // the listener's verdict
	EndTransaction Type = "EndTransaction" // a transaction's commit or rollback
)

// MsgType is the ordinal of Java's MessageType.
type MsgType int

// Message types.
const (
	NormalMsg      MsgType = iota // Normal_Msg
	TransMsgHalf                  // Trans_Msg_Half
	TransMsgCommit                // Trans_msg_Commit
	DelayMsg                      // Delay_Msg
)

// Consume context codes of SubAfter (ConsumeReturnType ordinals).
const (
	ContextSuccess   = 0 // SUCCESS
	ContextTimeout   = 1 // TIME_OUT
	ContextException = 2 // EXCEPTION
	ContextNull      = 3 // RETURNNULL
	ContextFailed    = 4 // FAILED
)

// Record is one trace record. Which fields a type carries is listed in the package
// doc; the others stay zero.
type Record struct {
	Type        Type
	Timestamp   int64 // ms since the epoch
	RegionID    string
	Group       string // producer or consumer group, without namespace
	RequestID   string // pairs a SubBefore with its SubAfter
	Topic       string
	MsgID       string // the client unique id (UNIQ_KEY)
	OffsetMsgID string
	Tags        string
	Keys        string // the KEYS property, keys separated by spaces
	StoreHost   string // "ip:port" of the broker
	ClientHost  string
	BodyLength  int
	CostTime    int64 // ms
	MsgType     MsgType
	Success     bool
	RetryTimes  int
	// ContextCode is the consume result of a SubAfter (Context* constants).
	ContextCode int
	// EndTransaction only.
	TransactionID        string
	TransactionState     string // COMMIT_MESSAGE, ROLLBACK_MESSAGE, UNKNOW
	FromTransactionCheck bool

	// BornHost is the IP of the client that stored the trace message carrying this
	// record; the decoder leaves it empty, queries fill it (Java's TraceView shows it
	// as the client host).
	BornHost string
}

// AppendTo appends r's encoding, FieldSep included, to b.
func (r *Record) AppendTo(b []byte) []byte {
	f := fieldWriter{b: b}
	f.str(string(r.Type))
	switch r.Type {
	case Pub:
		f.int(r.Timestamp).str(r.RegionID).str(r.Group).str(r.Topic).str(r.MsgID).str(r.Tags).str(r.Keys).
			str(r.StoreHost).int(int64(r.BodyLength)).int(r.CostTime).int(int64(r.MsgType)).str(r.OffsetMsgID).
			bool(r.Success).str(r.ClientHost)
	case SubBefore:
		f.int(r.Timestamp).str(r.RegionID).str(r.Group).str(r.RequestID).str(r.MsgID).int(int64(r.RetryTimes)).
			str(nullWrap(r.Keys)).str(r.ClientHost)
	case SubAfter:
		f.str(r.RequestID).str(r.MsgID).int(r.CostTime).bool(r.Success).str(nullWrap(r.Keys)).
			int(int64(r.ContextCode)).int(r.Timestamp).str(r.Group)
	case EndTransaction:
		f.int(r.Timestamp).str(r.RegionID).str(r.Group).str(r.Topic).str(r.MsgID).str(r.Tags).str(r.Keys).
			str(r.StoreHost).int(int64(r.MsgType)).str(r.TransactionID).str(r.TransactionState).
			bool(r.FromTransactionCheck)
	}
	return append(f.b, FieldSep)
}

// TransKeys returns the keys the trace message carrying r must have: the message id
// and, when set, the message's keys (TraceTransferBean.transKey).
func (r *Record) TransKeys() []string {
	if r.Keys == "" || r.Keys == "null" {
		return []string{r.MsgID}
	}
	return []string{r.MsgID, r.Keys}
}

// Encode returns the body of one trace message holding recs.
func Encode(recs []Record) []byte {
	var b []byte
	for i := range recs {
		b = recs[i].AppendTo(b)
	}
	return b
}

// nullWrap writes Java's "null" for an absent string, as both clients do for the keys
// of consume records.
func nullWrap(s string) string {
	if s == "" {
		return "null"
	}
	return s
}

// fieldWriter appends ContentSep-separated fields.
type fieldWriter struct {
	b []byte
	n int
}

func (f *fieldWriter) sep() {
	if f.n > 0 {
		f.b = append(f.b, ContentSep)
	}
	f.n++
}

func (f *fieldWriter) str(s string) *fieldWriter { f.sep(); f.b = append(f.b, s...); return f }
func (f *fieldWriter) int(v int64) *fieldWriter {
	f.sep()
	f.b = strconv.AppendInt(f.b, v, 10)
	return f
}
func (f *fieldWriter) bool(v bool) *fieldWriter { f.sep(); f.b = strconv.AppendBool(f.b, v); return f }

// splitRecords splits a body into the field lists of its records.
func splitRecords(body string) [][]string {
	var out [][]string
	for _, rec := range strings.Split(body, string(FieldSep)) {
		if rec == "" {
			continue
		}
		out = append(out, strings.Split(rec, string(ContentSep)))
	}
	return out
}
