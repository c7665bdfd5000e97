package header

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// headerCase describes one header type: a fully populated sample (every field non-zero,
// every pointer set, so that a dropped key shows up in the round trip), the keys its
// Encode must write, and which of them Java marks @CFNotNull. The key lists are copied
// from the Java header classes, independently of the code under test.
type headerCase struct {
	name     string
	new      func() Header
	sample   Header
	required []string
	optional []string
	numeric  []string // keys whose value must parse as a number
	boolean  []string // keys whose value must be true/false
}

func cases() []headerCase {
	return append(namesrvAdminCases(), []headerCase{
		{
			name: "SendMessageRequest", new: func() Header { return new(SendMessageRequest) },
			sample: &SendMessageRequest{
				ProducerGroup: "pg", Topic: "TopicA", DefaultTopic: "TBW102", DefaultTopicQueueNums: 4,
				QueueID: 3, SysFlag: 4, BornTimestamp: 1690000000123, Flag: -7,
				Properties: "TAGS\x01a\x02", ReconsumeTimes: 2, UnitMode: true, Batch: true,
				MaxReconsumeTimes: Int32(16),
			},
			required: []string{"producerGroup", "topic", "defaultTopic", "defaultTopicQueueNums", "queueId", "sysFlag", "bornTimestamp", "flag"},
			optional: []string{"properties", "reconsumeTimes", "unitMode", "batch", "maxReconsumeTimes"},
			numeric:  []string{"defaultTopicQueueNums", "queueId", "sysFlag", "bornTimestamp", "flag", "reconsumeTimes", "maxReconsumeTimes"},
			boolean:  []string{"unitMode", "batch"},
		},
		{
			name: "SendMessageRequestV2", new: func() Header { return new(SendMessageRequestV2) },
			sample: &SendMessageRequestV2{
				SendMessageRequest: SendMessageRequest{
					ProducerGroup: "pg", Topic: "TopicA", DefaultTopic: "TBW102", DefaultTopicQueueNums: 4,
					QueueID: 3, SysFlag: 1, BornTimestamp: 1690000000123, Flag: 9,
					Properties: "KEYS\x01k\x02", ReconsumeTimes: 1, UnitMode: true, Batch: true,
					MaxReconsumeTimes: Int32(3),
				},
				BrokerName: "broker-a",
			},
			required: []string{"a", "b", "c", "d", "e", "f", "g", "h"},
			optional: []string{"i", "j", "k", "l", "m", "n"},
			numeric:  []string{"d", "e", "f", "g", "h", "j", "l"},
			boolean:  []string{"k", "m"},
		},
		{
			name: "SendMessageResponse", new: func() Header { return new(SendMessageResponse) },
			sample: &SendMessageResponse{
				MsgID: "7F00000100002A9F0000000000000000", QueueID: 2, QueueOffset: 1 << 33,
				TransactionID: "tx", Region: "DefaultRegion", TraceOn: true,
			},
			required: []string{"msgId", "queueId", "queueOffset"},
			optional: []string{"transactionId", "MSG_REGION", "TRACE_ON"},
			numeric:  []string{"queueId", "queueOffset"},
			boolean:  []string{"TRACE_ON"},
		},
		{
			name: "ConsumerSendMsgBackRequest", new: func() Header { return new(ConsumerSendMsgBackRequest) },
			sample: &ConsumerSendMsgBackRequest{
				Offset: 123456, Group: "cg", DelayLevel: -1, OriginMsgID: "AC1100", OriginTopic: "TopicA",
				UnitMode: true, MaxReconsumeTimes: Int32(16),
			},
			required: []string{"offset", "group", "delayLevel"},
			optional: []string{"originMsgId", "originTopic", "unitMode", "maxReconsumeTimes"},
			numeric:  []string{"offset", "delayLevel", "maxReconsumeTimes"},
			boolean:  []string{"unitMode"},
		},
		{
			name: "ReplyMessageRequest", new: func() Header { return new(ReplyMessageRequest) },
			sample: &ReplyMessageRequest{
				ProducerGroup: "pg", Topic: "C_REPLY_TOPIC", DefaultTopic: "TBW102", DefaultTopicQueueNums: 4,
				QueueID: 1, SysFlag: 2, BornTimestamp: 11, Flag: 3, Properties: "A\x01b\x02",
				ReconsumeTimes: 4, UnitMode: true, BornHost: "10.0.0.1:5000", StoreHost: "10.0.0.2:10911",
				StoreTimestamp: 12,
			},
			required: []string{"producerGroup", "topic", "defaultTopic", "defaultTopicQueueNums", "queueId", "sysFlag", "bornTimestamp", "flag", "bornHost", "storeHost", "storeTimestamp"},
			optional: []string{"properties", "reconsumeTimes", "unitMode"},
			numeric:  []string{"defaultTopicQueueNums", "queueId", "sysFlag", "bornTimestamp", "flag", "reconsumeTimes", "storeTimestamp"},
			boolean:  []string{"unitMode"},
		},
		{
			name: "PullMessageRequest", new: func() Header { return new(PullMessageRequest) },
			sample: &PullMessageRequest{
				ConsumerGroup: "cg", Topic: "TopicA", QueueID: 5, QueueOffset: 77, MaxMsgNums: 32,
				SysFlag: PullCommitOffset | PullSuspend, CommitOffset: 70, SuspendTimeoutMillis: 20000,
				Subscription: "a || b", SubVersion: 1795546259088859958, ExpressionType: "TAG",
			},
			required: []string{"consumerGroup", "topic", "queueId", "queueOffset", "maxMsgNums", "sysFlag", "commitOffset", "suspendTimeoutMillis", "subVersion"},
			optional: []string{"subscription", "expressionType"},
			numeric:  []string{"queueId", "queueOffset", "maxMsgNums", "sysFlag", "commitOffset", "suspendTimeoutMillis", "subVersion"},
		},
		{
			name: "PullMessageResponse", new: func() Header { return new(PullMessageResponse) },
			sample:   &PullMessageResponse{SuggestWhichBrokerID: 1, NextBeginOffset: 33, MinOffset: 2, MaxOffset: 40},
			required: []string{"suggestWhichBrokerId", "nextBeginOffset", "minOffset", "maxOffset"},
			numeric:  []string{"suggestWhichBrokerId", "nextBeginOffset", "minOffset", "maxOffset"},
		},
		{
			name: "QueryConsumerOffsetRequest", new: func() Header { return new(QueryConsumerOffsetRequest) },
			sample:   &QueryConsumerOffsetRequest{ConsumerGroup: "cg", Topic: "TopicA", QueueID: 7, SetZeroIfNotFound: Bool(false)},
			required: []string{"consumerGroup", "topic", "queueId"},
			optional: []string{"setZeroIfNotFound"},
			numeric:  []string{"queueId"},
			boolean:  []string{"setZeroIfNotFound"},
		},
		{
			name: "OffsetResponse", new: func() Header { return new(OffsetResponse) },
			sample: &OffsetResponse{Offset: -1}, required: []string{"offset"}, numeric: []string{"offset"},
		},
		{
			name: "UpdateConsumerOffsetRequest", new: func() Header { return new(UpdateConsumerOffsetRequest) },
			sample:   &UpdateConsumerOffsetRequest{ConsumerGroup: "cg", Topic: "TopicA", QueueID: 1, CommitOffset: 99},
			required: []string{"consumerGroup", "topic", "queueId", "commitOffset"},
			numeric:  []string{"queueId", "commitOffset"},
		},
		{
			name: "SearchOffsetRequest", new: func() Header { return new(SearchOffsetRequest) },
			sample:   &SearchOffsetRequest{Topic: "TopicA", QueueID: 1, Timestamp: 1690000000000},
			required: []string{"topic", "queueId", "timestamp"},
			numeric:  []string{"queueId", "timestamp"},
		},
		{
			name: "QueueRequest", new: func() Header { return new(QueueRequest) },
			sample: &QueueRequest{Topic: "TopicA", QueueID: 6}, required: []string{"topic", "queueId"},
			numeric: []string{"queueId"},
		},
		{
			name: "GetEarliestMsgStoretimeResponse", new: func() Header { return new(GetEarliestMsgStoretimeResponse) },
			sample: &GetEarliestMsgStoretimeResponse{Timestamp: 5}, required: []string{"timestamp"},
			numeric: []string{"timestamp"},
		},
		{
			name: "ViewMessageRequest", new: func() Header { return new(ViewMessageRequest) },
			sample: &ViewMessageRequest{Offset: 4096}, required: []string{"offset"}, numeric: []string{"offset"},
		},
		{
			name: "QueryMessageRequest", new: func() Header { return new(QueryMessageRequest) },
			sample:   &QueryMessageRequest{Topic: "TopicA", Key: "order-1", MaxNum: 32, BeginTimestamp: 1, EndTimestamp: 2},
			required: []string{"topic", "key", "maxNum", "beginTimestamp", "endTimestamp"},
			numeric:  []string{"maxNum", "beginTimestamp", "endTimestamp"},
		},
		{
			name: "QueryMessageResponse", new: func() Header { return new(QueryMessageResponse) },
			sample:   &QueryMessageResponse{IndexLastUpdateTimestamp: 10, IndexLastUpdatePhyoffset: 20},
			required: []string{"indexLastUpdateTimestamp", "indexLastUpdatePhyoffset"},
			numeric:  []string{"indexLastUpdateTimestamp", "indexLastUpdatePhyoffset"},
		},
		{
			name: "ConsumerGroupRequest", new: func() Header { return new(ConsumerGroupRequest) },
			sample: &ConsumerGroupRequest{ConsumerGroup: "cg"}, required: []string{"consumerGroup"},
		},
		{
			name: "UnregisterClientRequest", new: func() Header { return new(UnregisterClientRequest) },
			sample:   &UnregisterClientRequest{ClientID: "10.0.0.5@123", ProducerGroup: "pg", ConsumerGroup: "cg"},
			required: []string{"clientID"}, optional: []string{"producerGroup", "consumerGroup"},
		},
		{
			name: "EndTransactionRequest", new: func() Header { return new(EndTransactionRequest) },
			sample: &EndTransactionRequest{
				ProducerGroup: "pg", TranStateTableOffset: 3, CommitLogOffset: 4096, CommitOrRollback: TxCommit,
				FromTransactionCheck: true, MsgID: "uniq", TransactionID: "tx",
			},
			required: []string{"producerGroup", "tranStateTableOffset", "commitLogOffset", "commitOrRollback", "msgId"},
			optional: []string{"fromTransactionCheck", "transactionId"},
			numeric:  []string{"tranStateTableOffset", "commitLogOffset", "commitOrRollback"},
			boolean:  []string{"fromTransactionCheck"},
		},
		{
			name: "CheckTransactionStateRequest", new: func() Header { return new(CheckTransactionStateRequest) },
			sample: &CheckTransactionStateRequest{
				TranStateTableOffset: 8, CommitLogOffset: 8192, MsgID: "uniq", TransactionID: "uniq", OffsetMsgID: "7F00",
			},
			required: []string{"tranStateTableOffset", "commitLogOffset"},
			optional: []string{"msgId", "transactionId", "offsetMsgId"},
			numeric:  []string{"tranStateTableOffset", "commitLogOffset"},
		},
		{
			name: "GetConsumerRunningInfoRequest", new: func() Header { return new(GetConsumerRunningInfoRequest) },
			sample:   &GetConsumerRunningInfoRequest{ConsumerGroup: "cg", ClientID: "10.0.0.5@1", JstackEnable: true},
			required: []string{"consumerGroup", "clientId"}, optional: []string{"jstackEnable"},
			boolean: []string{"jstackEnable"},
		},
		{
			name: "ConsumeMessageDirectlyRequest", new: func() Header { return new(ConsumeMessageDirectlyRequest) },
			sample:   &ConsumeMessageDirectlyRequest{ConsumerGroup: "cg", ClientID: "10.0.0.5@1", MsgID: "m", BrokerName: "b"},
			required: []string{"consumerGroup"}, optional: []string{"clientId", "msgId", "brokerName"},
		},
		{
			name: "GetConsumerStatusRequest", new: func() Header { return new(GetConsumerStatusRequest) },
			sample:   &GetConsumerStatusRequest{Topic: "TopicA", Group: "cg", ClientAddr: "10.0.0.5"},
			required: []string{"topic", "group"}, optional: []string{"clientAddr"},
		},
		{
			name: "ResetOffsetRequest", new: func() Header { return new(ResetOffsetRequest) },
			sample:   &ResetOffsetRequest{Topic: "TopicA", Group: "cg", Timestamp: 1690000000000, IsForce: true},
			required: []string{"topic", "group", "timestamp", "isForce"},
			numeric:  []string{"timestamp"}, boolean: []string{"isForce"},
		},
		{
			name: "CloneGroupOffsetRequest", new: func() Header { return new(CloneGroupOffsetRequest) },
			sample:   &CloneGroupOffsetRequest{SrcGroup: "a", DestGroup: "b", Topic: "TopicA", Offline: true},
			required: []string{"srcGroup", "destGroup"}, optional: []string{"topic", "offline"},
			boolean: []string{"offline"},
		},
		{
			name: "ViewBrokerStatsDataRequest", new: func() Header { return new(ViewBrokerStatsDataRequest) },
			sample:   &ViewBrokerStatsDataRequest{StatsName: "TOPIC_PUT_NUMS", StatsKey: "TopicA"},
			required: []string{"statsName", "statsKey"},
		},
		{
			name: "GetConsumeStatsInBrokerRequest", new: func() Header { return new(GetConsumeStatsInBrokerRequest) },
			sample:   &GetConsumeStatsInBrokerRequest{IsOrder: true},
			required: []string{"isOrder"}, boolean: []string{"isOrder"},
		},
		{
			name: "QueryConsumeQueueRequest", new: func() Header { return new(QueryConsumeQueueRequest) },
			sample:   &QueryConsumeQueueRequest{Topic: "TopicA", QueueID: 3, Index: 7, Count: 10, ConsumerGroup: "cg"},
			optional: []string{"topic", "queueId", "index", "count", "consumerGroup"},
			numeric:  []string{"queueId", "index", "count"},
		},
		{
			name: "RegisterBrokerRequest", new: func() Header { return new(RegisterBrokerRequest) },
			sample: &RegisterBrokerRequest{
				BrokerName: "broker-a", BrokerAddr: "10.0.0.2:10911", ClusterName: "DefaultCluster",
				HAServerAddr: "10.0.0.2:10912", BrokerID: 1, Compressed: true, BodyCRC32: -12345,
			},
			required: []string{"brokerName", "brokerAddr", "clusterName", "haServerAddr", "brokerId"},
			optional: []string{"compressed", "bodyCrc32"},
			numeric:  []string{"brokerId", "bodyCrc32"}, boolean: []string{"compressed"},
		},
		{
			name: "RegisterBrokerResponse", new: func() Header { return new(RegisterBrokerResponse) },
			sample:   &RegisterBrokerResponse{HAServerAddr: "10.0.0.2:10912", MasterAddr: "10.0.0.2:10911"},
			optional: []string{"haServerAddr", "masterAddr"},
		},
		{
			name: "UnregisterBrokerRequest", new: func() Header { return new(UnregisterBrokerRequest) },
			sample:   &UnregisterBrokerRequest{BrokerName: "broker-a", BrokerAddr: "10.0.0.2:10911", ClusterName: "C", BrokerID: 2},
			required: []string{"brokerName", "brokerAddr", "clusterName", "brokerId"},
			numeric:  []string{"brokerId"},
		},
		{
			name: "GetRouteInfoRequest", new: func() Header { return new(GetRouteInfoRequest) },
			sample:   &GetRouteInfoRequest{Topic: "TopicA", AcceptStandardJSONOnly: true},
			required: []string{"topic"}, optional: []string{"acceptStandardJsonOnly"},
			boolean: []string{"acceptStandardJsonOnly"},
		},
		{
			name: "TopicRequest", new: func() Header { return new(TopicRequest) },
			sample: &TopicRequest{Topic: "TopicA"}, required: []string{"topic"},
		},
		{
			name: "DeleteTopicRequest", new: func() Header { return new(DeleteTopicRequest) },
			sample:   &DeleteTopicRequest{Topic: "TopicA", ClusterName: "C"},
			required: []string{"topic"}, optional: []string{"clusterName"},
		},
		{
			name: "CreateTopicRequest", new: func() Header { return new(CreateTopicRequest) },
			sample: &CreateTopicRequest{
				Topic: "TopicA", DefaultTopic: "TBW102", ReadQueueNums: 8, WriteQueueNums: 8, Perm: 6,
				TopicFilterType: "MULTI_TAG", TopicSysFlag: 1, Order: true,
			},
			required: []string{"topic", "defaultTopic", "readQueueNums", "writeQueueNums", "perm", "topicFilterType", "order"},
			optional: []string{"topicSysFlag"},
			numeric:  []string{"readQueueNums", "writeQueueNums", "perm", "topicSysFlag"},
			boolean:  []string{"order"},
		},
		{
			name: "GetConsumeStatsRequest", new: func() Header { return new(GetConsumeStatsRequest) },
			sample:   &GetConsumeStatsRequest{ConsumerGroup: "cg", Topic: "TopicA"},
			required: []string{"consumerGroup"}, optional: []string{"topic"},
		},
		{
			name: "GetProducerConnectionListRequest", new: func() Header { return new(GetProducerConnectionListRequest) },
			sample: &GetProducerConnectionListRequest{ProducerGroup: "pg"}, required: []string{"producerGroup"},
		},
		{
			name: "DeleteSubscriptionGroupRequest", new: func() Header { return new(DeleteSubscriptionGroupRequest) },
			sample:   &DeleteSubscriptionGroupRequest{GroupName: "cg", RemoveOffset: true},
			required: []string{"groupName"}, optional: []string{"removeOffset"}, boolean: []string{"removeOffset"},
		},
		{
			name: "GetTopicsByClusterRequest", new: func() Header { return new(GetTopicsByClusterRequest) },
			sample: &GetTopicsByClusterRequest{Cluster: "DefaultCluster"}, required: []string{"cluster"},
		},
	}...)
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func copyMap(m map[string]string) map[string]string {
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// TestRoundTrip encodes the populated sample of every header, checks the key set against
// the Java field names, and decodes it back to an equal value.
func TestRoundTrip(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			ext := tc.sample.Encode()
			want := append(append([]string{}, tc.required...), tc.optional...)
			sort.Strings(want)
			if got := sortedKeys(ext); !reflect.DeepEqual(got, want) {
				t.Fatalf("encoded keys: got %v, want %v", got, want)
			}
			got := tc.new()
			if err := got.Decode(ext); err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.sample) {
				t.Fatalf("round trip: got %+v, want %+v", got, tc.sample)
			}
		})
	}
}

// TestMissingRequiredKey deletes each required key in turn: decode must fail with a
// *KeyError that wraps ErrMissingKey and names exactly that key.
func TestMissingRequiredKey(t *testing.T) {
	for _, tc := range cases() {
		for _, key := range tc.required {
			t.Run(tc.name+"/"+key, func(t *testing.T) {
				ext := tc.sample.Encode()
				delete(ext, key)
				err := tc.new().Decode(ext)
				if err == nil {
					t.Fatalf("decode without %q: got nil error", key)
				}
				var ke *KeyError
				if !errors.As(err, &ke) || !errors.Is(err, ErrMissingKey) {
					t.Fatalf("decode without %q: got %v, want a KeyError wrapping ErrMissingKey", key, err)
				}
				if ke.Key != key {
					t.Fatalf("error names key %q, want %q", ke.Key, key)
				}
				if want := `header: missing required key "` + key + `"`; err.Error() != want {
					t.Fatalf("message: got %q, want %q", err.Error(), want)
				}
			})
		}
	}
}

// TestOnlyRequiredKeys decodes a map holding just the required keys: that must succeed,
// leaving every optional field at its zero value (nil for pointers).
func TestOnlyRequiredKeys(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			full := tc.sample.Encode()
			ext := map[string]string{}
			for _, k := range tc.required {
				ext[k] = full[k]
			}
			h := tc.new()
			if err := h.Decode(ext); err != nil {
				t.Fatalf("decode of required keys only: %v", err)
			}
			// Every optional key must now come back absent or as its zero encoding.
			again := h.Encode()
			for _, k := range tc.optional {
				v, ok := again[k]
				if ok && v != "0" && v != "false" && v != "" {
					t.Errorf("optional key %q: got %q after decoding without it, want absent or zero", k, v)
				}
			}
		})
	}
}

// TestBadValues puts a malformed value under every numeric and boolean key: decode must
// fail with ErrBadValue naming the key and repeating the value.
func TestBadValues(t *testing.T) {
	bad := map[string][]string{
		"num":  {"", "x1", "1.5", " 1", "1 ", "0x10", "99999999999999999999", "--1"},
		"bool": {"", "yes", "1", "truee", "t"},
	}
	for _, tc := range cases() {
		for kind, keys := range map[string][]string{"num": tc.numeric, "bool": tc.boolean} {
			for _, key := range keys {
				for _, v := range bad[kind] {
					ext := tc.sample.Encode()
					ext[key] = v
					err := tc.new().Decode(ext)
					var ke *KeyError
					if !errors.As(err, &ke) || !errors.Is(err, ErrBadValue) {
						t.Errorf("%s: %s=%q: got %v, want ErrBadValue", tc.name, key, v, err)
						continue
					}
					if ke.Key != key || ke.Value != v {
						t.Errorf("%s: error names %q=%q, want %q=%q", tc.name, ke.Key, ke.Value, key, v)
					}
					if want := `header: bad value "` + v + `" for key "` + key + `"`; err.Error() != want {
						t.Errorf("%s: message: got %q, want %q", tc.name, err.Error(), want)
					}
				}
			}
		}
	}
}

// TestIntWidth checks Java's widths: Integer keys reject values beyond int32, Long keys
// take the whole int64 range.
func TestIntWidth(t *testing.T) {
	var q QueueRequest
	err := q.Decode(map[string]string{"topic": "T", "queueId": "2147483648"})
	if !errors.Is(err, ErrBadValue) {
		t.Fatalf("queueId 2^31: got %v, want ErrBadValue", err)
	}
	if err := q.Decode(map[string]string{"topic": "T", "queueId": "-2147483648"}); err != nil || q.QueueID != -2147483648 {
		t.Fatalf("queueId -2^31: got %d, %v", q.QueueID, err)
	}
	var o OffsetResponse
	if err := o.Decode(map[string]string{"offset": "9223372036854775807"}); err != nil || o.Offset != 1<<63-1 {
		t.Fatalf("offset max int64: got %d, %v", o.Offset, err)
	}
	if err := o.Decode(map[string]string{"offset": "+12"}); err != nil || o.Offset != 12 {
		t.Fatalf("offset +12 (Long.parseLong accepts it): got %d, %v", o.Offset, err)
	}
}

// TestBooleanCase follows Boolean.parseBoolean, which ignores case.
func TestBooleanCase(t *testing.T) {
	var r ResetOffsetRequest
	ext := map[string]string{"topic": "T", "group": "g", "timestamp": "1", "isForce": "TRUE"}
	if err := r.Decode(ext); err != nil || !r.IsForce {
		t.Fatalf("isForce TRUE: got %v, %v", r.IsForce, err)
	}
	ext["isForce"] = "False"
	if err := r.Decode(ext); err != nil || r.IsForce {
		t.Fatalf("isForce False: got %v, %v", r.IsForce, err)
	}
}

// TestLongValueTruncated checks that an error does not repeat a huge attacker value.
func TestLongValueTruncated(t *testing.T) {
	v := strings.Repeat("9", 1<<20) + "x"
	var q QueueRequest
	err := q.Decode(map[string]string{"topic": "T", "queueId": v})
	if !errors.Is(err, ErrBadValue) {
		t.Fatalf("got %v, want ErrBadValue", err)
	}
	if n := len(err.Error()); n > 200 {
		t.Fatalf("error message is %d bytes, want it bounded", n)
	}
}

// TestFirstErrorWins checks that the reported key is the first failing one in field
// order, and that decoding resets fields left over from an earlier value.
func TestFirstErrorWins(t *testing.T) {
	var p PullMessageRequest
	err := p.Decode(map[string]string{"consumerGroup": "g", "queueId": "x"})
	var ke *KeyError
	if !errors.As(err, &ke) || ke.Key != "topic" {
		t.Fatalf("got %v, want the missing topic reported first", err)
	}
	h := &SendMessageRequest{MaxReconsumeTimes: Int32(5), Properties: "old"}
	ext := (&SendMessageRequest{ProducerGroup: "p", Topic: "t"}).Encode()
	if err := h.Decode(ext); err != nil {
		t.Fatal(err)
	}
	if h.MaxReconsumeTimes != nil || h.Properties != "" {
		t.Fatalf("stale fields survived decode: %+v", h)
	}
}

// TestUnknownKeysIgnored decodes a header carrying ACL and unknown keys.
func TestUnknownKeysIgnored(t *testing.T) {
	ext := (&UpdateConsumerOffsetRequest{ConsumerGroup: "cg", Topic: "T", QueueID: 1, CommitOffset: 2}).Encode()
	ext["AccessKey"] = "ak"
	ext["Signature"] = "c2ln"
	ext["lo"] = "weird"
	var u UpdateConsumerOffsetRequest
	if err := u.Decode(ext); err != nil {
		t.Fatalf("decode with unknown keys: %v", err)
	}
	if u.CommitOffset != 2 || u.QueueID != 1 {
		t.Fatalf("got %+v", u)
	}
}
