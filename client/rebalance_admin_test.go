package client

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
)

func TestDecodeResetOffsetBody(t *testing.T) {
	want := map[MessageQueue]int64{
		{Topic: "T", BrokerName: "b", QueueID: 0}: 5,
		{Topic: "T", BrokerName: "b", QueueID: 1}: 7,
	}
	for name, in := range map[string]string{
		"fastjson": `{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:5,{"brokerName":"b","queueId":1,"topic":"T"}:7}}`,
		"spaces":   "{ \"offsetTable\" : { {\"topic\":\"T\",\"brokerName\":\"b\",\"queueId\":0} : 5 ,\n {\"brokerName\":\"b\",\"queueId\":1,\"topic\":\"T\"}:7 } }",
		"gson":     `{"offsetTable":[[{"brokerName":"b","queueId":0,"topic":"T"},5],[{"brokerName":"b","queueId":1,"topic":"T"},7]]}`,
	} {
		got, err := decodeResetOffsetBody([]byte(in))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(got) != len(want) || got[MessageQueue{Topic: "T", BrokerName: "b", QueueID: 1}] != 7 || got[MessageQueue{Topic: "T", BrokerName: "b", QueueID: 0}] != 5 {
			t.Errorf("%s: got %v", name, got)
		}
	}
	for name, in := range map[string]string{
		"empty":       ``,
		"no table":    `{"x":1}`,
		"bad key":     `{"offsetTable":{"T":5}}`,
		"negative":    `{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:-1}}`,
		"no topic":    `{"offsetTable":{{"brokerName":"b","queueId":0}:1}}`,
		"truncated":   `{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:5,`,
		"short pair":  `{"offsetTable":[[{"brokerName":"b","queueId":0,"topic":"T"}]]}`,
		"float":       `{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:1.5}}`,
		"missing sep": `{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:1 {"brokerName":"b","queueId":1,"topic":"T"}:2}}`,
	} {
		if _, err := decodeResetOffsetBody([]byte(in)); !errors.Is(err, ErrBadResetBody) {
			t.Errorf("%s: %v, want ErrBadResetBody", name, err)
		}
	}
}

// FuzzResetOffsetBody: decoding never panics; whatever decodes re-encodes (fastjson
// form) to a body that decodes to the same table.
func FuzzResetOffsetBody(f *testing.F) {
	f.Add([]byte(`{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:5,{"brokerName":"b","queueId":1,"topic":"T"}:7}}`))
	f.Add([]byte(`{"offsetTable":[[{"brokerName":"b","queueId":0,"topic":"T"},5]]}`))
	f.Add([]byte(`{"offsetTable":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeResetOffsetBody(data)
		if err != nil {
			if !errors.Is(err, ErrBadResetBody) {
				t.Fatalf("error does not wrap ErrBadResetBody: %v", err)
			}
			return
		}
		enc := append([]byte(`{"offsetTable":`), appendMQTable(nil, m, func(dst []byte, v int64) []byte {
			return append(dst, []byte(jsonInt(v))...)
		})...)
		enc = append(enc, '}')
		m2, err := decodeResetOffsetBody(enc)
		if err != nil {
			t.Fatalf("re-encoded body does not decode: %v\n%s", err, enc)
		}
		if len(m2) != len(m) {
			t.Fatalf("round trip: %d → %d entries", len(m), len(m2))
		}
		for k, v := range m {
			if m2[k] != v {
				t.Fatalf("round trip of %v: %d → %d", k, v, m2[k])
			}
		}
	})
}

func jsonInt(v int64) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestAdminRequestsFromBroker drives the three broker-started admin requests at a
// running consumer: status (221), running info (307) and a reset (220) that makes the
// consumer re-read a queue from an earlier offset and commit it.
func TestAdminRequestsFromBroker(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startConsumerBroker(t, ns, "T", 1, "g")
	b.add(t, "T", 0, "", "m0", "m1", "m2", "m3")
	rec := &recorder{}
	pc := newFakePush(t, ns, "g")
	startFake(t, pc, "T", SelectAll, rec.listen)
	testutil.Eventually(t, 5*time.Second, "4 messages", func() bool { return len(rec.got()) == 4 })
	testutil.Eventually(t, 5*time.Second, "commit 4", func() bool { off, _ := b.committedOffset("T", 0); return off == 4 })

	resp := b.toClient(t, code.GetConsumerStatusFromClient, map[string]string{"topic": "T", "group": "g"}, nil)
	if want := `{"messageQueueTable":{{"brokerName":"broker-f","queueId":0,"topic":"T"}:4}}`; resp.Code != code.Success || string(resp.Body) != want {
		t.Errorf("status: code %d body %s, want %s", resp.Code, resp.Body, want)
	}
	resp = b.toClient(t, code.GetConsumerRunningInfo, map[string]string{"consumerGroup": "g", "clientId": pc.ClientID()}, nil)
	body := string(resp.Body)
	if resp.Code != code.Success || !strings.Contains(body, `{"brokerName":"broker-f","queueId":0,"topic":"T"}:{"commitOffset":4,`) ||
		!strings.Contains(body, `"PROP_CONSUME_TYPE":"CONSUME_PASSIVELY"`) || !strings.Contains(body, `"subscriptionSet":[`) {
		t.Errorf("running info: code %d body %s", resp.Code, body)
	}
	if resp := b.toClient(t, code.GetConsumerRunningInfo, map[string]string{"consumerGroup": "g", "clientId": "other@1"}, nil); resp.Code != code.SystemError {
		t.Errorf("running info for another client: code %d", resp.Code)
	}

	b.toClient(t, code.ResetConsumerClientOffset, map[string]string{"topic": "T", "group": "g", "timestamp": "0", "isForce": "true"},
		[]byte(`{"offsetTable":{{"brokerName":"broker-f","queueId":0,"topic":"T"}:2}}`))
	testutil.Eventually(t, 5*time.Second, "m2 and m3 again", func() bool { return len(rec.got()) == 6 })
	if got := rec.got()[4:]; !slices.Contains(got, "m2") || !slices.Contains(got, "m3") {
		t.Errorf("after reset got %v", got)
	}
	testutil.Eventually(t, 5*time.Second, "commit 4 again", func() bool { off, _ := b.committedOffset("T", 0); return off == 4 })
}

// TestConsumeDirectly sends CONSUME_MESSAGE_DIRECTLY with a stored record, and with an
// empty body (which panics the official client).
func TestConsumeDirectly(t *testing.T) {
	ns := startFakeNamesrv(t)
	b := startConsumerBroker(t, ns, "T", 1, "g")
	b.add(t, "T", 0, "", "m0")
	rec := &recorder{}
	pc := newFakePush(t, ns, "g")
	startFake(t, pc, "T", SelectAll, rec.listen)
	testutil.Eventually(t, 5*time.Second, "m0", func() bool { return len(rec.got()) == 1 })
	b.mu.Lock()
	record := append([]byte(nil), b.records[0][0]...)
	b.mu.Unlock()
	ext := map[string]string{"consumerGroup": "g", "clientId": pc.ClientID(), "msgId": "x", "brokerName": "broker-f"}
	resp := b.toClient(t, code.ConsumeMessageDirectly, ext, record)
	var res consumeDirectlyResult
	if resp.Code != code.Success || json.Unmarshal(resp.Body, &res) != nil || res.ConsumeResult != "CR_SUCCESS" {
		t.Fatalf("consume directly: code %d body %s", resp.Code, resp.Body)
	}
	if got := rec.got(); !slices.Equal(got, []string{"m0", "m0"}) {
		t.Errorf("listener saw %v", got)
	}
	if resp := b.toClient(t, code.ConsumeMessageDirectly, ext, nil); resp.Code != code.SystemError {
		t.Errorf("empty body: code %d", resp.Code)
	}
}
