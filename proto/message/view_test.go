package message

import (
	"bytes"
	"net/netip"
	"testing"
)

// viewVariants returns the sample record with each combination of host families.
func viewVariants() map[string]*Ext {
	v6a := netip.MustParseAddrPort("[2001:db8::1]:50123")
	v6b := netip.MustParseAddrPort("[2001:db8::2]:10911")
	out := map[string]*Ext{}
	for name, hosts := range map[string][2]netip.AddrPort{
		"v4/v4": {sampleExt().BornHost, sampleExt().StoreHost},
		"v6/v4": {v6a, sampleExt().StoreHost},
		"v4/v6": {sampleExt().BornHost, v6b},
		"v6/v6": {v6a, v6b},
	} {
		m := sampleExt()
		m.BornHost, m.StoreHost = hosts[0], hosts[1]
		out[name] = m
	}
	return out
}

func TestRecordViews(t *testing.T) {
	for name, m := range viewVariants() {
		t.Run(name, func(t *testing.T) {
			b := mustEncode(t, m)
			d, _, err := DecodeRecord(b)
			if err != nil {
				t.Fatal(err)
			}
			checks := []struct {
				field     string
				got, want any
			}{
				{"total size", RecordTotalSize(b), len(b)},
				{"magic", RecordMagic(b), MagicV1},
				{"body crc", RecordBodyCRC(b), d.BodyCRC},
				{"queue id", RecordQueueID(b), d.QueueID},
				{"flag", RecordFlag(b), d.Flag},
				{"queue offset", RecordQueueOffset(b), d.QueueOffset},
				{"physical offset", RecordPhysicalOffset(b), d.PhysicalOffset},
				{"sysflag", RecordSysFlag(b), d.SysFlag},
				{"born ts", RecordBornTimestamp(b), d.BornTimestamp},
				{"born host", RecordBornHost(b), d.BornHost},
				{"store ts", RecordStoreTimestamp(b), d.StoreTimestamp},
				{"store host", RecordStoreHost(b), d.StoreHost},
				{"reconsume", RecordReconsumeTimes(b), d.ReconsumeTimes},
				{"prepared", RecordPreparedTransactionOffset(b), d.PreparedTransactionOffset},
				{"topic", RecordTopic(b), d.Topic},
				{"topic bytes", string(RecordTopicBytes(b)), d.Topic},
				{"body", string(RecordBody(b)), string(d.Body)},
				{"properties", string(RecordProperties(b)), EncodeProperties(d.Properties)},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: got %v, want %v", c.field, c.got, c.want)
				}
			}
		})
	}
}

func TestRecordViewsShortInput(t *testing.T) {
	b := mustEncode(t, sampleExt())
	for cut := 0; cut < len(b); cut++ {
		s := b[:cut]
		// None of these may panic; fields entirely inside s still read correctly.
		_ = RecordTotalSize(s) + int(RecordMagic(s)) + int(RecordBodyCRC(s)) + int(RecordQueueID(s)) +
			int(RecordFlag(s)) + int(RecordQueueOffset(s)) + int(RecordPhysicalOffset(s)) + int(RecordSysFlag(s)) +
			int(RecordBornTimestamp(s)) + int(RecordStoreTimestamp(s)) + int(RecordReconsumeTimes(s)) +
			int(RecordPreparedTransactionOffset(s))
		_, _ = RecordBornHost(s), RecordStoreHost(s)
		if p := RecordProperties(s); p != nil {
			t.Fatalf("cut %d: properties view returned %q past the end of the input", cut, p)
		}
		_, _, _ = RecordBody(s), RecordTopic(s), RecordTopicBytes(s)
	}
	if RecordQueueID(b[:16]) != 3 || RecordQueueID(b[:15]) != 0 {
		t.Fatalf("queue id view: got %d and %d, want 3 and 0", RecordQueueID(b[:16]), RecordQueueID(b[:15]))
	}
}

func TestRecordTopicBytesLookupAllocs(t *testing.T) {
	b := mustEncode(t, sampleExt())
	queues := map[string]int{"TopicTest": 7}
	var got int
	if a := testing.AllocsPerRun(100, func() { got = queues[string(RecordTopicBytes(b))] }); a != 0 || got != 7 {
		t.Fatalf("lookup by topic bytes: %v allocs, value %d", a, got)
	}
}

func TestPatchRecord(t *testing.T) {
	for name, m := range viewVariants() {
		t.Run(name, func(t *testing.T) {
			m.QueueOffset, m.PhysicalOffset, m.StoreTimestamp = 0, 0, 0
			b := mustEncode(t, m)
			before := append([]byte{}, b...)
			PatchRecord(b, 1234, 1<<40, 1700000000999)
			d, _, err := DecodeRecord(b)
			if err != nil {
				t.Fatalf("decode after patch: %v", err)
			}
			if d.QueueOffset != 1234 || d.PhysicalOffset != 1<<40 || d.StoreTimestamp != 1700000000999 {
				t.Fatalf("patched fields: got %d %d %d", d.QueueOffset, d.PhysicalOffset, d.StoreTimestamp)
			}
			// Everything else is untouched.
			m.QueueOffset, m.PhysicalOffset, m.StoreTimestamp = 1234, 1<<40, 1700000000999
			m.BodyCRC = BodyCRC(m.Body)
			m.SysFlag = hostSysFlag(m.SysFlag, m.BornHost, m.StoreHost)
			equalExt(t, d, m)
			diff := 0
			for i := range b {
				if b[i] != before[i] {
					diff++
				}
			}
			if diff == 0 || diff > 24 {
				t.Fatalf("patch changed %d bytes, want 1..24", diff)
			}
			SetRecordQueueID(b, 9)
			if RecordQueueID(b) != 9 {
				t.Fatalf("SetRecordQueueID: got %d", RecordQueueID(b))
			}
			if _, err := VerifyRecord(b); err != nil {
				t.Fatalf("verify after patch: %v", err)
			}
		})
	}
	defer func() {
		if recover() == nil {
			t.Fatalf("PatchRecord on 10 bytes did not panic")
		}
	}()
	PatchRecord(make([]byte, 10), 1, 2, 3)
}

func TestRecordBodyIsCapped(t *testing.T) {
	b := mustEncode(t, sampleExt())
	body := RecordBody(b)
	body = append(body, 'X') // must not overwrite the topic length byte
	if _, err := VerifyRecord(b); err != nil || bytes.Contains(b, []byte("rocketgoX")) {
		t.Fatalf("append to body view changed the record: %v", err)
	}
	_ = body
}
