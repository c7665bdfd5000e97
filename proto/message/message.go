package message

import (
	"errors"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// SysFlag bits of a stored message (docs/protocol.md §4.2). The low bits travel in the send
// header's sysFlag; the host bits are derived from the address families on encode.
const (
	FlagCompressed  int32 = 0x1  // body is zlib-compressed
	FlagMultiTags   int32 = 0x2  // MULTI_TAGS, set by the broker for MULTI_TAG topics
	TxMask          int32 = 0xC  // mask of the transaction type bits
	TxNotType       int32 = 0x0  // not a transaction message
	TxPreparedType  int32 = 0x4  // half message
	TxCommitType    int32 = 0x8  // committed transaction message
	TxRollbackType  int32 = 0xC  // rolled back
	FlagBornHostV6  int32 = 0x10 // BORNHOST is 16+4 bytes
	FlagStoreHostV6 int32 = 0x20 // STOREHOST is 16+4 bytes
	FlagNeedUnwrap  int32 = 0x40 // 5.x, never set by rocketgo
	FlagInnerBatch  int32 = 0x80 // 5.x, never set by rocketgo
)

// TxType returns the transaction type bits of a sysflag (one of the Tx*Type values).
func TxType(sysFlag int32) int32 { return sysFlag & TxMask }

// Record magic codes.
const (
	MagicV1    uint32 = 0xDAA320A7 // v1 stored message
	MagicBlank uint32 = 0xCBD43194 // end-of-file blank
	// MagicV2 is the 5.x record with a 2-byte topic length. It is recognised only to
	// report it as unsupported: the Go client cannot decode it.
	MagicV2 uint32 = 0xDAA320AB
)

// Limits of the record format.
const (
	MaxTopicLen      = 127   // one length byte
	MaxPropertiesLen = 32767 // signed int16 length
)

// Well-known property keys (MessageConst.java).
const (
	PropTags           = "TAGS"
	PropKeys           = "KEYS"
	PropUniqKey        = "UNIQ_KEY"
	PropWait           = "WAIT"
	PropDelay          = "DELAY"
	PropRetryTopic     = "RETRY_TOPIC"
	PropRealTopic      = "REAL_TOPIC"
	PropRealQueueID    = "REAL_QID"
	PropTranMsg        = "TRAN_MSG"
	PropProducerGroup  = "PGROUP"
	PropMinOffset      = "MIN_OFFSET"
	PropMaxOffset      = "MAX_OFFSET"
	PropOriginMsgID    = "ORIGIN_MESSAGE_ID"
	PropReconsumeTime  = "RECONSUME_TIME"
	PropMsgRegion      = "MSG_REGION"
	PropTraceOn        = "TRACE_ON"
	PropMaxReconsume   = "MAX_RECONSUME_TIMES"
	PropCluster        = "CLUSTER"
	PropTxCheckTimes   = "TRANSACTION_CHECK_TIMES"
	PropCheckImmunity  = "CHECK_IMMUNITY_TIME_IN_SECONDS"
	PropTimerDeliverMS = "TIMER_DELIVER_MS"
	PropTimerDelaySec  = "TIMER_DELAY_SEC"
	PropTimerDelayMS   = "TIMER_DELAY_MS"
	PropTimerOutMS     = "TIMER_OUT_MS"

	// Request/reply (docs/request-reply.md).
	PropCorrelationID   = "CORRELATION_ID"  // pairs a reply with its request
	PropReplyToClient   = "REPLY_TO_CLIENT" // the requester's client id
	PropMessageTTL      = "TTL"             // the requester's timeout, as the client wrote it
	PropMsgType         = "MSG_TYPE"        // MsgTypeReply on a reply
	PropPushReplyTime   = "PUSH_REPLY_TIME" // ms the broker pushed the reply
	PropReplyArriveTime = "ARRIVE_TIME"     // ms the reply reached the requester
)

// MsgTypeReply is the MSG_TYPE of a reply message: clients send it with
// SEND_REPLY_MESSAGE instead of SEND_MESSAGE.
const MsgTypeReply = "reply"

// KeySeparator separates the business keys inside the KEYS property.
const KeySeparator = " "

// Ext is a stored message: every field of the v1 CommitLog record (docs/protocol.md §4.1).
// Hosts are IPv4 or IPv6 address+port; the sysflag host bits are derived from them on
// encode and drive the host sizes on decode. An IPv4-mapped IPv6 address is stored as
// IPv4, as Java does, and an invalid (zero) AddrPort is stored as 0.0.0.0:0.
type Ext struct {
	Topic                     string
	QueueID                   int32
	Flag                      int32
	QueueOffset               int64
	PhysicalOffset            int64
	SysFlag                   int32
	BornTimestamp             int64 // ms
	BornHost                  netip.AddrPort
	StoreTimestamp            int64 // ms
	StoreHost                 netip.AddrPort
	ReconsumeTimes            int32
	PreparedTransactionOffset int64
	BodyCRC                   uint32 // as stored; EncodeRecord computes it from Body
	Body                      []byte // stored bytes (compressed if FlagCompressed)
	Properties                map[string]string
}

// Tags returns the TAGS property, "" when there is none.
func (m *Ext) Tags() string { return m.Properties[PropTags] }

// Keys returns the business keys of the KEYS property (space separated), nil when none.
func (m *Ext) Keys() []string { return splitKeys(m.Properties[PropKeys]) }

// UniqKey returns the client-generated unique id (UNIQ_KEY), "" when there is none.
func (m *Ext) UniqKey() string { return m.Properties[PropUniqKey] }

// MsgID returns the id a consumer sees: UNIQ_KEY when present, otherwise the offset
// message id of the store host and physical offset (the Go client's rule, §4.5).
func (m *Ext) MsgID() string {
	if id := m.Properties[PropUniqKey]; id != "" {
		return id
	}
	return OffsetMsgID(m.StoreHost, m.PhysicalOffset)
}

// Message is what a producer sends: a topic, the user flag, the body and the properties.
// The zero value is an empty message; Properties is created on the first Set.
type Message struct {
	Topic      string
	Flag       int32
	Body       []byte
	Properties map[string]string
}

// Property returns the value of key, "" when absent.
func (m *Message) Property(key string) string { return m.Properties[key] }

// SetProperty sets key to value, creating the map when needed. An empty value removes
// the key, because neither the Java nor the Go parser keeps empty values.
func (m *Message) SetProperty(key, value string) {
	if value == "" {
		delete(m.Properties, key)
		return
	}
	if m.Properties == nil {
		m.Properties = make(map[string]string, 4)
	}
	m.Properties[key] = value
}

// Tags returns the TAGS property, "" when there is none.
func (m *Message) Tags() string { return m.Properties[PropTags] }

// SetTags sets the TAGS property (the broker-side filter key).
func (m *Message) SetTags(tags string) { m.SetProperty(PropTags, tags) }

// Keys returns the business keys of the KEYS property (space separated), nil when none.
func (m *Message) Keys() []string { return splitKeys(m.Properties[PropKeys]) }

// SetKeys stores keys in the KEYS property, space separated as Java and Go clients do.
func (m *Message) SetKeys(keys ...string) { m.SetProperty(PropKeys, strings.Join(keys, KeySeparator)) }

// splitKeys splits a KEYS value on spaces, dropping empty items the way the index does.
func splitKeys(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

// Sentinel errors. Decoders wrap them with the field and offsets involved, so callers
// test with errors.Is and operators read the wrapped text.
var (
	// ErrBlank reports an end-of-file blank record (magic 0xCBD43194): the reader rolls
	// to the next segment. It is not corruption.
	ErrBlank = errors.New("message: blank record")
	// ErrTruncated reports input that ends before the record (or value) it starts.
	ErrTruncated = errors.New("message: truncated")
	// ErrCorrupt is the one corruption marker of the project: bytes that cannot be
	// what a writer produced. Here it reports a record with bad magic, inconsistent
	// sizes, a body CRC mismatch or an impossible port; the store wraps the same value
	// (store.ErrCorruption) for its files, checkpoints and consume queues and for
	// replicated runs, and replication for damaged data frames, so errors.Is(err,
	// ErrCorrupt) answers "is this corruption?" at every layer. Its text names no
	// package because every layer uses it.
	ErrCorrupt = errors.New("corruption")
	// ErrTopicTooLong reports a topic over MaxTopicLen bytes.
	ErrTopicTooLong = errors.New("message: topic too long")
	// ErrPropertiesTooLong reports encoded properties over MaxPropertiesLen bytes.
	ErrPropertiesTooLong = errors.New("message: properties too long")
	// ErrTooLarge reports a record, batch entry or decompressed body over its size limit.
	ErrTooLarge = errors.New("message: too large")
	// ErrBadBatch reports a malformed batch body (SEND_BATCH_MESSAGE).
	ErrBadBatch = errors.New("message: malformed batch")
	// ErrBadMsgID reports a message id that is not of the expected length or not hex.
	ErrBadMsgID = errors.New("message: malformed message id")
	// ErrBadCompressed reports a body that is not a valid zlib stream.
	ErrBadCompressed = errors.New("message: bad compressed body")
)

// TagsHash returns the tagsCode the broker stores in the ConsumeQueue for a TAGS value:
// Java's String.hashCode computed over the UTF-16 code units of tags (a character outside
// the BMP counts as its surrogate pair), with int32 overflow, sign-extended to int64. It
// is 0 for "". Invalid UTF-8 bytes count as U+FFFD each, as a Java decoder replaces them.
//
// The Go client hashes UTF-8 bytes instead, which agrees only for ASCII tags (§4.4), so
// the broker must always recompute the code from the tag strings.
func TagsHash(tags string) int64 {
	var h int32
	for _, r := range tags {
		if r >= 0x10000 && r <= utf8.MaxRune {
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10)&0x3FF)
			h = 31*h + int32(0xDC00+r&0x3FF)
			continue
		}
		h = 31*h + r
	}
	return int64(h)
}
