package pop

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ReviveQidFIFO is the revive queue id that marks a FIFO delivery in a handle
// (KeyBuilder.POP_ORDER_REVIVE_QUEUE).
const ReviveQidFIFO = 999

// RetryNormal is the retry mark of a handle for a message of the topic itself; "1"
// and "2" mark Apache's POP retry topics (%RETRY%group_topic, %RETRY%group+topic),
// which this broker never hands out (redelivery is in place, docs/pop.md §2).
const RetryNormal = "0"

// maxHandleLen bounds a handle's text; a real one is under 100 bytes.
const maxHandleLen = 512

// ErrBadHandle marks a receipt handle (extraInfo) that does not parse.
var ErrBadHandle = errors.New("pop: bad receipt handle")

// Handle is a receipt handle: it names one delivery of one message. Its text form is
// Apache's extraInfo (ExtraInfoUtil.buildExtraInfo), fields separated by one space:
//
//	ckQueueOffset popTime invisibleTime reviveQid retry brokerName queueId queueOffset
//	5             1700000000000 60000   0         0     broker-a   1       6
//
// A delivery is identified by (group, topic, QueueID, Offset, PopTime); the group and
// topic travel beside the handle (request header fields, or the gRPC message).
type Handle struct {
	CkOffset      int64  // the first offset the pop returned from this queue
	PopTime       int64  // ms; a FIFO handle keeps it across ChangeInvisible
	InvisibleTime int64  // ms; the message is visible again at PopTime + InvisibleTime
	ReviveQid     int32  // 0, or ReviveQidFIFO for a FIFO delivery
	Retry         string // RetryNormal
	BrokerName    string
	QueueID       int32
	Offset        int64 // the message's queue offset
}

// FIFO reports whether the handle names a FIFO delivery.
func (h Handle) FIFO() bool { return h.ReviveQid == ReviveQidFIFO }

// VisibleAt returns when the message becomes visible again (ms).
func (h Handle) VisibleAt() int64 { return h.PopTime + h.InvisibleTime }

// String returns the extraInfo text: what a remoting client carries in its POP_CK
// property and sends back in ACK_MESSAGE and CHANGE_MESSAGE_INVISIBLETIME.
func (h Handle) String() string {
	var b strings.Builder
	b.Grow(64 + len(h.BrokerName))
	b.WriteString(strconv.FormatInt(h.CkOffset, 10))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatInt(h.PopTime, 10))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatInt(h.InvisibleTime, 10))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatInt(int64(h.ReviveQid), 10))
	b.WriteByte(' ')
	b.WriteString(h.Retry)
	b.WriteByte(' ')
	b.WriteString(h.BrokerName)
	b.WriteByte(' ')
	b.WriteString(strconv.FormatInt(int64(h.QueueID), 10))
	b.WriteByte(' ')
	b.WriteString(strconv.FormatInt(h.Offset, 10))
	return b.String()
}

// ParseHandle parses an extraInfo. The eighth field (the queue offset) is optional, as
// in Apache's seven-field form; without it Offset is -1 and the caller takes the
// offset from the request. Numbers are decimal; retry is "0", "1" or "2"; nothing may
// be negative except nothing; the text is at most 512 bytes.
func ParseHandle(s string) (Handle, error) {
	if len(s) > maxHandleLen {
		return Handle{}, fmt.Errorf("%w: %d bytes, at most %d", ErrBadHandle, len(s), maxHandleLen)
	}
	f := strings.Split(s, " ")
	if len(f) != 7 && len(f) != 8 {
		return Handle{}, fmt.Errorf("%w: %d fields in %q, want 7 or 8", ErrBadHandle, len(f), s)
	}
	var h Handle
	var err error
	num := func(i int, bits int) int64 {
		if err != nil {
			return 0
		}
		n, e := strconv.ParseInt(f[i], 10, bits)
		if e != nil || n < 0 {
			err = fmt.Errorf("%w: field %d %q is not a non-negative number", ErrBadHandle, i+1, f[i])
		}
		return n
	}
	h.CkOffset = num(0, 64)
	h.PopTime = num(1, 64)
	h.InvisibleTime = num(2, 64)
	h.ReviveQid = int32(num(3, 32))
	h.QueueID = int32(num(6, 32))
	h.Offset = -1
	if len(f) == 8 {
		h.Offset = num(7, 64)
	}
	if err != nil {
		return Handle{}, err
	}
	switch f[4] {
	case "0", "1", "2":
		h.Retry = f[4]
	default:
		return Handle{}, fmt.Errorf("%w: retry mark %q, want 0, 1 or 2", ErrBadHandle, f[4])
	}
	if f[5] == "" {
		return Handle{}, fmt.Errorf("%w: empty broker name", ErrBadHandle)
	}
	h.BrokerName = f[5]
	if h.PopTime > (1<<62) || h.InvisibleTime > (1<<62) {
		return Handle{}, fmt.Errorf("%w: time out of range", ErrBadHandle)
	}
	return h, nil
}
