package body

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func TestClusterInfoGolden(t *testing.T) {
	c := &ClusterInfo{
		BrokerAddrTable: map[string]BrokerData{
			"broker-b": {Cluster: "C2", BrokerName: "broker-b", BrokerAddrs: map[int64]string{0: "10.0.0.3:10911"}},
			"broker-a": {Cluster: "C1", BrokerName: "broker-a", BrokerAddrs: map[int64]string{1: "10.0.0.2:10911", 0: "10.0.0.1:10911"}},
		},
		ClusterAddrTable: map[string][]string{"C2": {"broker-b"}, "C1": {"broker-a"}},
	}
	want := `{"brokerAddrTable":{` +
		`"broker-a":{"brokerAddrs":{"0":"10.0.0.1:10911","1":"10.0.0.2:10911"},"brokerName":"broker-a","cluster":"C1"},` +
		`"broker-b":{"brokerAddrs":{"0":"10.0.0.3:10911"},"brokerName":"broker-b","cluster":"C2"}},` +
		`"clusterAddrTable":{"C1":["broker-a"],"C2":["broker-b"]}}`
	got := c.Encode()
	if string(got) != want {
		t.Fatalf("encode:\n got %s\nwant %s", got, want)
	}
	back, err := DecodeClusterInfo(got)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", back, c)
	}
	if empty := (&ClusterInfo{}).Encode(); string(empty) != `{"brokerAddrTable":{},"clusterAddrTable":{}}` {
		t.Fatalf("empty encode: got %s", empty)
	}
}

func TestClusterInfoDecodeJava(t *testing.T) {
	// A Java namesrv's body: fastjson, bare brokerId keys.
	in := `{"brokerAddrTable":{"broker-a":{"brokerAddrs":{0:"10.0.0.1:10911"},"brokerName":"broker-a","cluster":"C"}},"clusterAddrTable":{"C":["broker-a"]}}`
	got, err := DecodeClusterInfo([]byte(in))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	want := &ClusterInfo{
		BrokerAddrTable:  map[string]BrokerData{"broker-a": {Cluster: "C", BrokerName: "broker-a", BrokerAddrs: map[int64]string{0: "10.0.0.1:10911"}}},
		ClusterAddrTable: map[string][]string{"C": {"broker-a"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decode:\n got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{`null`, `{"brokerAddrTable":{"b":{"brokerAddrs":{x:"a"}}}}`, `{"clusterAddrTable":{"C":"broker-a"}}`} {
		if _, err := DecodeClusterInfo([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Fatalf("decode %s: got %v, want ErrMalformed", bad, err)
		}
	}
}

func TestTopicList(t *testing.T) {
	tests := []struct {
		in   TopicList
		want string
	}{
		{TopicList{}, `{"topicList":[]}`},
		{TopicList{TopicList: []string{"A", "B"}}, `{"topicList":["A","B"]}`},
		{TopicList{TopicList: []string{"C"}, BrokerAddr: "10.0.0.1:10911"}, `{"brokerAddr":"10.0.0.1:10911","topicList":["C"]}`},
	}
	for _, tt := range tests {
		got := tt.in.Encode()
		if string(got) != tt.want {
			t.Fatalf("encode %+v: got %s, want %s", tt.in, got, tt.want)
		}
		back, err := DecodeTopicList(got)
		if err != nil {
			t.Fatalf("decode %s: %v", got, err)
		}
		want := tt.in
		if want.TopicList == nil {
			want.TopicList = []string{}
		}
		if !reflect.DeepEqual(*back, want) {
			t.Fatalf("decode %s: got %+v, want %+v", got, back, want)
		}
		// The official Go client decodes this body with encoding/json into its own
		// struct, matching keys case-insensitively.
		var client struct {
			TopicList  []string
			BrokerAddr string
		}
		if err := json.Unmarshal(got, &client); err != nil || len(client.TopicList) != len(tt.in.TopicList) || client.BrokerAddr != tt.in.BrokerAddr {
			t.Fatalf("client decode of %s: got %+v, %v", got, client, err)
		}
	}
	if _, err := DecodeTopicList([]byte(`{"topicList":"A"}`)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("decode string list: got %v, want ErrMalformed", err)
	}
}
