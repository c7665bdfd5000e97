package txn

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"

	"github.com/rocketgo/rocketgo/proto/message"
)

// ErrNotHalf reports a record that is not a half message the broker wrote: wrong
// topic, or no readable REAL_TOPIC / REAL_QID.
var ErrNotHalf = errors.New("txn: not a half message")

// HalfProperties returns the properties of the half record of a transactional send:
// props (as the send path stores them) with REAL_TOPIC and REAL_QID set to where the
// message goes once committed, and PGROUP set to group when the producer did not set
// it (the check-back needs it).
func HalfProperties(props, realTopic string, realQueueID int32, group string) string {
	props = message.SetProperty(props, message.PropRealTopic, realTopic)
	props = message.SetProperty(props, message.PropRealQueueID, strconv.FormatInt(int64(realQueueID), 10))
	if _, ok := message.PropertyOf([]byte(props), message.PropProducerGroup); !ok {
		props = message.SetProperty(props, message.PropProducerGroup, group)
	}
	return props
}

// decodeHalf decodes a half record and returns it with its real topic and queue.
func decodeHalf(half []byte) (*message.Ext, string, int32, error) {
	m, _, err := message.DecodeRecord(half)
	if err != nil {
		return nil, "", 0, fmt.Errorf("%w: %w", ErrNotHalf, err)
	}
	if m.Topic != HalfTopic {
		return nil, "", 0, fmt.Errorf("%w: topic %q", ErrNotHalf, m.Topic)
	}
	topic := m.Properties[message.PropRealTopic]
	qid, err := strconv.ParseInt(m.Properties[message.PropRealQueueID], 10, 32)
	if topic == "" || err != nil || qid < 0 {
		return nil, "", 0, fmt.Errorf("%w: REAL_TOPIC %q, REAL_QID %q", ErrNotHalf, topic, m.Properties[message.PropRealQueueID])
	}
	return m, topic, int32(qid), nil
}

// CommitRecord appends to dst the record that commits the half record half, stored at
// offset off (EndTransactionProcessor.endMessageTransaction): the real topic and queue,
// the transaction type COMMIT, PREPAREDTRANSACTIONOFFSET = off, the same body, flag,
// born time and hosts, and the properties without REAL_TOPIC, REAL_QID and TRAN_MSG.
// The store recomputes the tags hash from TAGS when it dispatches it.
func CommitRecord(dst, half []byte, off int64) ([]byte, error) {
	m, topic, qid, err := decodeHalf(half)
	if err != nil {
		return dst, err
	}
	props := string(message.RecordProperties(half))
	props = message.RemoveProperty(props, message.PropRealTopic)
	props = message.RemoveProperty(props, message.PropRealQueueID)
	props = message.RemoveProperty(props, message.PropTranMsg)
	m.Topic, m.QueueID = topic, qid
	m.SysFlag = m.SysFlag&^message.TxMask | message.TxCommitType
	m.PreparedTransactionOffset = off
	m.QueueOffset, m.PhysicalOffset, m.StoreTimestamp = 0, 0, 0
	return message.EncodeRecordProps(dst, m, props)
}

// CheckBody appends to dst the body of a CHECK_TRANSACTION_STATE for the half record
// half: the record in v1 layout with its real topic and queue, its own queue and
// physical offsets (from which the client derives the offset message id), and
// TRANSACTION_CHECK_TIMES = checks, as Java's check body carries the count.
func CheckBody(dst, half []byte, checks int) ([]byte, error) {
	m, topic, qid, err := decodeHalf(half)
	if err != nil {
		return dst, err
	}
	props := message.SetProperty(string(message.RecordProperties(half)), message.PropTxCheckTimes, strconv.Itoa(checks))
	m.Topic, m.QueueID = topic, qid
	return message.EncodeRecordProps(dst, m, props)
}

// DiscardRecord appends to dst the record that gives up the half record half, stored
// at off: a copy in TRANS_CHECK_MAX_TIME_TOPIC queue 0 for operators to inspect, with
// PREPAREDTRANSACTIONOFFSET = off (which resolves the transaction) and
// TRANSACTION_CHECK_TIMES = checks. REAL_TOPIC and REAL_QID stay, naming where it was
// headed.
func DiscardRecord(dst, half []byte, off int64, checks int) ([]byte, error) {
	m, _, _, err := decodeHalf(half)
	if err != nil {
		return dst, err
	}
	props := message.SetProperty(string(message.RecordProperties(half)), message.PropTxCheckTimes, strconv.Itoa(checks))
	m.Topic, m.QueueID = CheckMaxTopic, 0
	m.SysFlag &^= message.TxMask
	m.PreparedTransactionOffset = off
	m.QueueOffset, m.PhysicalOffset, m.StoreTimestamp = 0, 0, 0
	return message.EncodeRecordProps(dst, m, props)
}

// MaxOpBody bounds the body of one op record: OpRecords splits longer lists.
const MaxOpBody = 4096

// OpRecords appends to dst one or more op records of tag listing the half queue
// offsets queueOffsets (Java's op message: queue 0 of RMQ_SYS_TRANS_OP_HALF_TOPIC, the
// tag, the offsets as ASCII decimals — comma-separated here, at most MaxOpBody bytes
// a record), born and stored by host at bornMS. It returns the records back to back.
func OpRecords(dst []byte, tag string, queueOffsets []int64, host netip.AddrPort, bornMS int64) ([]byte, error) {
	props := message.SetProperty("", message.PropTags, tag)
	body := make([]byte, 0, min(MaxOpBody, 20*len(queueOffsets)))
	flush := func() error {
		m := message.Ext{Topic: OpTopic, BornTimestamp: bornMS, BornHost: host, StoreHost: host, Body: body}
		var err error
		dst, err = message.EncodeRecordProps(dst, &m, props)
		body = body[:0]
		return err
	}
	for _, q := range queueOffsets {
		if len(body) > 0 && len(body)+21 > MaxOpBody {
			if err := flush(); err != nil {
				return dst, err
			}
		}
		if len(body) > 0 {
			body = append(body, ',')
		}
		body = strconv.AppendInt(body, q, 10)
	}
	if len(body) > 0 {
		if err := flush(); err != nil {
			return dst, err
		}
	}
	return dst, nil
}
