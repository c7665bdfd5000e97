package trace

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

// join builds an expected record from its fields.
func join(fields ...string) string { return strings.Join(fields, "\x01") + "\x02" }

func TestEncodeFieldOrder(t *testing.T) {
	recs := []Record{
		{Type: Pub, Timestamp: 1700000000123, RegionID: "DefaultRegion", Group: "pg", Topic: "T", MsgID: "ID1",
			Tags: "tg", Keys: "k1 k2", StoreHost: "10.0.0.1:10911", BodyLength: 5, CostTime: 3, MsgType: DelayMsg,
			OffsetMsgID: "OFF1", Success: true, ClientHost: "10.0.0.2"},
		{Type: SubBefore, Timestamp: 1700000000200, RegionID: "DefaultRegion", Group: "cg", RequestID: "R1",
			MsgID: "ID1", RetryTimes: 2, ClientHost: "10.0.0.3"},
		{Type: SubAfter, RequestID: "R1", MsgID: "ID1", CostTime: 7, Success: false, Keys: "k1 k2",
			ContextCode: ContextFailed, Timestamp: 1700000000300, Group: "cg"},
		{Type: EndTransaction, Timestamp: 1700000000400, RegionID: "DefaultRegion", Group: "tg", Topic: "T",
			MsgID: "ID2", Tags: "", Keys: "", StoreHost: "10.0.0.1:10911", MsgType: TransMsgHalf,
			TransactionID: "TX", TransactionState: "COMMIT_MESSAGE", FromTransactionCheck: true},
	}
	want := join("Pub", "1700000000123", "DefaultRegion", "pg", "T", "ID1", "tg", "k1 k2", "10.0.0.1:10911", "5", "3", "3", "OFF1", "true", "10.0.0.2") +
		join("SubBefore", "1700000000200", "DefaultRegion", "cg", "R1", "ID1", "2", "null", "10.0.0.3") +
		join("SubAfter", "R1", "ID1", "7", "false", "k1 k2", "4", "1700000000300", "cg") +
		join("EndTransaction", "1700000000400", "DefaultRegion", "tg", "T", "ID2", "", "", "10.0.0.1:10911", "1", "TX", "COMMIT_MESSAGE", "true")
	got := Encode(recs)
	if string(got) != want {
		t.Fatalf("encoding\n got %q\nwant %q", got, want)
	}
	dec, err := Decode(got)
	if err != nil {
		t.Fatal(err)
	}
	recs[1].Keys = "null" // written as Java's null, read back as written
	if !reflect.DeepEqual(dec, recs) {
		t.Fatalf("round trip\n got %+v\nwant %+v", dec, recs)
	}
	if k := recs[0].TransKeys(); !reflect.DeepEqual(k, []string{"ID1", "k1 k2"}) {
		t.Fatalf("trans keys %v", k)
	}
	if k := recs[1].TransKeys(); !reflect.DeepEqual(k, []string{"ID1"}) {
		t.Fatalf("trans keys without keys %v", k)
	}
}

// Java's shorter encodings decode too: a 13- and 14-field Pub, an 8-field SubAfter.
func TestDecodeJavaLengths(t *testing.T) {
	body := join("Pub", "5", "R", "g", "T", "ID", "tg", "k", "h:1", "9", "2", "0", "true") +
		join("Pub", "5", "R", "g", "T", "ID", "tg", "k", "h:1", "9", "2", "0", "OFF", "true") +
		join("SubAfter", "R1", "ID", "4", "true", "null", "0", "6") +
		join("Unknown", "x")
	recs, err := Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || !recs[0].Success || recs[0].OffsetMsgID != "" || recs[1].OffsetMsgID != "OFF" ||
		recs[2].Timestamp != 6 || recs[2].Group != "" || recs[2].CostTime != 4 {
		t.Fatalf("decoded %+v", recs)
	}
	for _, bad := range []string{join("Pub", "5"), join("SubAfter", "R", "ID", "x", "true", "k", "0", "1")} {
		if _, err := Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) accepted", bad)
		}
	}
}

func TestFormatTrace(t *testing.T) {
	at := time.Date(2024, 3, 1, 12, 30, 45, 0, time.Local).UnixMilli()
	recs := []Record{
		{Type: Pub, Timestamp: at, Group: "pg", CostTime: 3, Success: true, ClientHost: "10.0.0.2"},
		{Type: SubBefore, Timestamp: at, Group: "cg", RequestID: "R1", MsgID: "ID", ClientHost: "10.0.0.3"},
		{Type: SubAfter, RequestID: "R1", MsgID: "ID", Timestamp: at + 1000, CostTime: 12, Success: true},
		{Type: SubAfter, RequestID: "R2", MsgID: "ID", Timestamp: at, CostTime: 1, Group: "other", BornHost: "10.0.0.9"},
	}
	var b bytes.Buffer
	if err := FormatTrace(&b, recs); err != nil {
		t.Fatal(err)
	}
	want := "#Type      #ProducerGroup       #ClientHost          #SendTime            #CostTimes #Status   \n" +
		"Pub        pg                   10.0.0.2             2024-03-01 12:30:45  3ms        success   \n" +
		"\n" +
		"#Type      #ConsumerGroup       #ClientHost          #ConsumerTime        #CostTimes #Status   \n" +
		"Sub        cg                   10.0.0.3             2024-03-01 12:30:46  12ms       success   \n" +
		"\n" +
		"#Type      #ConsumerGroup       #ClientHost          #ConsumerTime        #CostTimes #Status   \n" +
		"Sub        other                10.0.0.9             2024-03-01 12:30:45  1ms        failed    \n" +
		"\n"
	if b.String() != want {
		t.Fatalf("output\n%s\nwant\n%s", b.String(), want)
	}
}
