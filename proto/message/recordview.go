package message

import (
	"encoding/binary"
	"net/netip"
	"slices"
)

// View is one verified record read in place: the checks of DecodeRecord are done once by
// ParseView, the fixed fields are read on demand from the record bytes, and the body,
// topic and properties are slices of them. Nothing is copied and no property map is
// built unless Ext is called, so a consumer can decode a whole pull answer with no
// per-record allocation and read only what it needs (the tags for filtering, say).
//
// A View is valid as long as the bytes it was parsed from are neither modified nor
// reused.
type View struct {
	rec   []byte // exactly TOTALSIZE bytes
	l     layout
	born  netip.AddrPort
	store netip.AddrPort
}

// ParseView checks the record at the start of b exactly as DecodeRecord does (framing,
// body CRC, ports) and returns a view over it with its TOTALSIZE. Errors are DecodeRecord's.
func ParseView(b []byte) (View, int, error) {
	l, err := verify(b)
	if err != nil {
		return View{}, l.size, err
	}
	rec := b[:l.size:l.size]
	born, err := readHost(rec, offBornHost, l.sysFlag&FlagBornHostV6 != 0, "born host")
	if err != nil {
		return View{}, l.size, err
	}
	store, err := readHost(rec, l.store, l.sysFlag&FlagStoreHostV6 != 0, "store host")
	if err != nil {
		return View{}, l.size, err
	}
	return View{rec: rec, l: l, born: born, store: store}, l.size, nil
}

// Bytes returns the whole record.
func (v *View) Bytes() []byte { return v.rec }

// Size returns TOTALSIZE.
func (v *View) Size() int { return v.l.size }

// QueueID returns QUEUEID.
func (v *View) QueueID() int32 { return int32(binary.BigEndian.Uint32(v.rec[offQueueID:])) }

// Flag returns the user FLAG.
func (v *View) Flag() int32 { return int32(binary.BigEndian.Uint32(v.rec[offFlag:])) }

// QueueOffset returns QUEUEOFFSET.
func (v *View) QueueOffset() int64 { return int64(binary.BigEndian.Uint64(v.rec[offQueueOffset:])) }

// PhysicalOffset returns PHYSICALOFFSET.
func (v *View) PhysicalOffset() int64 {
	return int64(binary.BigEndian.Uint64(v.rec[offPhysicalOffset:]))
}

// SysFlag returns SYSFLAG.
func (v *View) SysFlag() int32 { return v.l.sysFlag }

// BornTimestamp returns BORNTIMESTAMP (ms).
func (v *View) BornTimestamp() int64 {
	return int64(binary.BigEndian.Uint64(v.rec[offBornTimestamp:]))
}

// BornHost returns BORNHOST.
func (v *View) BornHost() netip.AddrPort { return v.born }

// StoreTimestamp returns STORETIMESTAMP (ms).
func (v *View) StoreTimestamp() int64 { return int64(binary.BigEndian.Uint64(v.rec[v.l.storeTS:])) }

// StoreHost returns STOREHOST.
func (v *View) StoreHost() netip.AddrPort { return v.store }

// ReconsumeTimes returns RECONSUMETIMES.
func (v *View) ReconsumeTimes() int32 { return int32(binary.BigEndian.Uint32(v.rec[v.l.reconsum:])) }

// PreparedTransactionOffset returns PREPAREDTRANSACTIONOFFSET.
func (v *View) PreparedTransactionOffset() int64 {
	return int64(binary.BigEndian.Uint64(v.rec[v.l.reconsum+4:]))
}

// BodyCRC returns the stored BODYCRC (ParseView checked it against the body).
func (v *View) BodyCRC() uint32 { return binary.BigEndian.Uint32(v.rec[offBodyCRC:]) }

// Body returns the stored body (compressed if FlagCompressed), a slice of the record
// whose capacity ends with the body, so appending to it never overwrites the record.
func (v *View) Body() []byte {
	end := v.l.bodyOff + v.l.bodyLen
	return v.rec[v.l.bodyOff:end:end]
}

// TopicBytes returns the topic, a slice of the record.
func (v *View) TopicBytes() []byte {
	end := v.l.topicOff + v.l.topicLen
	return v.rec[v.l.topicOff:end:end]
}

// RawProperties returns the encoded properties, a slice of the record.
func (v *View) RawProperties() []byte {
	end := v.l.propsOff + v.l.propsLen
	return v.rec[v.l.propsOff:end:end]
}

// Property returns the value of key as a slice of the record (the last occurrence wins,
// as DecodeProperties keeps it), without building a map or allocating.
func (v *View) Property(key string) ([]byte, bool) { return PropertyView(v.RawProperties(), key) }

// AppendOffsetMsgID appends the offset message id of the record (OffsetMsgID of the
// store host and physical offset) to dst.
func (v *View) AppendOffsetMsgID(dst []byte) []byte {
	var raw [28]byte
	b := appendHost(raw[:0], v.store)
	b = binary.BigEndian.AppendUint64(b, uint64(v.PhysicalOffset()))
	return appendHexUpper(dst, b)
}

// Ext returns the fully decoded record, sharing no memory with the view.
func (v *View) Ext() *Ext {
	m := &Ext{
		Topic:                     string(v.TopicBytes()),
		QueueID:                   v.QueueID(),
		Flag:                      v.Flag(),
		QueueOffset:               v.QueueOffset(),
		PhysicalOffset:            v.PhysicalOffset(),
		SysFlag:                   v.l.sysFlag,
		BornTimestamp:             v.BornTimestamp(),
		BornHost:                  v.born,
		StoreTimestamp:            v.StoreTimestamp(),
		StoreHost:                 v.store,
		ReconsumeTimes:            v.ReconsumeTimes(),
		PreparedTransactionOffset: v.PreparedTransactionOffset(),
		BodyCRC:                   v.BodyCRC(),
		Body:                      slices.Clone(v.Body()),
		Properties:                DecodeProperties(string(v.RawProperties())),
	}
	if m.Body == nil {
		m.Body = []byte{}
	}
	return m
}
