package header

import (
	"reflect"
	"strconv"
	"testing"

	"github.com/rocketgo/rocketgo/proto/code"
)

// The maps below are the exact extFields the official Go client v2.1.2 puts on the wire
// (internal/request.go Encode methods, filled as producer/producer.go, consumer/*.go and
// admin/admin.go fill them). Property strings use 0x01 between name and value and 0x02
// after each pair.

var goSend = map[string]string{
	"producerGroup":         "pg",
	"topic":                 "TopicA",
	"queueId":               "3",
	"sysFlag":               "0",
	"bornTimestamp":         "1690000000123",
	"flag":                  "0",
	"reconsumeTimes":        "0",
	"unitMode":              "false",
	"maxReconsumeTimes":     "0",
	"defaultTopic":          "TBW102",
	"defaultTopicQueueNums": "4",
	"batch":                 "false",
	"properties":            "UNIQ_KEY\x017F0000010B3A18B4AAC2545E7A1E0000\x02TAGS\x01tagA\x02KEYS\x01order-1\x02",
}

var goSendHalf = map[string]string{
	"producerGroup":         "txpg",
	"topic":                 "TopicTx",
	"queueId":               "0",
	"sysFlag":               "4",
	"bornTimestamp":         "1690000000999",
	"flag":                  "0",
	"reconsumeTimes":        "0",
	"unitMode":              "false",
	"maxReconsumeTimes":     "0",
	"defaultTopic":          "TBW102",
	"defaultTopicQueueNums": "4",
	"batch":                 "false",
	"properties":            "TRAN_MSG\x01true\x02PGROUP\x01txpg\x02UNIQ_KEY\x017F0000010B3A18B4AAC2545E7A1E0001\x02",
}

var goBatch = map[string]string{
	"a": "pg",
	"b": "TopicA",
	"c": "TBW102",
	"d": "4",
	"e": "1",
	"f": "0",
	"g": "1690000000456",
	"h": "0",
	"i": "",
	"j": "0",
	"k": "false",
	"l": "0",
	"m": "true",
}

var goPullPush = map[string]string{
	"consumerGroup":        "cg",
	"topic":                "TopicA",
	"queueId":              "2",
	"queueOffset":          "128",
	"maxMsgNums":           "32",
	"sysFlag":              "3",
	"commitOffset":         "120",
	"suspendTimeoutMillis": "20000",
	"subscription":         "",
	"subVersion":           "0",
	"expressionType":       "TAG",
}

var goPullPullConsumer = map[string]string{
	"consumerGroup":        "cg",
	"topic":                "%RETRY%cg",
	"queueId":              "0",
	"queueOffset":          "0",
	"maxMsgNums":           "16",
	"sysFlag":              "6",
	"commitOffset":         "0",
	"suspendTimeoutMillis": "20000",
	"subscription":         "*",
	"subVersion":           "0",
	"expressionType":       "TAG",
}

// TestGoClientSend decodes the single-message SEND header.
func TestGoClientSend(t *testing.T) {
	h, err := DecodeSend(code.SendMessage, goSend)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	want := SendMessageRequestV2{SendMessageRequest: SendMessageRequest{
		ProducerGroup: "pg", Topic: "TopicA", DefaultTopic: "TBW102", DefaultTopicQueueNums: 4,
		QueueID: 3, SysFlag: 0, BornTimestamp: 1690000000123, Flag: 0,
		Properties:     goSend["properties"],
		ReconsumeTimes: 0, UnitMode: false, Batch: false, MaxReconsumeTimes: Int32(0),
	}}
	if !reflect.DeepEqual(h, want) {
		t.Fatalf("got %+v, want %+v", h, want)
	}
	// The long form read directly gives the same fields.
	var long SendMessageRequest
	if err := long.Decode(goSend); err != nil || !reflect.DeepEqual(long, want.SendMessageRequest) {
		t.Fatalf("long decode: got %+v, %v", long, err)
	}
	// Our encoding of it is exactly what the client sent: same keys, same strings.
	if got := long.Encode(); !reflect.DeepEqual(got, goSend) {
		t.Fatalf("re-encode: got %q, want %q", got, goSend)
	}
}

// TestGoClientSendHalf decodes the half-message SEND of a transaction producer.
func TestGoClientSendHalf(t *testing.T) {
	var h SendMessageRequest
	if err := h.Decode(goSendHalf); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if h.SysFlag != 4 || h.ProducerGroup != "txpg" || h.Topic != "TopicTx" || h.QueueID != 0 {
		t.Fatalf("got %+v", h)
	}
}

// TestGoClientBatch decodes the SEND_BATCH_MESSAGE short header, converts it to the long
// form and back.
func TestGoClientBatch(t *testing.T) {
	h, err := DecodeSend(code.SendBatchMessage, goBatch)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	wantLong := SendMessageRequest{
		ProducerGroup: "pg", Topic: "TopicA", DefaultTopic: "TBW102", DefaultTopicQueueNums: 4,
		QueueID: 1, SysFlag: 0, BornTimestamp: 1690000000456, Flag: 0, Properties: "",
		ReconsumeTimes: 0, UnitMode: false, Batch: true, MaxReconsumeTimes: Int32(0),
	}
	if !reflect.DeepEqual(h.SendMessageRequest, wantLong) || h.BrokerName != "" {
		t.Fatalf("got %+v, want %+v", h, wantLong)
	}
	// Long form → short form gives the client's keys back (an empty properties value
	// is left out, as Java leaves out a null field).
	short := SendMessageRequestV2{SendMessageRequest: wantLong}
	enc := short.Encode()
	want := copyMap(goBatch)
	delete(want, "i")
	if !reflect.DeepEqual(enc, want) {
		t.Fatalf("short encode: got %q, want %q", enc, want)
	}
	// The same short header under SEND_MESSAGE_V2 decodes the same way; under
	// SEND_MESSAGE it lacks the long keys.
	if h2, err := DecodeSend(code.SendMessageV2, goBatch); err != nil || !reflect.DeepEqual(h2, h) {
		t.Fatalf("as SEND_MESSAGE_V2: got %+v, %v", h2, err)
	}
	if _, err := DecodeSend(code.SendMessage, goBatch); err == nil {
		t.Fatal("short header decoded as SEND_MESSAGE: got nil error")
	}
	if _, err := DecodeSend(code.PullMessage, goBatch); err == nil {
		t.Fatal("DecodeSend of PULL_MESSAGE: got nil error")
	}
}

// TestGoClientPull decodes both PULL shapes: the push consumer's (empty subscription,
// long poll) and the pull consumer's (subscription present).
func TestGoClientPull(t *testing.T) {
	var p PullMessageRequest
	if err := p.Decode(goPullPush); err != nil {
		t.Fatalf("decode push pull: %v", err)
	}
	want := PullMessageRequest{
		ConsumerGroup: "cg", Topic: "TopicA", QueueID: 2, QueueOffset: 128, MaxMsgNums: 32,
		SysFlag: PullCommitOffset | PullSuspend, CommitOffset: 120, SuspendTimeoutMillis: 20000,
		Subscription: "", SubVersion: 0, ExpressionType: "TAG",
	}
	if p != want {
		t.Fatalf("got %+v, want %+v", p, want)
	}
	if got := p.Encode(); !reflect.DeepEqual(got, goPullPush) {
		t.Fatalf("re-encode: got %q, want %q", got, goPullPush)
	}
	if err := p.Decode(goPullPullConsumer); err != nil {
		t.Fatalf("decode pull-consumer pull: %v", err)
	}
	if p.SysFlag != PullSuspend|PullSubscription || p.Subscription != "*" || p.Topic != "%RETRY%cg" || p.MaxMsgNums != 16 {
		t.Fatalf("got %+v", p)
	}
}

// TestGoClientOtherRequests decodes every other header the Go client sends.
func TestGoClientOtherRequests(t *testing.T) {
	tests := []struct {
		name string
		ext  map[string]string
		got  Header
		want Header
	}{
		{"QUERY_CONSUMER_OFFSET", map[string]string{"consumerGroup": "cg", "topic": "TopicA", "queueId": "1"},
			new(QueryConsumerOffsetRequest), &QueryConsumerOffsetRequest{ConsumerGroup: "cg", Topic: "TopicA", QueueID: 1}},
		{"UPDATE_CONSUMER_OFFSET", map[string]string{"consumerGroup": "cg", "topic": "TopicA", "queueId": "1", "commitOffset": "42"},
			new(UpdateConsumerOffsetRequest), &UpdateConsumerOffsetRequest{ConsumerGroup: "cg", Topic: "TopicA", QueueID: 1, CommitOffset: 42}},
		{"GET_MAX_OFFSET", map[string]string{"topic": "TopicA", "queueId": "3"},
			new(GetMaxOffsetRequest), &GetMaxOffsetRequest{Topic: "TopicA", QueueID: 3}},
		{"SEARCH_OFFSET_BY_TIMESTAMP", map[string]string{"topic": "TopicA", "queueId": "3", "timestamp": "1689998200000"},
			new(SearchOffsetRequest), &SearchOffsetRequest{Topic: "TopicA", QueueID: 3, Timestamp: 1689998200000}},
		{"CONSUMER_SEND_MSG_BACK", map[string]string{"group": "cg", "offset": "4096", "delayLevel": "0",
			"originMsgId": "7F0000010B3A18B4AAC2545E7A1E0000", "originTopic": "TopicA", "unitMode": "false", "maxReconsumeTimes": "16"},
			new(ConsumerSendMsgBackRequest), &ConsumerSendMsgBackRequest{Offset: 4096, Group: "cg", DelayLevel: 0,
				OriginMsgID: "7F0000010B3A18B4AAC2545E7A1E0000", OriginTopic: "TopicA", MaxReconsumeTimes: Int32(16)}},
		{"END_TRANSACTION", map[string]string{"producerGroup": "txpg", "tranStateTableOffset": "7", "commitLogOffset": "8192",
			"commitOrRollback": "8", "fromTransactionCheck": "false", "msgId": "7F0000010B3A18B4AAC2545E7A1E0001", "transactionId": ""},
			new(EndTransactionRequest), &EndTransactionRequest{ProducerGroup: "txpg", TranStateTableOffset: 7, CommitLogOffset: 8192,
				CommitOrRollback: TxCommit, MsgID: "7F0000010B3A18B4AAC2545E7A1E0001"}},
		{"GET_CONSUMER_LIST_BY_GROUP", map[string]string{"consumerGroup": "cg"},
			new(GetConsumerListByGroupRequest), &GetConsumerListByGroupRequest{ConsumerGroup: "cg"}},
		{"GET_ROUTEINFO_BY_TOPIC", map[string]string{"topic": "TopicA"},
			new(GetRouteInfoRequest), &GetRouteInfoRequest{Topic: "TopicA"}},
		{"UPDATE_AND_CREATE_TOPIC", map[string]string{"topic": "NewTopic", "defaultTopic": "defaultTopic", "readQueueNums": "8",
			"writeQueueNums": "8", "perm": "6", "topicFilterType": "SINGLE_TAG", "topicSysFlag": "0", "order": "false"},
			new(CreateTopicRequest), &CreateTopicRequest{Topic: "NewTopic", DefaultTopic: "defaultTopic", ReadQueueNums: 8,
				WriteQueueNums: 8, Perm: 6, TopicFilterType: "SINGLE_TAG"}},
		{"DELETE_TOPIC_IN_BROKER/NAMESRV", map[string]string{"topic": "OldTopic"},
			new(DeleteTopicRequest), &DeleteTopicRequest{Topic: "OldTopic"}},
		{"QUERY_MESSAGE", map[string]string{"topic": "TopicA", "key": "order-1", "maxNum": "32", "beginTimestamp": "0", "endTimestamp": "9223372036854775807"},
			new(QueryMessageRequest), &QueryMessageRequest{Topic: "TopicA", Key: "order-1", MaxNum: 32, EndTimestamp: 1<<63 - 1}},
		{"VIEW_MESSAGE_BY_ID", map[string]string{"offset": "4096"},
			new(ViewMessageRequest), &ViewMessageRequest{Offset: 4096}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.got.Decode(tc.ext); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(tc.got, tc.want) {
				t.Fatalf("got %+v, want %+v", tc.got, tc.want)
			}
		})
	}
}

// goInt mimics how the Go client reads a numeric key it needs: strconv.ParseInt base 10
// of the value, where a missing key or a parse error silently becomes 0. The test
// demands the key be present and parse, so a silent 0 can't hide a mistake.
func goInt(t *testing.T, ext map[string]string, key string, want int64) {
	t.Helper()
	v, ok := ext[key]
	if !ok {
		t.Fatalf("key %q absent; the Go client would read 0", key)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n != want {
		t.Fatalf("key %q = %q: Go client reads %d (%v), want %d", key, v, n, err, want)
	}
}

func goStr(t *testing.T, ext map[string]string, key, want string) {
	t.Helper()
	if v, ok := ext[key]; !ok || v != want {
		t.Fatalf("key %q: got %q (present %v), want %q", key, v, ok, want)
	}
}

// TestToGoClient checks what the broker sends to a Go client v2.1.2: every key the
// client's handler reads is present, under the exact name, in a form it parses.
func TestToGoClient(t *testing.T) {
	t.Run("NOTIFY_CONSUMER_IDS_CHANGED", func(t *testing.T) {
		ext := (&NotifyConsumerIDsChangedRequest{ConsumerGroup: "cg"}).Encode()
		goStr(t, ext, "consumerGroup", "cg")
	})
	t.Run("CHECK_TRANSACTION_STATE", func(t *testing.T) {
		ext := (&CheckTransactionStateRequest{
			TranStateTableOffset: 11, CommitLogOffset: 1 << 35, MsgID: "U", TransactionID: "U", OffsetMsgID: "O",
		}).Encode()
		goInt(t, ext, "tranStateTableOffset", 11)
		goInt(t, ext, "commitLogOffset", 1<<35)
		goStr(t, ext, "msgId", "U")
		goStr(t, ext, "transactionId", "U")
		goStr(t, ext, "offsetMsgId", "O")
	})
	t.Run("GET_CONSUMER_RUNNING_INFO", func(t *testing.T) {
		ext := (&GetConsumerRunningInfoRequest{ConsumerGroup: "cg", ClientID: "10.0.0.5@77", JstackEnable: false}).Encode()
		goStr(t, ext, "consumerGroup", "cg")
		goStr(t, ext, "clientId", "10.0.0.5@77")
		if b, err := strconv.ParseBool(ext["jstackEnable"]); err != nil || b {
			t.Fatalf("jstackEnable: %q", ext["jstackEnable"])
		}
	})
	t.Run("CONSUME_MESSAGE_DIRECTLY", func(t *testing.T) {
		ext := (&ConsumeMessageDirectlyRequest{ConsumerGroup: "cg", ClientID: "10.0.0.5@77", MsgID: "M", BrokerName: "broker-a"}).Encode()
		goStr(t, ext, "consumerGroup", "cg")
		goStr(t, ext, "clientId", "10.0.0.5@77")
		goStr(t, ext, "msgId", "M")
		goStr(t, ext, "brokerName", "broker-a")
	})
	t.Run("RESET_CONSUMER_CLIENT_OFFSET", func(t *testing.T) {
		ext := (&ResetOffsetRequest{Topic: "TopicA", Group: "cg", Timestamp: 1690000000000}).Encode()
		goStr(t, ext, "topic", "TopicA")
		goStr(t, ext, "group", "cg")
		goInt(t, ext, "timestamp", 1690000000000)
	})
	t.Run("GET_CONSUMER_STATUS_FROM_CLIENT", func(t *testing.T) {
		ext := (&GetConsumerStatusRequest{Topic: "TopicA", Group: "cg", ClientAddr: "10.0.0.5"}).Encode()
		goStr(t, ext, "topic", "TopicA")
		goStr(t, ext, "group", "cg")
		goStr(t, ext, "clientAddr", "10.0.0.5")
	})
	t.Run("PUSH_REPLY_MESSAGE_TO_CLIENT", func(t *testing.T) {
		ext := (&ReplyMessageRequest{
			ProducerGroup: "pg", Topic: "C_REPLY_TOPIC", DefaultTopic: "TBW102", DefaultTopicQueueNums: 4,
			QueueID: 2, SysFlag: 1, BornTimestamp: 5, Flag: 6, Properties: "CORRELATION_ID\x01c\x02",
			ReconsumeTimes: 0, BornHost: "10.0.0.5:4000", StoreHost: "10.0.0.2:10911", StoreTimestamp: 7,
		}).Encode()
		goInt(t, ext, "queueId", 2)
		goInt(t, ext, "sysFlag", 1)
		goInt(t, ext, "bornTimestamp", 5)
		goInt(t, ext, "flag", 6)
		goInt(t, ext, "reconsumeTimes", 0)
		goInt(t, ext, "storeTimestamp", 7)
		goStr(t, ext, "topic", "C_REPLY_TOPIC")
		goStr(t, ext, "properties", "CORRELATION_ID\x01c\x02")
		goStr(t, ext, "bornHost", "10.0.0.5:4000")
		goStr(t, ext, "storeHost", "10.0.0.2:10911")
	})
	// Responses the client parses.
	t.Run("SEND response", func(t *testing.T) {
		ext := (&SendMessageResponse{MsgID: "0A00000200002A9F0000000000001000", QueueID: 3, QueueOffset: 9,
			Region: "DefaultRegion", TraceOn: true}).Encode()
		goStr(t, ext, "msgId", "0A00000200002A9F0000000000001000")
		goInt(t, ext, "queueId", 3)
		goInt(t, ext, "queueOffset", 9)
		goStr(t, ext, "MSG_REGION", "DefaultRegion")
		goStr(t, ext, "TRACE_ON", "true")
	})
	t.Run("PULL response", func(t *testing.T) {
		ext := (&PullMessageResponse{NextBeginOffset: 0, MinOffset: 0, MaxOffset: 0, SuggestWhichBrokerID: 0}).Encode()
		// All four keys even when zero: a missing nextBeginOffset rewinds the client.
		for _, k := range []string{"nextBeginOffset", "minOffset", "maxOffset", "suggestWhichBrokerId"} {
			goInt(t, ext, k, 0)
		}
	})
	t.Run("offset responses", func(t *testing.T) {
		goInt(t, (&OffsetResponse{Offset: 1234}).Encode(), "offset", 1234)
	})
}
