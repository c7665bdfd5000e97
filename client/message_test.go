package client

import (
	"bytes"
	"errors"
	"maps"
	"net/netip"
	"testing"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/message"
)

// testRecord encodes one v1 record for the decoding tests.
func testRecord(t testing.TB, m *message.Ext) []byte {
	t.Helper()
	b, err := message.EncodeRecord(nil, m)
	if err != nil {
		t.Fatalf("encode record: %v", err)
	}
	return b
}

func sampleExt(queueOffset int64, bodyBytes []byte, props map[string]string) *message.Ext {
	return &message.Ext{
		Topic:          "T",
		QueueID:        3,
		Flag:           11,
		QueueOffset:    queueOffset,
		PhysicalOffset: 1000 + queueOffset*200,
		BornTimestamp:  1_700_000_000_000,
		BornHost:       netip.MustParseAddrPort("10.0.0.1:5555"),
		StoreTimestamp: 1_700_000_000_123,
		StoreHost:      netip.MustParseAddrPort("10.0.0.2:10911"),
		ReconsumeTimes: 2,
		Body:           bodyBytes,
		Properties:     props,
	}
}

func TestDecodeMessages(t *testing.T) {
	big := bytes.Repeat([]byte("zip me "), 1000)
	zipped, err := message.Compress(big, 5)
	if err != nil {
		t.Fatal(err)
	}
	e0 := sampleExt(0, []byte("plain"), map[string]string{"UNIQ_KEY": "ABC", "TAGS": "t1", "KEYS": "k1 k2"})
	e1 := sampleExt(1, zipped, map[string]string{"TAGS": "t2"})
	e1.SysFlag = message.FlagCompressed
	e2 := sampleExt(2, []byte("not zlib"), nil)
	e2.SysFlag = message.FlagCompressed // a body that fails to inflate is kept as stored
	run := append(append(testRecord(t, e0), testRecord(t, e1)...), testRecord(t, e2)...)

	msgs, err := DecodeMessages(run)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if len(msgs) != 3 {
		t.Fatalf("got %d messages", len(msgs))
	}
	m0, m1, m2 := msgs[0], msgs[1], msgs[2]
	if m0.MsgID != "ABC" || m0.Tags() != "t1" || len(m0.Keys()) != 2 || string(m0.Body) != "plain" {
		t.Fatalf("m0: %v keys %v", m0, m0.Keys())
	}
	wantOff := message.OffsetMsgID(e0.StoreHost, e0.PhysicalOffset)
	if m0.OffsetMsgID != wantOff || m0.CommitLogOffset != 1000 || m0.QueueOffset != 0 || m0.Queue.QueueID != 3 ||
		m0.Flag != 11 || m0.ReconsumeTimes != 2 || m0.StoreHost != e0.StoreHost || m0.BornHost != e0.BornHost ||
		m0.BornTimestamp != e0.BornTimestamp || m0.StoreTimestamp != e0.StoreTimestamp || int(m0.StoreSize) != len(testRecord(t, e0)) {
		t.Fatalf("m0 fields: %+v", m0)
	}
	if !bytes.Equal(m1.Body, big) || m1.MsgID != m1.OffsetMsgID || m1.QueueOffset != 1 {
		t.Fatalf("m1: %d bytes, msgId %s", len(m1.Body), m1.MsgID)
	}
	if string(m2.Body) != "not zlib" {
		t.Fatalf("m2 body: %q", m2.Body)
	}

	// A corrupt record ends the run: what came before is returned with the error.
	bad := append(testRecord(t, e0), 0, 0, 0, 40, 1, 2, 3, 4)
	msgs, err = DecodeMessages(bad)
	if !errors.Is(err, ErrBadResponse) || len(msgs) != 1 {
		t.Fatalf("corrupt tail: %d messages, err %v", len(msgs), err)
	}
	if msgs, err := DecodeMessages(nil); err != nil || len(msgs) != 0 {
		t.Fatalf("empty: %v %v", msgs, err)
	}
}

func TestMessageBuilders(t *testing.T) {
	m := NewMessage("T", []byte("b")).WithTags("x").WithKeys("a", "b").WithDelayLevel(3).WithShardingKey("s")
	if m.Tags() != "x" || len(m.Keys()) != 2 || m.DelayLevel() != 3 || m.ShardingKey() != "s" {
		t.Fatalf("builders: %v", m)
	}
	m.WithDelayLevel(0).WithTags("")
	if m.DelayLevel() != 0 || m.Tags() != "" || m.Property("DELAY") != "" {
		t.Fatalf("removal: %v", m.Properties)
	}
	var empty Message
	if empty.Keys() != nil || empty.Tags() != "" {
		t.Fatal("zero message accessors")
	}
}

// FuzzDecodeMessages: never panics; every message decoded re-encodes (with its inflated
// body stored plain) to a record that decodes to the same message.
func FuzzDecodeMessages(f *testing.F) {
	zipped, _ := message.Compress(bytes.Repeat([]byte("abc"), 2000), 5)
	e1 := sampleExt(1, zipped, map[string]string{"TAGS": "t"})
	e1.SysFlag = message.FlagCompressed
	e2 := sampleExt(2, []byte("x"), nil)
	e2.StoreHost = netip.MustParseAddrPort("[2001:db8::1]:10911")
	f.Add(testRecord(f, sampleExt(0, []byte("hello"), map[string]string{"UNIQ_KEY": "U"})))
	f.Add(append(testRecord(f, e1), testRecord(f, e2)...))
	dup := sampleExt(3, []byte("d"), nil)
	f.Add(append(testRecord(f, dup), testRecord(f, sampleExt(4, []byte("e"), map[string]string{"TAGS": "a", "UNIQ_KEY": "U4"}))...))
	f.Add([]byte{0, 0, 0, 8, 0xCB, 0xD4, 0x31, 0x94})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, _ := DecodeMessages(b)
		for _, m := range msgs {
			// Reading one property in place agrees with the map of them all.
			all := m.Properties()
			for k, v := range all {
				if got := m.Property(k); got != v {
					t.Fatalf("Property(%q) = %q, map has %q", k, got, v)
				}
			}
			if m.Tags() != all[message.PropTags] || (all[message.PropUniqKey] != "" && m.MsgID != all[message.PropUniqKey]) {
				t.Fatalf("tags %q / id %q disagree with %v", m.Tags(), m.MsgID, all)
			}
			ext := &message.Ext{
				Topic: m.Topic, QueueID: m.Queue.QueueID, Flag: m.Flag, QueueOffset: m.QueueOffset,
				PhysicalOffset: m.CommitLogOffset, SysFlag: m.SysFlag &^ message.FlagCompressed,
				BornTimestamp: m.BornTimestamp, BornHost: m.BornHost, StoreTimestamp: m.StoreTimestamp,
				StoreHost: m.StoreHost, ReconsumeTimes: m.ReconsumeTimes,
				PreparedTransactionOffset: m.PreparedTransactionOffset, Body: m.Body, Properties: m.Properties(),
			}
			rec, err := message.EncodeRecord(nil, ext)
			if err != nil {
				t.Fatalf("re-encode %v: %v", m, err)
			}
			again, err := DecodeMessages(rec)
			if err != nil || len(again) != 1 {
				t.Fatalf("decode re-encoded: %v (%d)", err, len(again))
			}
			a := again[0]
			if a.Topic != m.Topic || a.QueueOffset != m.QueueOffset || a.CommitLogOffset != m.CommitLogOffset ||
				!bytes.Equal(a.Body, m.Body) || !maps.Equal(a.Properties(), m.Properties()) || a.MsgID != m.MsgID ||
				a.OffsetMsgID != m.OffsetMsgID || a.StoreHost != m.StoreHost || a.BornHost != m.BornHost ||
				a.Flag != m.Flag || a.ReconsumeTimes != m.ReconsumeTimes {
				t.Fatalf("round trip: %v became %v", m, a)
			}
		}
	})
}

// FuzzRouteEntry: whatever route body the NameServer sends, deriving queues and picking
// one never panics, publish queues all sit on brokers with a master, and the queue
// counts respect the route.
func FuzzRouteEntry(f *testing.F) {
	f.Add([]byte(`{"queueDatas":[{"brokerName":"a","readQueueNums":4,"writeQueueNums":4,"perm":6,"topicSysFlag":0}],"brokerDatas":[{"cluster":"C","brokerName":"a","brokerAddrs":{"0":"127.0.0.1:10911"}}]}`))
	f.Add([]byte(`{"queueDatas":[{"brokerName":"a","readQueueNums":-4,"writeQueueNums":99999999,"perm":7}],"brokerDatas":[{"brokerName":"a","brokerAddrs":{1:"x"}}]}`))
	f.Add([]byte(`{"queueDatas":[],"brokerDatas":[]}`))
	f.Add([]byte(`{"brokerDatas":[{"brokerName":"b","brokerAddrs":{}}],"queueDatas":[{"brokerName":"b","writeQueueNums":2,"perm":2}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := body.DecodeTopicRouteData(b)
		if err != nil {
			return
		}
		e := newRouteEntry("T", r, "", testTime)
		masters := map[string]bool{}
		for _, bd := range r.BrokerDatas {
			if bd.BrokerAddrs[0] != "" {
				masters[bd.BrokerName] = true
			}
		}
		for _, q := range e.pub {
			if !masters[q.BrokerName] || q.QueueID < 0 || q.QueueID >= maxQueuesPerBroker {
				t.Fatalf("publish queue %v without master or out of range", q)
			}
		}
		if len(e.pub) > 0 {
			var ctr atomicCounter
			for i := 0; i < 3; i++ {
				q := pickQueue(e.pub, &ctr.Uint32, "", nil)
				if q.Topic != "T" {
					t.Fatalf("picked %v", q)
				}
			}
		}
		_ = borrowDefaultRoute(r)
		_ = sameRoute(r, r)
	})
}
