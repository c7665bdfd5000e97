package message

import "net/netip"

// This file fixes the API other packages build against. Bodies live in the other files
// of the package.

// SysFlag bits of a stored message (PROTOCOL.md §4.2).
const (
	FlagCompressed    int32 = 0x1  // body is zlib-compressed
	FlagMultiTags     int32 = 0x2  // MULTI_TAGS, set by the broker for MULTI_TAG topics
	TxMask            int32 = 0xC  // mask of the transaction type bits
	TxNotType         int32 = 0x0  // not a transaction message
	TxPreparedType    int32 = 0x4  // half message
	TxCommitType      int32 = 0x8  // committed transaction message
	TxRollbackType    int32 = 0xC  // rolled back
	FlagBornHostV6    int32 = 0x10 // BORNHOST is 16+4 bytes
	FlagStoreHostV6   int32 = 0x20 // STOREHOST is 16+4 bytes
	FlagNeedUnwrap    int32 = 0x40 // 5.x, never set by rocketgo
	FlagInnerBatch    int32 = 0x80 // 5.x, never set by rocketgo
)

// Record magic codes.
const (
	MagicV1    uint32 = 0xDAA320A7 // v1 stored message
	MagicBlank uint32 = 0xCBD43194 // end-of-file blank
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
)

// Ext is a stored message: every field of the v1 CommitLog record (PROTOCOL.md §4.1).
// Hosts are IPv4 or IPv6 address+port; the sysflag host bits are derived from them on
// encode and drive the host sizes on decode.
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

// Functions implemented in this package (signatures fixed here for other packages):
//
//	func RecordSize(bodyLen, topicLen, propsLen int, sysFlag int32) int
//	    whole record size for those lengths; IPv4 hosts give 91 + body + topic + props.
//	func EncodeRecord(dst []byte, m *Ext) ([]byte, error)
//	    appends the v1 record of m to dst (CRC32 IEEE of Body computed, host bits of SysFlag
//	    set from the host address families); errors for topic > 127 bytes or properties
//	    > 32767 bytes (ErrTopicTooLong, ErrPropertiesTooLong).
//	func DecodeRecord(b []byte) (*Ext, int, error)
//	    decodes one record at the start of b, returns it and its TOTALSIZE; never panics;
//	    ErrBlank for a blank record, ErrTruncated / ErrCorrupt (wrapped, naming the field).
//	func VerifyRecord(b []byte) (size int, err error)
//	    checks magic, sizes and body CRC without allocating (used by recovery).
//
// Record views read single fields of an encoded record without decoding it; they assume b
// passed VerifyRecord or was produced by EncodeRecord:
//
//	func RecordTopic(b []byte) string        // allocation-free when possible
//	func RecordQueueID(b []byte) int32
//	func RecordSysFlag(b []byte) int32
//	func RecordProperties(b []byte) []byte   // raw property bytes (slice of b)
//	func RecordStoreTimestamp(b []byte) int64
//	func PatchRecord(b []byte, queueOffset, physicalOffset, storeTimestamp int64)
//	    writes the three fields the store assigns at append time.
//
// Properties (§4.3):
//
//	func EncodeProperties(p map[string]string) string   // Java form: no trailing 0x02, keys sorted
//	func DecodeProperties(s string) map[string]string    // accepts both forms
//	func PropertyOf(props []byte, key string) (string, bool)  // scan without building a map
//
// Batch body (§4.6):
//
//	type BatchEntry struct { Flag int32; Body []byte; Properties string }
//	func DecodeBatch(body []byte, maxEntries int) ([]BatchEntry, error)
//	func EncodeBatch(dst []byte, entries []BatchEntry) []byte
//
// Message ids (§5):
//
//	func OffsetMsgID(storeHost netip.AddrPort, physicalOffset int64) string  // 32 or 56 upper-case hex
//	func ParseOffsetMsgID(id string) (netip.AddrPort, int64, error)
//	func NewUniqID() string    // client unique id, Java layout, 32 upper-case hex for IPv4
//
// Tags (§4.4):
//
//	func TagsHash(tags string) int64   // Java String.hashCode over UTF-16 units, sign-extended; 0 for ""
//
// Compression (§4.7):
//
//	func Compress(body []byte, level int) ([]byte, error)   // zlib, RFC 1950
//	func Decompress(body []byte, max int) ([]byte, error)    // bounded output
