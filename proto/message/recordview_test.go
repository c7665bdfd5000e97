package message

import (
	"bytes"
	"net/netip"
	"testing"
)

// checkView compares every field of a parsed view with the free field readers of
// view.go (an independent walk of the layout) and with the properties DecodeProperties
// reads from the same bytes.
func checkView(t *testing.T, b []byte, v *View, size int) {
	t.Helper()
	rec := b[:size]
	checks := []struct {
		field     string
		got, want any
	}{
		{"size", v.Size(), RecordTotalSize(rec)},
		{"queue id", v.QueueID(), RecordQueueID(rec)},
		{"flag", v.Flag(), RecordFlag(rec)},
		{"queue offset", v.QueueOffset(), RecordQueueOffset(rec)},
		{"physical offset", v.PhysicalOffset(), RecordPhysicalOffset(rec)},
		{"sysflag", v.SysFlag(), RecordSysFlag(rec)},
		{"born ts", v.BornTimestamp(), RecordBornTimestamp(rec)},
		{"born host", v.BornHost(), RecordBornHost(rec)},
		{"store ts", v.StoreTimestamp(), RecordStoreTimestamp(rec)},
		{"store host", v.StoreHost(), RecordStoreHost(rec)},
		{"reconsume", v.ReconsumeTimes(), RecordReconsumeTimes(rec)},
		{"prepared", v.PreparedTransactionOffset(), RecordPreparedTransactionOffset(rec)},
		{"body crc", v.BodyCRC(), RecordBodyCRC(rec)},
		{"body", string(v.Body()), string(RecordBody(rec))},
		{"topic", string(v.TopicBytes()), RecordTopic(rec)},
		{"properties", string(v.RawProperties()), string(RecordProperties(rec))},
		{"offset id", string(v.AppendOffsetMsgID(nil)), OffsetMsgID(RecordStoreHost(rec), RecordPhysicalOffset(rec))},
		{"bytes", string(v.Bytes()), string(rec)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: view %v, full read %v", c.field, c.got, c.want)
		}
	}
	for k, want := range DecodeProperties(string(v.RawProperties())) {
		if got, ok := v.Property(k); !ok || string(got) != want {
			t.Errorf("property %q: view %q (%v), map %q", k, got, ok, want)
		}
	}
	if _, ok := v.Property("\x00absent"); ok {
		t.Error("view found a property that is not there")
	}
	// Ext is the full decode; it must agree with the view and share no memory with it.
	m := v.Ext()
	if m.Topic != string(v.TopicBytes()) || !bytes.Equal(m.Body, v.Body()) || m.StoreHost != v.StoreHost() ||
		m.QueueOffset != v.QueueOffset() || m.ReconsumeTimes != v.ReconsumeTimes() {
		t.Errorf("Ext %+v differs from the view", m)
	}
	if len(m.Body) > 0 && &m.Body[0] == &v.Body()[0] {
		t.Error("Ext shares its body with the record")
	}
}

// TestViewMatchesFullDecode parses varied records — every host family combination,
// empty and large bodies, no properties, duplicate keys — and compares the view with the
// field readers, DecodeRecord and the Ext that was encoded.
func TestViewMatchesFullDecode(t *testing.T) {
	var recs []*Ext
	for _, m := range viewVariants() {
		recs = append(recs, m)
	}
	empty := sampleExt()
	empty.Body, empty.Properties, empty.Topic = nil, nil, ""
	big := sampleExt()
	big.Body = bytes.Repeat([]byte{0xAB}, 70000)
	big.Properties = map[string]string{PropUniqKey: "U1", PropTags: "t", PropKeys: "a b c", "x": "\x01y"}
	recs = append(recs, empty, big)
	for i, m := range recs {
		b := mustEncode(t, m)
		b = append(b, 0xEE) // a following byte the view must not include
		v, size, err := ParseView(b)
		if err != nil || size != len(b)-1 {
			t.Fatalf("record %d: size %d, err %v", i, size, err)
		}
		checkView(t, b, &v, size)
		d, dsize, err := DecodeRecord(b)
		if err != nil || dsize != size || d.Topic != m.Topic || !bytes.Equal(d.Body, m.Body) ||
			d.BornHost != v.BornHost() || d.StoreHost != v.StoreHost() || d.PhysicalOffset != m.PhysicalOffset {
			t.Errorf("record %d: DecodeRecord %+v (%v), encoded %+v", i, d, err, m)
		}
	}
	// A later duplicate key wins, in the view as in the map.
	withDup := sampleExt()
	withDup.Properties = nil
	rec, err := EncodeRecordProps(nil, withDup, "TAGS\x01a\x02TAGS\x01b")
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := ParseView(rec)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := v.Property(PropTags); string(got) != "b" {
		t.Errorf("duplicate TAGS: view %q, want the last one", got)
	}
}

// TestViewBodyCapacity: appending to a view's body must not write into the record.
func TestViewBodyCapacity(t *testing.T) {
	rec := mustEncode(t, sampleExt())
	orig := bytes.Clone(rec)
	v, _, err := ParseView(rec)
	if err != nil {
		t.Fatal(err)
	}
	_ = append(v.Body(), 'X', 'Y', 'Z')
	_ = append(v.TopicBytes(), 'X')
	_ = append(v.RawProperties(), 'X')
	if !bytes.Equal(rec, orig) {
		t.Fatal("append to a view slice changed the record")
	}
}

// TestViewBuildsNoMap: parsing a record and reading its fields and one property
// allocates nothing; no property map is built unless Ext is asked for.
func TestViewBuildsNoMap(t *testing.T) {
	rec := mustEncode(t, benchExt())
	var sink int
	allocs := testing.AllocsPerRun(100, func() {
		v, _, err := ParseView(rec)
		if err != nil {
			t.Fatal(err)
		}
		tags, _ := v.Property(PropTags)
		var id [OffsetMsgIDLenV6]byte
		sink += len(tags) + len(v.Body()) + len(v.TopicBytes()) + int(v.QueueOffset()) +
			len(v.AppendOffsetMsgID(id[:0])) + int(v.StoreHost().Port())
	})
	if allocs != 0 {
		t.Errorf("ParseView and field reads: %.1f allocations, want 0", allocs)
	}
	if allocs := testing.AllocsPerRun(100, func() { v, _, _ := ParseView(rec); _ = v.Ext() }); allocs == 0 {
		t.Error("Ext allocated nothing: the test does not see allocations")
	}
	_ = sink
}

// FuzzView: on any bytes, ParseView and DecodeRecord agree on success, size and error;
// a view that parsed agrees field by field with the free readers.
func FuzzView(f *testing.F) {
	for _, m := range viewVariants() {
		f.Add(mustEncode(f, m))
	}
	f.Add(mustEncode(f, benchExt()))
	f.Add([]byte{0, 0, 0, 8, 0xCB, 0xD4, 0x31, 0x94})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, size, err := ParseView(b)
		_, dsize, derr := DecodeRecord(b)
		if (err == nil) != (derr == nil) || size != dsize {
			t.Fatalf("ParseView %d, %v; DecodeRecord %d, %v", size, err, dsize, derr)
		}
		if err != nil {
			return
		}
		checkView(t, b, &v, size)
	})
}

// FuzzViewOfEncoded: a record encoded from random fields reads back through the view
// as exactly those fields.
func FuzzViewOfEncoded(f *testing.F) {
	f.Add("TopicTest", []byte("body"), "TAGS\x01a\x02KEYS\x01k1 k2", uint8(0), int64(42), int64(4096), int32(3), int32(1))
	f.Add("", []byte{}, "", uint8(3), int64(0), int64(0), int32(0), int32(-1))
	f.Fuzz(func(t *testing.T, topic string, body []byte, props string, hosts uint8, qoff, phys int64, qid, recon int32) {
		born := netip.MustParseAddrPort("10.1.2.3:4567")
		store := netip.MustParseAddrPort("10.0.0.1:10911")
		if hosts&1 != 0 {
			born = netip.MustParseAddrPort("[2001:db8::7]:4567")
		}
		if hosts&2 != 0 {
			store = netip.MustParseAddrPort("[2001:db8::1]:10911")
		}
		m := &Ext{Topic: topic, QueueID: qid, Flag: int32(hosts), QueueOffset: qoff, PhysicalOffset: phys,
			BornTimestamp: phys ^ 77, BornHost: born, StoreTimestamp: qoff ^ 99, StoreHost: store,
			ReconsumeTimes: recon, PreparedTransactionOffset: qoff + phys, Body: body}
		rec, err := EncodeRecordProps(nil, m, props)
		if err != nil {
			return // topic or properties over their limits
		}
		v, size, err := ParseView(rec)
		if err != nil || size != len(rec) {
			t.Fatalf("parse encoded: %d, %v", size, err)
		}
		if string(v.TopicBytes()) != topic || !bytes.Equal(v.Body(), body) || string(v.RawProperties()) != props ||
			v.QueueID() != qid || v.QueueOffset() != qoff || v.PhysicalOffset() != phys || v.ReconsumeTimes() != recon ||
			v.BornHost() != born || v.StoreHost() != store || v.BornTimestamp() != phys^77 ||
			v.StoreTimestamp() != qoff^99 || v.PreparedTransactionOffset() != qoff+phys || v.Flag() != int32(hosts) {
			t.Fatalf("view of %+v (props %q) reads back differently", m, props)
		}
		checkView(t, rec, &v, size)
	})
}
