package message

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Record views read single fields of an encoded record without decoding it. They assume
// b passed VerifyRecord or was produced by EncodeRecord; on anything shorter than the
// field they read they return the zero value instead of panicking, so a view over bad
// bytes is wrong but harmless. Slices returned point into b.

// RecordTotalSize returns TOTALSIZE.
func RecordTotalSize(b []byte) int {
	if len(b) < offTotalSize+4 {
		return 0
	}
	return int(int32(binary.BigEndian.Uint32(b[offTotalSize:])))
}

// RecordMagic returns MAGICCODE.
func RecordMagic(b []byte) uint32 {
	if len(b) < offMagic+4 {
		return 0
	}
	return binary.BigEndian.Uint32(b[offMagic:])
}

// RecordBodyCRC returns the stored BODYCRC.
func RecordBodyCRC(b []byte) uint32 { return u32At(b, offBodyCRC) }

// RecordQueueID returns QUEUEID.
func RecordQueueID(b []byte) int32 { return int32(u32At(b, offQueueID)) }

// RecordFlag returns the user FLAG.
func RecordFlag(b []byte) int32 { return int32(u32At(b, offFlag)) }

// RecordQueueOffset returns QUEUEOFFSET.
func RecordQueueOffset(b []byte) int64 { return int64(u64At(b, offQueueOffset)) }

// RecordPhysicalOffset returns PHYSICALOFFSET.
func RecordPhysicalOffset(b []byte) int64 { return int64(u64At(b, offPhysicalOffset)) }

// RecordSysFlag returns SYSFLAG.
func RecordSysFlag(b []byte) int32 { return int32(u32At(b, offSysFlag)) }

// RecordBornTimestamp returns BORNTIMESTAMP (ms).
func RecordBornTimestamp(b []byte) int64 { return int64(u64At(b, offBornTimestamp)) }

// RecordBornHost returns BORNHOST; the zero AddrPort if b is too short.
func RecordBornHost(b []byte) netip.AddrPort {
	return hostAt(b, offBornHost, RecordSysFlag(b)&FlagBornHostV6 != 0)
}

// storeTSOffset returns the offset of STORETIMESTAMP, which follows the born host.
func storeTSOffset(b []byte) int {
	return offBornHost + hostLen(RecordSysFlag(b), FlagBornHostV6)
}

// RecordStoreTimestamp returns STORETIMESTAMP (ms).
func RecordStoreTimestamp(b []byte) int64 { return int64(u64At(b, storeTSOffset(b))) }

// RecordStoreHost returns STOREHOST; the zero AddrPort if b is too short.
func RecordStoreHost(b []byte) netip.AddrPort {
	return hostAt(b, storeTSOffset(b)+8, RecordSysFlag(b)&FlagStoreHostV6 != 0)
}

// reconsumeOffset returns the offset of RECONSUMETIMES, which follows the store host.
func reconsumeOffset(b []byte) int {
	return storeTSOffset(b) + 8 + hostLen(RecordSysFlag(b), FlagStoreHostV6)
}

// RecordReconsumeTimes returns RECONSUMETIMES.
func RecordReconsumeTimes(b []byte) int32 { return int32(u32At(b, reconsumeOffset(b))) }

// RecordPreparedTransactionOffset returns PREPAREDTRANSACTIONOFFSET.
func RecordPreparedTransactionOffset(b []byte) int64 {
	return int64(u64At(b, reconsumeOffset(b)+4))
}

// varFields returns the positions of body, topic and properties by following the length
// fields, bounded by len(b); ok is false if any of them runs past b.
func varFields(b []byte) (bodyOff, bodyLen, topicOff, topicLen, propsOff, propsLen int, ok bool) {
	bodyLenOff := reconsumeOffset(b) + 4 + 8
	if len(b) < bodyLenOff+4 {
		return
	}
	bodyOff = bodyLenOff + 4
	bl := int64(int32(binary.BigEndian.Uint32(b[bodyLenOff:])))
	if bl < 0 || int64(bodyOff)+bl+1 > int64(len(b)) {
		return
	}
	bodyLen = int(bl)
	topicLen = int(b[bodyOff+bodyLen])
	topicOff = bodyOff + bodyLen + 1
	if topicOff+topicLen+2 > len(b) {
		return
	}
	propsLen = int(int16(binary.BigEndian.Uint16(b[topicOff+topicLen:])))
	propsOff = topicOff + topicLen + 2
	if propsLen < 0 || propsOff+propsLen > len(b) {
		return
	}
	return bodyOff, bodyLen, topicOff, topicLen, propsOff, propsLen, true
}

// RecordBody returns the stored body bytes (compressed if FlagCompressed), a slice of b.
func RecordBody(b []byte) []byte {
	off, n, _, _, _, _, ok := varFields(b)
	if !ok {
		return nil
	}
	return b[off : off+n : off+n]
}

// RecordTopicBytes returns the topic bytes, a slice of b. Looking it up in a map with
// m[string(RecordTopicBytes(b))] does not allocate.
func RecordTopicBytes(b []byte) []byte {
	_, _, off, n, _, _, ok := varFields(b)
	if !ok {
		return nil
	}
	return b[off : off+n : off+n]
}

// RecordTopic returns the topic as a string. The string is a copy, so it stays valid
// after b is unmapped; it allocates unless the topic is empty. Use RecordTopicBytes on
// hot paths that only compare or look up the topic.
func RecordTopic(b []byte) string { return string(RecordTopicBytes(b)) }

// RecordProperties returns the raw property bytes, a slice of b. PropertyOf reads one
// key from them without building a map.
func RecordProperties(b []byte) []byte {
	_, _, _, _, off, n, ok := varFields(b)
	if !ok {
		return nil
	}
	return b[off : off+n : off+n]
}

// PatchRecord writes the three fields the store assigns at append time: QUEUEOFFSET,
// PHYSICALOFFSET and STORETIMESTAMP. b must be a record produced by EncodeRecord (or one
// that passed VerifyRecord); one too short to hold the fixed header is a bug in the
// caller and panics rather than leaving a record with placeholder offsets.
func PatchRecord(b []byte, queueOffset, physicalOffset, storeTimestamp int64) {
	ts := storeTSOffset(b)
	if len(b) < ts+8 {
		panic(fmt.Sprintf("message: patch of a %d-byte record, need at least %d", len(b), ts+8))
	}
	be := binary.BigEndian
	be.PutUint64(b[offQueueOffset:], uint64(queueOffset))
	be.PutUint64(b[offPhysicalOffset:], uint64(physicalOffset))
	be.PutUint64(b[ts:], uint64(storeTimestamp))
}

// SetRecordQueueID overwrites QUEUEID in place (the store picks the queue of a record
// whose topic was redirected, such as a delayed message written to SCHEDULE_TOPIC_XXXX).
// It panics on a slice too short to be a record.
func SetRecordQueueID(b []byte, queueID int32) {
	if len(b) < offQueueID+4 {
		panic(fmt.Sprintf("message: set queue id of a %d-byte record", len(b)))
	}
	binary.BigEndian.PutUint32(b[offQueueID:], uint32(queueID))
}

// u32At reads a big-endian uint32 at off, 0 if b is too short.
func u32At(b []byte, off int) uint32 {
	if off < 0 || len(b) < off+4 {
		return 0
	}
	return binary.BigEndian.Uint32(b[off:])
}

// u64At reads a big-endian uint64 at off, 0 if b is too short.
func u64At(b []byte, off int) uint64 {
	if off < 0 || len(b) < off+8 {
		return 0
	}
	return binary.BigEndian.Uint64(b[off:])
}

// hostAt reads an 8- or 20-byte host at off, the zero AddrPort if b is too short. Unlike
// DecodeRecord it does not validate the port; it keeps the low 16 bits.
func hostAt(b []byte, off int, v6 bool) netip.AddrPort {
	n := 4
	if v6 {
		n = 16
	}
	if len(b) < off+n+4 {
		return netip.AddrPort{}
	}
	var a netip.Addr
	if v6 {
		a = netip.AddrFrom16([16]byte(b[off : off+16]))
	} else {
		a = netip.AddrFrom4([4]byte(b[off : off+4]))
	}
	return netip.AddrPortFrom(a, uint16(binary.BigEndian.Uint32(b[off+n:])))
}

// SetRecordReconsumeTimes overwrites RECONSUMETIMES in a record: a POP redelivery
// hands out a copy of the stored record with its delivery attempt counted there.
func SetRecordReconsumeTimes(b []byte, n int32) {
	off := reconsumeOffset(b)
	if len(b) < off+4 {
		panic(fmt.Sprintf("message: set reconsume times of a %d-byte record", len(b)))
	}
	binary.BigEndian.PutUint32(b[off:], uint32(n))
}
