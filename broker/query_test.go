package broker

import (
	"bytes"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/broker/internal/query"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/store"
)

// putMessage appends one message straight to the store and returns where it went and
// the stored bytes.
func (e *regEnv) putMessage(topic string, queueID int32, props map[string]string, payload string) (store.PutResult, []byte) {
	e.t.Helper()
	m := &message.Ext{
		Topic:         topic,
		QueueID:       queueID,
		BornTimestamp: time.Now().UnixMilli(),
		BornHost:      netip.MustParseAddrPort("127.0.0.1:5555"),
		StoreHost:     e.b.storeHost(),
		Body:          []byte(payload),
		Properties:    props,
	}
	rec, err := message.EncodeRecord(nil, m)
	if err != nil {
		e.t.Fatal(err)
	}
	res, err := e.b.store.Put(rec)
	if err != nil {
		e.t.Fatalf("put: %v", err)
	}
	stored, err := e.b.store.ReadRecord(res.PhysicalOffset)
	if err != nil {
		e.t.Fatalf("read back %d: %v", res.PhysicalOffset, err)
	}
	return res, append([]byte(nil), stored...)
}

func queryExt(topic, key string, maxNum int) map[string]string {
	return map[string]string{
		"topic": topic, "key": key, "maxNum": strconv.Itoa(maxNum),
		"beginTimestamp": "0", "endTimestamp": strconv.FormatInt(math.MaxInt64, 10),
	}
}

// queryUntilFound polls QUERY_MESSAGE until it finds want records: the key index is
// built by the dispatcher after the append.
func (e *regEnv) queryUntilFound(ext map[string]string, want int) *codec.Command {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp := e.call(e.cli, code.QueryMessage, ext, nil)
		if resp.Code == code.Success && countRecords(e.t, resp.Body) >= want {
			return resp
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("query %v: code %d %q after 5s", ext, resp.Code, resp.Remark)
		}
		time.Sleep(10 * time.Millisecond) // poll interval, not synchronization
	}
}

// splitRecords cuts a query body into records by TOTALSIZE.
func splitRecords(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(b) > 0 {
		m, n, err := message.DecodeRecord(b)
		if err != nil || m == nil {
			t.Fatalf("record %d of body: %v", len(out), err)
		}
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

func countRecords(t *testing.T, b []byte) int { return len(splitRecords(t, b)) }

func TestQueryMessageByKey(t *testing.T) {
	e := startRegistryBroker(t, nil)
	_, r1 := e.putMessage("QT", 0, map[string]string{message.PropKeys: "order-1 shared", message.PropUniqKey: "U1"}, "first")
	_, r2 := e.putMessage("QT", 1, map[string]string{message.PropKeys: "order-2 shared", message.PropUniqKey: "U2"}, "second")
	e.putMessage("OTHER", 0, map[string]string{message.PropKeys: "shared"}, "other topic")

	resp := e.queryUntilFound(queryExt("QT", "shared", 32), 2)
	recs := splitRecords(t, resp.Body)
	if len(recs) != 2 || !bytes.Equal(recs[0], r2) || !bytes.Equal(recs[1], r1) {
		t.Fatalf("query shared: got %d records, want [second, first] exactly as stored", len(recs))
	}
	if resp.ExtFields["indexLastUpdatePhyoffset"] != strconv.FormatInt(e.b.store.MaxPhysicalOffset(), 10) {
		t.Fatalf("indexLastUpdatePhyoffset: got %q, want %d", resp.ExtFields["indexLastUpdatePhyoffset"], e.b.store.MaxPhysicalOffset())
	}
	if ts, err := strconv.ParseInt(resp.ExtFields["indexLastUpdateTimestamp"], 10, 64); err != nil || ts != message.RecordStoreTimestamp(r2) {
		t.Fatalf("indexLastUpdateTimestamp: got %q, want %d", resp.ExtFields["indexLastUpdateTimestamp"], message.RecordStoreTimestamp(r2))
	}

	resp = e.queryUntilFound(queryExt("QT", "order-1", 32), 1)
	if recs := splitRecords(t, resp.Body); len(recs) != 1 || !bytes.Equal(recs[0], r1) {
		t.Fatalf("query order-1: got %d records", len(recs))
	}
	// maxNum bounds the answer.
	resp = e.queryUntilFound(queryExt("QT", "shared", 1), 1)
	if recs := splitRecords(t, resp.Body); len(recs) != 1 || !bytes.Equal(recs[0], r2) {
		t.Fatalf("query maxNum 1: got %d records, want the newest", len(recs))
	}
	// By unique key, with the unique-key flag.
	ext := queryExt("QT", "U1", 1)
	ext[query.UniqueKeyFlag] = "true"
	resp = e.queryUntilFound(ext, 1)
	if recs := splitRecords(t, resp.Body); len(recs) != 1 || !bytes.Equal(recs[0], r1) {
		t.Fatalf("query U1: got %d records", len(recs))
	}

	resp = e.call(e.cli, code.QueryMessage, queryExt("QT", "missing", 32), nil)
	if resp.Code != code.QueryNotFound || resp.Remark == "" || len(resp.Body) != 0 {
		t.Fatalf("missing key: code %d remark %q body %d bytes", resp.Code, resp.Remark, len(resp.Body))
	}
	resp = e.call(e.cli, code.QueryMessage, map[string]string{"topic": "QT"}, nil)
	if resp.Code != code.SystemError || !strings.Contains(resp.Remark, "key") {
		t.Fatalf("missing header keys: code %d remark %q", resp.Code, resp.Remark)
	}
}

func TestViewMessageByID(t *testing.T) {
	e := startRegistryBroker(t, nil)
	e.putMessage("VT", 0, nil, "zero")
	res, rec := e.putMessage("VT", 0, map[string]string{message.PropTags: "tagA"}, "one")

	resp := e.call(e.cli, code.ViewMessageByID, map[string]string{"offset": strconv.FormatInt(res.PhysicalOffset, 10)}, nil)
	if resp.Code != code.Success || !bytes.Equal(resp.Body, rec) {
		t.Fatalf("view %d: code %d, body %d bytes, want the stored record", res.PhysicalOffset, resp.Code, len(resp.Body))
	}
	m, _, err := message.DecodeRecord(resp.Body)
	if err != nil || string(m.Body) != "one" || m.Properties[message.PropTags] != "tagA" {
		t.Fatalf("view decode: %+v, %v", m, err)
	}

	for _, off := range []int64{res.PhysicalOffset + 1, 1 << 40, -5} {
		resp = e.call(e.cli, code.ViewMessageByID, map[string]string{"offset": strconv.FormatInt(off, 10)}, nil)
		if resp.Code != code.SystemError || !strings.Contains(resp.Remark, "can not find message by the offset") {
			t.Fatalf("view bogus offset %d: code %d remark %q", off, resp.Code, resp.Remark)
		}
	}
	if resp := e.call(e.cli, code.ViewMessageByID, map[string]string{"offset": "x"}, nil); resp.Code != code.SystemError {
		t.Fatalf("view non-numeric offset: code %d", resp.Code)
	}
}
