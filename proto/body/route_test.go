package body

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// goldenRoute is a two-broker route: broker-a with a master and a slave, broker-b
// with only a slave.
func goldenRoute() *TopicRouteData {
	return &TopicRouteData{
		QueueDatas: []QueueData{
			{BrokerName: "broker-a", ReadQueueNums: 4, WriteQueueNums: 4, Perm: 6},
			{BrokerName: "broker-b", ReadQueueNums: 8, WriteQueueNums: 2, Perm: 4, TopicSysFlag: 1},
		},
		BrokerDatas: []BrokerData{
			{Cluster: "DefaultCluster", BrokerName: "broker-a", BrokerAddrs: map[int64]string{1: "10.0.0.2:10911", 0: "10.0.0.1:10911"}},
			{Cluster: "DefaultCluster", BrokerName: "broker-b", BrokerAddrs: map[int64]string{2: "[::1]:10911"}},
		},
		FilterServerTable: map[string][]string{},
	}
}

const goldenRouteJSON = `{"brokerDatas":[` +
	`{"brokerAddrs":{"0":"10.0.0.1:10911","1":"10.0.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"},` +
	`{"brokerAddrs":{"2":"[::1]:10911"},"brokerName":"broker-b","cluster":"DefaultCluster"}],` +
	`"filterServerTable":{},` +
	`"queueDatas":[` +
	`{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4},` +
	`{"brokerName":"broker-b","perm":4,"readQueueNums":8,"topicSysFlag":1,"writeQueueNums":2}]}`

func TestRouteEncodeGolden(t *testing.T) {
	got := string(goldenRoute().Encode())
	if got != goldenRouteJSON {
		t.Fatalf("encode:\n got %s\nwant %s", got, goldenRouteJSON)
	}
	if !json.Valid([]byte(got)) {
		t.Fatalf("encode: not valid JSON: %s", got)
	}
}

func TestRouteEncodeEmptyParts(t *testing.T) {
	tests := []struct {
		name string
		in   TopicRouteData
		want string
	}{
		{"zero value", TopicRouteData{}, `{"brokerDatas":[],"filterServerTable":{},"queueDatas":[]}`},
		{"broker without addrs", TopicRouteData{BrokerDatas: []BrokerData{{Cluster: "c", BrokerName: "b"}}},
			`{"brokerDatas":[{"brokerAddrs":{},"brokerName":"b","cluster":"c"}],"filterServerTable":{},"queueDatas":[]}`},
		{"order conf and filter servers", TopicRouteData{
			OrderTopicConf:    "broker-a:8",
			FilterServerTable: map[string][]string{"b:1": {"f2", "f1"}, "a:1": nil},
		}, `{"brokerDatas":[],"filterServerTable":{"a:1":[],"b:1":["f2","f1"]},"orderTopicConf":"broker-a:8","queueDatas":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(tt.in.Encode()); got != tt.want {
				t.Fatalf("encode:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// goClientBrokerAddrs re-implements, from its description in docs/protocol.md §3.1, how
// the official Go client (v2.1.2) reads brokerAddrs: the raw object text minus its
// first and last byte, split on ',', each piece split at its first ':', '"'
// removed, the id parsed as int64 with a parse error giving id 0.
func goClientBrokerAddrs(raw string) map[int64]string {
	out := map[int64]string{}
	for _, piece := range strings.Split(raw[1:len(raw)-1], ",") {
		i := strings.Index(piece, ":")
		if i < 0 {
			continue
		}
		id, _ := strconv.ParseInt(strings.ReplaceAll(piece[:i], `"`, ""), 10, 64)
		out[id] = strings.ReplaceAll(piece[i+1:], `"`, "")
	}
	return out
}

func TestRouteParsedByGoClientAlgorithm(t *testing.T) {
	tests := []map[int64]string{
		{},
		{0: "127.0.0.1:10911"},
		{0: "10.0.0.1:10911", 1: "10.0.0.2:10911", 2: "10.0.0.3:10911"},
		{0: "[::1]:10911", 1: "[fe80::1%eth0]:10911"},
		{12: "192.168.1.1:1", 3: "192.168.1.2:2"},
	}
	for _, addrs := range tests {
		r := TopicRouteData{
			QueueDatas:  []QueueData{{BrokerName: "b", ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6}},
			BrokerDatas: []BrokerData{{Cluster: "c", BrokerName: "b", BrokerAddrs: addrs}},
		}
		enc := r.Encode()
		// The client takes brokerAddrs' raw text from a JSON parser (gjson); a
		// json.RawMessage is the same raw text.
		var doc struct {
			QueueDatas  []map[string]any `json:"queueDatas"`
			BrokerDatas []struct {
				BrokerAddrs json.RawMessage `json:"brokerAddrs"`
			} `json:"brokerDatas"`
		}
		if err := json.Unmarshal(enc, &doc); err != nil {
			t.Fatalf("%s: not JSON: %v", enc, err)
		}
		if doc.QueueDatas == nil {
			t.Fatalf("%s: queueDatas missing or null", enc)
		}
		if len(doc.BrokerDatas) != 1 || len(doc.BrokerDatas[0].BrokerAddrs) == 0 {
			t.Fatalf("%s: brokerAddrs missing", enc)
		}
		got := goClientBrokerAddrs(string(doc.BrokerDatas[0].BrokerAddrs))
		if !reflect.DeepEqual(got, addrs) {
			t.Fatalf("client parse of %s: got %v, want %v", doc.BrokerDatas[0].BrokerAddrs, got, addrs)
		}
		if bytes.ContainsAny(enc, " \t\r\n") {
			t.Fatalf("encoding contains whitespace: %s", enc)
		}
	}
}

func TestRouteDecodeJavaForms(t *testing.T) {
	// What a Java 4.9.7 namesrv sends a version-317 client: fastjson's default, with
	// bare numeric keys; plus a pretty-printed variant and Java 5 extra fields.
	javaDefault := `{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"},` +
		`{"brokerAddrs":{2:"[::1]:10911"},"brokerName":"broker-b","cluster":"DefaultCluster"}],"filterServerTable":{},` +
		`"queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4},` +
		`{"brokerName":"broker-b","perm":4,"readQueueNums":8,"topicSysFlag":1,"writeQueueNums":2}]}`
	pretty := `{
	  "queueDatas" : [ {"brokerName":"broker-a","readQueueNums":4,"writeQueueNums":4,"perm":6,"topicSysFlag":0},
	                   {"brokerName":"broker-b","readQueueNums":8,"writeQueueNums":2,"perm":4,"topicSysFlag":1} ],
	  "brokerDatas" : [ {"cluster":"DefaultCluster","brokerName":"broker-a","brokerAddrs":{ "1" : "10.0.0.2:10911", 0 : "10.0.0.1:10911" }},
	                    {"cluster":"DefaultCluster","brokerName":"broker-b","brokerAddrs":{ 2 :"[::1]:10911"}} ],
	  "topicQueueMappingByBroker" : {"x": {"y": 1}}
	}`
	for name, in := range map[string]string{"golden": goldenRouteJSON, "java default": javaDefault, "pretty": pretty} {
		t.Run(name, func(t *testing.T) {
			got, err := DecodeTopicRouteData([]byte(in))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if want := goldenRoute(); !reflect.DeepEqual(got, want) {
				t.Fatalf("decode:\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestRouteDecodeNormalizesMissing(t *testing.T) {
	got, err := DecodeTopicRouteData([]byte(`{"brokerDatas":[{"brokerName":"b"}],"queueDatas":null}`))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if got.QueueDatas == nil || len(got.QueueDatas) != 0 {
		t.Fatalf("queueDatas: got %#v, want empty non-nil", got.QueueDatas)
	}
	if got.FilterServerTable == nil || got.BrokerDatas[0].BrokerAddrs == nil {
		t.Fatalf("maps must be non-nil: %+v", got)
	}
}

func TestRouteDecodeErrors(t *testing.T) {
	tests := map[string]string{
		"empty":                   ``,
		"null":                    `null`,
		"array":                   `[]`,
		"number":                  `7`,
		"truncated":               `{"queueDatas":[`,
		"unterminated string":     `{"queueDatas":"abc`,
		"string perm":             `{"queueDatas":[{"perm":"6"}]}`,
		"float perm":              `{"queueDatas":[{"perm":6.5}]}`,
		"perm overflows int32":    `{"queueDatas":[{"perm":4294967296}]}`,
		"non-numeric broker id":   `{"brokerDatas":[{"brokerAddrs":{"master":"a:1"}}]}`,
		"bare non-numeric key":    `{"brokerDatas":[{"brokerAddrs":{master:"a:1"}}]}`,
		"duplicate broker id":     `{"brokerDatas":[{"brokerAddrs":{"1":"a:1","01":"b:1"}}]}`,
		"bare key too long":       `{"brokerDatas":[{"brokerAddrs":{12345678901234567890:"a:1"}}]}`,
		"trailing garbage":        `{"queueDatas":[]} x`,
		"brokerAddrs not object":  `{"brokerDatas":[{"brokerAddrs":["a:1"]}]}`,
		"nested beyond the limit": `{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := DecodeTopicRouteData([]byte(in))
			if err == nil {
				t.Fatalf("decode %q: got %+v, want error", in, got)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("decode %q: error %v is not ErrMalformed", in, err)
			}
		})
	}
}

func TestRouteDecodeTooLarge(t *testing.T) {
	big := make([]byte, MaxBodyBytes+1)
	if _, err := DecodeTopicRouteData(big); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("decode %d bytes: got %v, want ErrTooLarge", len(big), err)
	}
}

func TestQuoteBareKeys(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{}`, `{}`},
		{`{0:"a"}`, `{"0":"a"}`},
		{`{-1:"a", 22 :"b"}`, `{"-1":"a", "22" :"b"}`},
		{`{"k":{1:[{"x":{3:"y"}}]}}`, `{"k":{"1":[{"x":{"3":"y"}}]}}`},
		{`{"s":"{0:\"not a key\"}"}`, `{"s":"{0:\"not a key\"}"}`},
		{`[1,2,{"a":[3,4]}]`, `[1,2,{"a":[3,4]}]`},
	}
	for _, tt := range tests {
		got, err := quoteBareKeys([]byte(tt.in))
		if err != nil {
			t.Fatalf("quoteBareKeys(%s): %v", tt.in, err)
		}
		if string(got) != tt.want {
			t.Fatalf("quoteBareKeys(%s): got %s, want %s", tt.in, got, tt.want)
		}
	}
}

func FuzzDecodeRouteData(f *testing.F) {
	f.Add([]byte(goldenRouteJSON))
	f.Add(goldenRoute().Encode())
	f.Add([]byte(`{"brokerDatas":[{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"a","cluster":"c"}],"filterServerTable":{},"queueDatas":[]}`))
	f.Add([]byte(`{"orderTopicConf":"a:8","filterServerTable":{"a:1":["f"]},"queueDatas":[null],"brokerDatas":[null]}`))
	f.Add([]byte(`{"queueDatas":[{"brokerName":"\u00e9\"","perm":-1,"readQueueNums":2147483647}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeTopicRouteData(data)
		if err != nil {
			return
		}
		enc := r.Encode()
		again, err := DecodeTopicRouteData(enc)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", enc, err)
		}
		if !reflect.DeepEqual(r, again) {
			t.Fatalf("round trip:\n first %+v\nsecond %+v\n  enc %s", r, again, enc)
		}
		if enc2 := again.Encode(); !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, enc2)
		}
	})
}

func BenchmarkRouteEncode(b *testing.B) {
	r := goldenRoute()
	buf := r.AppendJSON(nil)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf = r.AppendJSON(buf[:0])
	}
}

func BenchmarkRouteDecode(b *testing.B) {
	data := []byte(goldenRouteJSON)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeTopicRouteData(data); err != nil {
			b.Fatal(err)
		}
	}
}
