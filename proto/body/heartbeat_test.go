package body

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readGolden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSpace(b)
}

func TestDecodeHeartbeatGoClient(t *testing.T) {
	h, err := DecodeHeartbeat(readGolden(t, "heartbeat_go.json"))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if h.ClientID != "10.0.0.5@12345" {
		t.Fatalf("clientID: got %q", h.ClientID)
	}
	if len(h.ProducerDataSet) != 1 || h.ProducerDataSet[0].GroupName != "pg" {
		t.Fatalf("producers: got %+v", h.ProducerDataSet)
	}
	if len(h.ConsumerDataSet) != 1 {
		t.Fatalf("consumers: got %d, want 1", len(h.ConsumerDataSet))
	}
	c := h.ConsumerDataSet[0]
	if c.GroupName != "cg" || c.ConsumeType != ConsumePassively || c.MessageModel != Clustering ||
		c.ConsumeFromWhere != ConsumeFromLastOffset || c.UnitMode {
		t.Fatalf("consumer: got %+v", c)
	}
	if len(c.SubscriptionDataSet) != 2 {
		t.Fatalf("subscriptions: got %d, want 2", len(c.SubscriptionDataSet))
	}
	s := c.SubscriptionDataSet[0]
	if s.Topic != "TopicA" || s.SubString != "tagA || tagB" || s.ExpressionType != ExpressionTag ||
		s.SubVersion != 1795546259088859958 {
		t.Fatalf("sub 0: got %+v", s)
	}
	if strings.Join(s.TagsSet, ",") != "tagA,tagB" || strings.Join(s.CodeSet, ",") != "3552231,3552232" {
		t.Fatalf("sub 0 sets: tags %v codes %v", s.TagsSet, s.CodeSet)
	}
	r := c.SubscriptionDataSet[1]
	if r.Topic != "%RETRY%cg" || r.SubString != SubAll || len(r.TagsSet) != 0 || len(r.CodeSet) != 0 {
		t.Fatalf("sub 1: got %+v", r)
	}
}

func TestDecodeHeartbeatJavaClient(t *testing.T) {
	h, err := DecodeHeartbeat(readGolden(t, "heartbeat_java.json"))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	s := h.ConsumerDataSet[0].SubscriptionDataSet[0]
	if len(s.CodeSet) != 1 || s.CodeSet[0] != "3552231" {
		t.Fatalf("numeric codeSet: got %v, want [3552231]", s.CodeSet)
	}
	if h.ConsumerDataSet[0].MessageModel != Broadcasting || s.SubVersion != 1681190713500 {
		t.Fatalf("consumer: got %+v", h.ConsumerDataSet[0])
	}
}

func TestHeartbeatEncodeMatchesGoClient(t *testing.T) {
	golden := readGolden(t, "heartbeat_go.json")
	h, err := DecodeHeartbeat(golden)
	if err != nil {
		t.Fatal(err)
	}
	// Field order of the structs is the Go client's, so the bytes must be identical.
	if got := h.Encode(); !bytes.Equal(got, golden) {
		t.Fatalf("encode:\n got %s\nwant %s", got, golden)
	}
}

func TestHeartbeatEncodeEmptySets(t *testing.T) {
	h := &HeartbeatData{ClientID: "c", ConsumerDataSet: []ConsumerData{{GroupName: "g",
		SubscriptionDataSet: []SubscriptionData{{Topic: "t"}}}}}
	got := string(h.Encode())
	for _, want := range []string{`"producerDataSet":[]`, `"tagsSet":[]`, `"codeSet":[]`} {
		if !strings.Contains(got, want) {
			t.Fatalf("encode: %s lacks %s", got, want)
		}
	}
	if strings.Contains(got, "null") {
		t.Fatalf("encode: %s contains null", got)
	}
}

func TestDecodeHeartbeatErrors(t *testing.T) {
	cases := []struct {
		name, body, want string
	}{
		{"empty", "", "empty body"},
		{"not json", "{clientID:", "invalid character"},
		{"array", "[]", "cannot unmarshal array"},
		{"no client", `{"producerDataSet":[]}`, "clientID missing"},
		{"nameless producer", `{"clientID":"c","producerDataSet":[{}]}`, "producerDataSet[0] has no groupName"},
		{"nameless consumer", `{"clientID":"c","consumerDataSet":[{"groupName":""}]}`, "consumerDataSet[0] has no groupName"},
		{"topicless sub", `{"clientID":"c","consumerDataSet":[{"groupName":"g","subscriptionDataSet":[{"subString":"*"}]}]}`, "has no topic"},
		{"bad code", `{"clientID":"c","consumerDataSet":[{"groupName":"g","subscriptionDataSet":[{"topic":"t","codeSet":["x"]}]}]}`, "not an integer"},
		{"object code", `{"clientID":"c","consumerDataSet":[{"groupName":"g","subscriptionDataSet":[{"topic":"t","codeSet":[{}]}]}]}`, "neither a string nor a number"},
		{"wrong type", `{"clientID":5}`, "cannot unmarshal number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeHeartbeat([]byte(tc.body))
			if err == nil {
				t.Fatalf("decode %q: got nil error", tc.body)
			}
			if !errors.Is(err, ErrBadHeartbeat) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("decode %q: got %v, want ErrBadHeartbeat naming %q", tc.body, err, tc.want)
			}
		})
	}
}

func TestDecodeHeartbeatTooManyGroups(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"clientID":"c","producerDataSet":[`)
	for i := 0; i <= MaxHeartbeatGroups; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"groupName":"g"}`)
	}
	b.WriteString(`]}`)
	if _, err := DecodeHeartbeat([]byte(b.String())); err == nil || !strings.Contains(err.Error(), "groups, at most") {
		t.Fatalf("decode: got %v, want a group-count error", err)
	}
}

func TestSubscriptionCloneEqual(t *testing.T) {
	s := &SubscriptionData{Topic: "t", SubString: "a||b", TagsSet: []string{"a", "b"}, CodeSet: CodeSet{"97", "98"}, SubVersion: 3}
	c := s.Clone()
	if !s.Equal(c) {
		t.Fatalf("clone: %+v differs from %+v", c, s)
	}
	c.TagsSet[0] = "z"
	if s.TagsSet[0] != "a" {
		t.Fatal("clone shares the tags slice")
	}
	if s.Equal(c) {
		t.Fatal("equal after changing a tag")
	}
}

func FuzzDecodeHeartbeat(f *testing.F) {
	f.Add(readGolden(f, "heartbeat_go.json"))
	f.Add(readGolden(f, "heartbeat_java.json"))
	f.Add([]byte(`{"clientID":"c"}`))
	f.Add([]byte(`{"clientID":"c","consumerDataSet":[{"groupName":"g","subscriptionDataSet":[{"topic":"t","codeSet":[1,"2"]}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := DecodeHeartbeat(b)
		if err != nil {
			return
		}
		enc := h.Encode()
		h2, err := DecodeHeartbeat(enc)
		if err != nil {
			t.Fatalf("re-decode of %s: %v", enc, err)
		}
		// Encoding normalises nil sets to [], so compare the canonical bytes.
		if enc2 := h2.Encode(); !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip:\n%s\n%s", enc, enc2)
		}
	})
}

func TestDecodersRefuseHugeBodies(t *testing.T) {
	big := bytes.Repeat([]byte(" "), MaxBodyBytes+1)
	decoders := map[string]func([]byte) error{
		"heartbeat":  func(b []byte) error { _, err := DecodeHeartbeat(b); return err },
		"lock":       func(b []byte) error { _, err := DecodeLockBatchRequest(b); return err },
		"lockResp":   func(b []byte) error { _, err := DecodeLockBatchResponse(b); return err },
		"consumers":  func(b []byte) error { _, err := DecodeConsumerList(b); return err },
		"consumer":   func(b []byte) error { _, err := DecodeConsumerConnection(b); return err },
		"producer":   func(b []byte) error { _, err := DecodeProducerConnection(b); return err },
		"kv":         func(b []byte) error { _, err := DecodeKVTable(b); return err },
		"topicStats": func(b []byte) error { _, err := DecodeTopicStatsTable(b); return err },
		"consume":    func(b []byte) error { _, err := DecodeConsumeStats(b); return err },
	}
	for name, dec := range decoders {
		if err := dec(big); !errors.Is(err, ErrTooLarge) || !errors.Is(err, ErrMalformed) {
			t.Fatalf("%s: got %v, want ErrTooLarge and ErrMalformed", name, err)
		}
	}
}

func BenchmarkDecodeHeartbeat(b *testing.B) {
	in := readGolden(b, "heartbeat_go.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := DecodeHeartbeat(in); err != nil {
			b.Fatal(err)
		}
	}
}
