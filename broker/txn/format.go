package txn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"net/netip"
	"sort"
	"strconv"
	"time"

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

// ErrBadSnapshot reports snapshot bytes that cannot be decoded: the caller rebuilds the
// set from the log instead.
var ErrBadSnapshot = errors.New("txn: bad snapshot")

// Snapshot layout constants (see doc.go).
const (
	snapshotMagic   = "RGTX"
	snapshotVersion = 1
	snapshotHeader  = 4 + 2 + 2 + 4 + 8 + 4    // magic, version, reserved, crc, applied, count
	entryNumeric    = 5*8 + 4 + 4              // offsets, times, checks, queue id
	entryFixed      = entryNumeric + 2 + 1 + 2 // and the three string lengths
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Snapshot encodes the set: the offset it has applied through and every unresolved
// half message, consistently (no record's effect without its offset). Claims are not
// kept: a resolution in flight is either in the log, and re-applied, or lost with the
// process. Strings longer than the format holds are cut (a group or key that long is
// not one a producer can use anyway).
func (s *Set) Snapshot() (data []byte, applied int64) {
	s.mu.Lock()
	applied = s.applied.Load()
	entries := make([]Entry, 0, len(s.mu.pending))
	size := snapshotHeader
	for _, e := range s.mu.pending {
		entries = append(entries, *e)
		size += entryFixed + len(e.Group) + len(e.Topic) + len(e.UniqKey)
	}
	s.mu.Unlock()
	sort.Slice(entries, func(i, j int) bool { return entries[i].Offset < entries[j].Offset })
	return encodeSnapshot(make([]byte, 0, size), applied, entries), applied
}

func encodeSnapshot(dst []byte, applied int64, entries []Entry) []byte {
	be := binary.BigEndian
	dst = append(dst, snapshotMagic...)
	dst = be.AppendUint16(dst, snapshotVersion)
	dst = be.AppendUint16(dst, 0)
	crcAt := len(dst)
	dst = be.AppendUint32(dst, 0)
	dst = be.AppendUint64(dst, uint64(applied))
	dst = be.AppendUint32(dst, uint32(len(entries)))
	for _, e := range entries {
		dst = be.AppendUint64(dst, uint64(e.Offset))
		dst = be.AppendUint64(dst, uint64(e.QueueOffset))
		dst = be.AppendUint64(dst, uint64(e.StoreTime.UnixMilli()))
		dst = be.AppendUint64(dst, uint64(e.Immunity.Milliseconds()))
		var last int64
		if !e.LastCheck.IsZero() {
			last = e.LastCheck.UnixMilli()
		}
		dst = be.AppendUint64(dst, uint64(last))
		dst = be.AppendUint32(dst, uint32(min(e.Checks, math.MaxInt32)))
		dst = be.AppendUint32(dst, uint32(e.QueueID))
		dst = appendStr16(dst, e.Group)
		dst = appendStr8(dst, e.Topic)
		dst = appendStr16(dst, e.UniqKey)
	}
	be.PutUint32(dst[crcAt:], crc32.Checksum(dst[crcAt+4:], castagnoli))
	return dst
}

func appendStr16(dst []byte, s string) []byte {
	if len(s) > math.MaxUint16 {
		s = s[:math.MaxUint16]
	}
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

func appendStr8(dst []byte, s string) []byte {
	if len(s) > math.MaxUint8 {
		s = s[:math.MaxUint8]
	}
	dst = append(dst, byte(len(s)))
	return append(dst, s...)
}

// Restore decodes a snapshot into a new set. It never panics; every error wraps
// ErrBadSnapshot.
func Restore(b []byte) (*Set, error) {
	applied, entries, err := decodeSnapshot(b)
	if err != nil {
		return nil, err
	}
	s := New(applied)
	for i := range entries {
		e := entries[i]
		if _, dup := s.mu.pending[e.Offset]; dup {
			return nil, fmt.Errorf("%w: offset %d listed twice", ErrBadSnapshot, e.Offset)
		}
		s.mu.pending[e.Offset] = &e
		// As in Apply, the newer of two half messages with one queue offset (which the
		// broker never writes) is the one indexed.
		if prev, dup := s.mu.byQueue[e.QueueOffset]; !dup || prev < e.Offset {
			s.mu.byQueue[e.QueueOffset] = e.Offset
		}
	}
	return s, nil
}

// decodeSnapshot parses the layout of encodeSnapshot, bounded by len(b).
func decodeSnapshot(b []byte) (int64, []Entry, error) {
	be := binary.BigEndian
	if len(b) < snapshotHeader {
		return 0, nil, fmt.Errorf("%w: %d bytes, header needs %d", ErrBadSnapshot, len(b), snapshotHeader)
	}
	if string(b[:4]) != snapshotMagic {
		return 0, nil, fmt.Errorf("%w: magic %q", ErrBadSnapshot, b[:4])
	}
	if v := be.Uint16(b[4:]); v != snapshotVersion {
		return 0, nil, fmt.Errorf("%w: version %d, want %d", ErrBadSnapshot, v, snapshotVersion)
	}
	if got, want := crc32.Checksum(b[12:], castagnoli), be.Uint32(b[8:]); got != want {
		return 0, nil, fmt.Errorf("%w: crc 0x%08X, computed 0x%08X", ErrBadSnapshot, want, got)
	}
	applied := int64(be.Uint64(b[12:]))
	count := be.Uint32(b[20:])
	if applied < 0 {
		return 0, nil, fmt.Errorf("%w: applied offset %d", ErrBadSnapshot, applied)
	}
	rest := b[snapshotHeader:]
	// Bound the claimed count by the bytes present before allocating for it.
	if uint64(count) > uint64(len(rest)/entryFixed) {
		return 0, nil, fmt.Errorf("%w: %d entries claimed in %d bytes", ErrBadSnapshot, count, len(rest))
	}
	entries := make([]Entry, 0, count)
	for i := uint32(0); i < count; i++ {
		if len(rest) < entryNumeric {
			return 0, nil, fmt.Errorf("%w: entry %d truncated", ErrBadSnapshot, i)
		}
		immMS := int64(be.Uint64(rest[24:]))
		e := Entry{
			Offset:      int64(be.Uint64(rest[0:])),
			QueueOffset: int64(be.Uint64(rest[8:])),
			StoreTime:   time.UnixMilli(int64(be.Uint64(rest[16:]))),
			Checks:      int(int32(be.Uint32(rest[40:]))),
			QueueID:     int32(be.Uint32(rest[44:])),
		}
		if last := int64(be.Uint64(rest[32:])); last != 0 {
			e.LastCheck = time.UnixMilli(last)
		}
		// The immunity is checked in milliseconds, before the multiplication that
		// could wrap.
		if e.Offset < 0 || e.Offset >= applied || e.Checks < 0 || immMS < 0 || immMS > maxImmunity.Milliseconds() {
			return 0, nil, fmt.Errorf("%w: entry %d: offset %d (applied %d), checks %d, immunity %d ms",
				ErrBadSnapshot, i, e.Offset, applied, e.Checks, immMS)
		}
		e.Immunity = time.Duration(immMS) * time.Millisecond
		rest = rest[entryNumeric:]
		var ok bool
		if e.Group, rest, ok = readStr(rest, 2); !ok {
			return 0, nil, fmt.Errorf("%w: entry %d: group truncated", ErrBadSnapshot, i)
		}
		if e.Topic, rest, ok = readStr(rest, 1); !ok {
			return 0, nil, fmt.Errorf("%w: entry %d: topic truncated", ErrBadSnapshot, i)
		}
		if e.UniqKey, rest, ok = readStr(rest, 2); !ok {
			return 0, nil, fmt.Errorf("%w: entry %d: key truncated", ErrBadSnapshot, i)
		}
		entries = append(entries, e)
	}
	if len(rest) != 0 {
		return 0, nil, fmt.Errorf("%w: %d bytes after the last entry", ErrBadSnapshot, len(rest))
	}
	return applied, entries, nil
}

// readStr reads a string with an n-byte (1 or 2) big-endian length prefix.
func readStr(b []byte, n int) (string, []byte, bool) {
	if len(b) < n {
		return "", b, false
	}
	var l int
	if n == 1 {
		l = int(b[0])
	} else {
		l = int(binary.BigEndian.Uint16(b))
	}
	if len(b) < n+l {
		return "", b, false
	}
	return string(b[n : n+l]), b[n+l:], true
}
