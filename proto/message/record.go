package message

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"net/netip"
	"slices"
)

// Byte offsets of the fixed fields of a v1 record that come before the born host; the
// fields after it move by 12 bytes for each IPv6 host (see the diagram in doc.go).
const (
	offTotalSize      = 0
	offMagic          = 4
	offBodyCRC        = 8
	offQueueID        = 12
	offFlag           = 16
	offQueueOffset    = 20
	offPhysicalOffset = 28
	offSysFlag        = 36
	offBornTimestamp  = 40
	offBornHost       = 48

	hostV4Len = 8  // 4-byte address + int32 port
	hostV6Len = 20 // 16-byte address + int32 port

	// FixedOverheadV4 is the size of a record with IPv4 hosts and an empty body, topic
	// and properties: every length and fixed field together.
	FixedOverheadV4 = 91
	// MinBlankSize is the smallest end-of-file blank: TOTALSIZE and MAGICCODE.
	MinBlankSize = 8
	// MaxRecordSize is the largest TOTALSIZE the int32 size field can hold.
	MaxRecordSize = math.MaxInt32
)

// hostLen returns the stored size of the host selected by bit in sysFlag.
func hostLen(sysFlag, bit int32) int {
	if sysFlag&bit != 0 {
		return hostV6Len
	}
	return hostV4Len
}

// RecordSize returns the whole record size for those lengths; IPv4 hosts give
// 91 + body + topic + props, and each IPv6 host (sysflag 0x10, 0x20) adds 12.
func RecordSize(bodyLen, topicLen, propsLen int, sysFlag int32) int {
	return FixedOverheadV4 - 2*hostV4Len +
		hostLen(sysFlag, FlagBornHostV6) + hostLen(sysFlag, FlagStoreHostV6) +
		bodyLen + topicLen + propsLen
}

// BodyCRC returns the BODYCRC value stored for body: CRC32 (IEEE) masked to 31 bits,
// because Java computes (int)(crc & 0x7FFFFFFF) and compares exactly that on recovery.
func BodyCRC(body []byte) uint32 {
	return crc32.ChecksumIEEE(body) & 0x7FFFFFFF
}

// hostSysFlag returns sysFlag with the two host bits set from the address families.
func hostSysFlag(sysFlag int32, born, store netip.AddrPort) int32 {
	sysFlag &^= FlagBornHostV6 | FlagStoreHostV6
	if isV6(born) {
		sysFlag |= FlagBornHostV6
	}
	if isV6(store) {
		sysFlag |= FlagStoreHostV6
	}
	return sysFlag
}

// isV6 reports whether h is stored in the 16-byte form. IPv4-mapped addresses are
// stored as IPv4, as Java's InetSocketAddress would hold them.
func isV6(h netip.AddrPort) bool {
	a := h.Addr().Unmap()
	return a.IsValid() && a.Is6()
}

// appendHost appends the 8- or 20-byte host form of h.
func appendHost(dst []byte, h netip.AddrPort) []byte {
	a := h.Addr().Unmap()
	switch {
	case !a.IsValid():
		dst = append(dst, 0, 0, 0, 0)
	case a.Is4():
		b := a.As4()
		dst = append(dst, b[:]...)
	default:
		b := a.As16()
		dst = append(dst, b[:]...)
	}
	return binary.BigEndian.AppendUint32(dst, uint32(h.Port()))
}

// EncodeRecord appends the v1 record of m to dst and returns the extended slice. The body
// CRC is computed from m.Body (m.BodyCRC is ignored), the host bits of m.SysFlag are set
// from the host address families, and the properties are written in the Java form
// (EncodeProperties). It fails with ErrTopicTooLong for a topic over 127 bytes,
// ErrPropertiesTooLong for properties over 32767 bytes and ErrTooLarge when the record
// would not fit the int32 TOTALSIZE. m is not modified.
func EncodeRecord(dst []byte, m *Ext) ([]byte, error) {
	return EncodeRecordProps(dst, m, EncodeProperties(m.Properties))
}

// EncodeRecordProps is EncodeRecord with an already-encoded property string, which is
// written verbatim and m.Properties ignored. The send path uses it to store the
// properties it received (after SetProperty / RemoveProperty) without building a map.
func EncodeRecordProps(dst []byte, m *Ext, props string) ([]byte, error) {
	if len(m.Topic) > MaxTopicLen {
		return dst, fmt.Errorf("%w: %d bytes, limit %d", ErrTopicTooLong, len(m.Topic), MaxTopicLen)
	}
	if len(props) > MaxPropertiesLen {
		return dst, fmt.Errorf("%w: %d bytes, limit %d", ErrPropertiesTooLong, len(props), MaxPropertiesLen)
	}
	sysFlag := hostSysFlag(m.SysFlag, m.BornHost, m.StoreHost)
	// Checked in int64 so the sum cannot wrap on 32-bit platforms.
	size := int64(RecordSize(0, len(m.Topic), len(props), sysFlag)) + int64(len(m.Body))
	if size > MaxRecordSize {
		return dst, fmt.Errorf("%w: record of %d bytes exceeds %d", ErrTooLarge, size, MaxRecordSize)
	}
	dst = slices.Grow(dst, int(size))
	be := binary.BigEndian
	dst = be.AppendUint32(dst, uint32(size))
	dst = be.AppendUint32(dst, MagicV1)
	dst = be.AppendUint32(dst, BodyCRC(m.Body))
	dst = be.AppendUint32(dst, uint32(m.QueueID))
	dst = be.AppendUint32(dst, uint32(m.Flag))
	dst = be.AppendUint64(dst, uint64(m.QueueOffset))
	dst = be.AppendUint64(dst, uint64(m.PhysicalOffset))
	dst = be.AppendUint32(dst, uint32(sysFlag))
	dst = be.AppendUint64(dst, uint64(m.BornTimestamp))
	dst = appendHost(dst, m.BornHost)
	dst = be.AppendUint64(dst, uint64(m.StoreTimestamp))
	dst = appendHost(dst, m.StoreHost)
	dst = be.AppendUint32(dst, uint32(m.ReconsumeTimes))
	dst = be.AppendUint64(dst, uint64(m.PreparedTransactionOffset))
	dst = be.AppendUint32(dst, uint32(len(m.Body)))
	dst = append(dst, m.Body...)
	dst = append(dst, byte(len(m.Topic)))
	dst = append(dst, m.Topic...)
	dst = be.AppendUint16(dst, uint16(len(props)))
	dst = append(dst, props...)
	return dst, nil
}

// EncodeBlank writes an end-of-file blank over dst: TOTALSIZE = len(dst) and the blank
// magic. The remaining bytes are left as they are; readers skip them. dst must hold at
// least MinBlankSize bytes and at most MaxRecordSize: a smaller or larger blank cannot be
// expressed, so asking for one is a bug in the caller and panics.
func EncodeBlank(dst []byte) {
	if len(dst) < MinBlankSize || len(dst) > MaxRecordSize {
		panic(fmt.Sprintf("message: blank of %d bytes outside [%d, %d]", len(dst), MinBlankSize, MaxRecordSize))
	}
	binary.BigEndian.PutUint32(dst[offTotalSize:], uint32(len(dst)))
	binary.BigEndian.PutUint32(dst[offMagic:], MagicBlank)
}

// layout holds the field positions of one record, computed by scan without allocating.
type layout struct {
	size     int
	sysFlag  int32
	storeTS  int // offset of STORETIMESTAMP
	store    int // offset of STOREHOST
	reconsum int // offset of RECONSUMETIMES
	bodyOff  int
	bodyLen  int
	topicOff int
	topicLen int
	propsOff int
	propsLen int
}

// scan checks the framing of the record at the start of b — magic, TOTALSIZE within b,
// and every length consistent with TOTALSIZE — and returns its layout. It never reads
// past len(b) nor past TOTALSIZE. For a blank record it returns ErrBlank with the blank's
// TOTALSIZE in layout.size (which may exceed len(b): the blank covers the segment's
// remainder).
func scan(b []byte) (layout, error) {
	var l layout
	if len(b) < MinBlankSize {
		return l, fmt.Errorf("%w: %d bytes, need %d for size and magic", ErrTruncated, len(b), MinBlankSize)
	}
	be := binary.BigEndian
	total := int64(int32(be.Uint32(b[offTotalSize:])))
	switch magic := be.Uint32(b[offMagic:]); magic {
	case MagicV1:
	case MagicBlank:
		if total < MinBlankSize {
			return l, fmt.Errorf("%w: blank total size %d below %d", ErrCorrupt, total, MinBlankSize)
		}
		l.size = int(total)
		return l, ErrBlank
	case MagicV2:
		return l, fmt.Errorf("%w: magic 0x%08X is the unsupported v2 layout", ErrCorrupt, magic)
	default:
		return l, fmt.Errorf("%w: magic 0x%08X", ErrCorrupt, magic)
	}
	if total < FixedOverheadV4 {
		return l, fmt.Errorf("%w: total size %d below minimum %d", ErrCorrupt, total, FixedOverheadV4)
	}
	if total > int64(len(b)) {
		return l, fmt.Errorf("%w: total size %d, have %d bytes", ErrTruncated, total, len(b))
	}
	l.size = int(total)
	rec := b[:l.size]
	l.sysFlag = int32(be.Uint32(rec[offSysFlag:]))
	l.storeTS = offBornHost + hostLen(l.sysFlag, FlagBornHostV6)
	l.store = l.storeTS + 8
	l.reconsum = l.store + hostLen(l.sysFlag, FlagStoreHostV6)
	bodyLenOff := l.reconsum + 4 + 8
	// Every fixed field plus the three length fields must fit.
	if minSize := bodyLenOff + 4 + 1 + 2; l.size < minSize {
		return l, fmt.Errorf("%w: total size %d below minimum %d for sysflag 0x%X", ErrCorrupt, l.size, minSize, l.sysFlag)
	}
	l.bodyOff = bodyLenOff + 4
	bodyLen := int64(int32(be.Uint32(rec[bodyLenOff:])))
	if bodyLen < 0 || int64(l.bodyOff)+bodyLen+1+2 > int64(l.size) {
		return l, fmt.Errorf("%w: body length %d at offset %d overruns total size %d", ErrCorrupt, bodyLen, bodyLenOff, l.size)
	}
	l.bodyLen = int(bodyLen)
	topicLenOff := l.bodyOff + l.bodyLen
	l.topicOff = topicLenOff + 1
	l.topicLen = int(rec[topicLenOff])
	if l.topicLen > MaxTopicLen {
		// Java reads the length as a signed byte: 128..255 are negative there.
		return l, fmt.Errorf("%w: topic length byte %d at offset %d over %d", ErrCorrupt, l.topicLen, topicLenOff, MaxTopicLen)
	}
	if l.topicOff+l.topicLen+2 > l.size {
		return l, fmt.Errorf("%w: topic length %d at offset %d overruns total size %d", ErrCorrupt, l.topicLen, topicLenOff, l.size)
	}
	propsLenOff := l.topicOff + l.topicLen
	l.propsOff = propsLenOff + 2
	propsLen := int(int16(be.Uint16(rec[propsLenOff:])))
	if propsLen < 0 {
		return l, fmt.Errorf("%w: properties length %d at offset %d is negative", ErrCorrupt, propsLen, propsLenOff)
	}
	l.propsLen = propsLen
	if end := l.propsOff + l.propsLen; end != l.size {
		return l, fmt.Errorf("%w: properties length %d at offset %d ends the record at %d, total size %d",
			ErrCorrupt, propsLen, propsLenOff, end, l.size)
	}
	return l, nil
}

// VerifyRecord checks the record at the start of b — magic, TOTALSIZE within b, every
// length consistent with TOTALSIZE, and the body CRC — without allocating on success. It
// returns the record size. For an end-of-file blank it returns the blank's TOTALSIZE and
// ErrBlank. Recovery scans the CommitLog tail with it.
func VerifyRecord(b []byte) (size int, err error) {
	l, err := verify(b)
	return l.size, err
}

// ScanRecord is VerifyRecord without the body CRC check: every length is checked
// against TOTALSIZE, the body's bytes are not read. It is for records this process has
// just encoded (EncodeRecord computed BODYCRC from the same bytes), where computing the
// CRC a second time only repeats what the encoder did.
func ScanRecord(b []byte) (size int, err error) {
	l, err := scan(b)
	return l.size, err
}

// verify is scan plus the body CRC check.
func verify(b []byte) (layout, error) {
	l, err := scan(b)
	if err != nil {
		return l, err
	}
	stored := binary.BigEndian.Uint32(b[offBodyCRC:])
	if got := BodyCRC(b[l.bodyOff : l.bodyOff+l.bodyLen]); got != stored {
		return l, fmt.Errorf("%w: body crc 0x%08X, computed 0x%08X", ErrCorrupt, stored, got)
	}
	return l, nil
}

// DecodeRecord decodes the record at the start of b and returns it with its TOTALSIZE.
// It checks everything VerifyRecord checks, plus that both ports fit in 16 bits. Errors
// wrap ErrBlank (with the blank's size), ErrTruncated or ErrCorrupt and name the field.
// The returned Ext shares no memory with b. It never panics and never reads beyond
// len(b) or TOTALSIZE.
func DecodeRecord(b []byte) (*Ext, int, error) {
	v, n, err := ParseView(b)
	if err != nil {
		return nil, n, err
	}
	return v.Ext(), n, nil
}

// readHost reads the host at off in its 8- or 20-byte form. A port outside 0..65535
// cannot come from a socket address, so it is corruption; so is an IPv4-mapped address
// in the 16-byte form.
func readHost(rec []byte, off int, v6 bool, field string) (netip.AddrPort, error) {
	var a netip.Addr
	n := 4
	if v6 {
		n = 16
		a = netip.AddrFrom16([16]byte(rec[off : off+16]))
		if a.Is4In6() {
			// Java turns a mapped address into an Inet4Address, and EncodeRecord stores it
			// as IPv4, so no conforming writer puts one in a 16-byte host.
			return netip.AddrPort{}, fmt.Errorf("%w: %s %s at offset %d is IPv4-mapped in the IPv6 form", ErrCorrupt, field, a, off)
		}
	} else {
		a = netip.AddrFrom4([4]byte(rec[off : off+4]))
	}
	port := int32(binary.BigEndian.Uint32(rec[off+n:]))
	if port < 0 || port > math.MaxUint16 {
		return netip.AddrPort{}, fmt.Errorf("%w: %s port %d at offset %d", ErrCorrupt, field, port, off+n)
	}
	return netip.AddrPortFrom(a, uint16(port)), nil
}
