package client

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
)

// consumedSample decodes one record with props and prepares it as a pull answer's
// message with the queue's offsets 5 and 9.
func consumedSample(t *testing.T, props map[string]string) *MessageExt {
	t.Helper()
	msgs, err := DecodeMessages(testRecord(t, sampleExt(7, []byte("body"), props)))
	if err != nil || len(msgs) != 1 {
		t.Fatalf("decode: %d messages, %v", len(msgs), err)
	}
	o := defaultConsumerOptions()
	c := &consumerCore{o: &o}
	c.prepare(MessageQueue{Topic: "T", BrokerName: "b", QueueID: 3}, msgs[0], queueOffsets(5, 9))
	return msgs[0]
}

// TestConsumedPropertiesStayEncoded: a pulled message builds no property map, yet every
// accessor answers what the map would hold, the queue's offsets included.
func TestConsumedPropertiesStayEncoded(t *testing.T) {
	m := consumedSample(t, map[string]string{"UNIQ_KEY": "U1", "TAGS": "paid", "KEYS": "k1 k2", "DELAY": "3", "SHARDING_KEY": "s"})
	if m.Message.Properties != nil {
		t.Fatalf("map built on decode: %v", m.Message.Properties)
	}
	want := map[string]string{"UNIQ_KEY": "U1", "TAGS": "paid", "KEYS": "k1 k2", "DELAY": "3", "SHARDING_KEY": "s",
		message.PropMinOffset: "5", message.PropMaxOffset: "9"}
	if got := m.Properties(); !maps.Equal(got, want) {
		t.Fatalf("Properties() = %v, want %v", got, want)
	}
	for k, v := range want {
		if got := m.Property(k); got != v {
			t.Errorf("Property(%q) = %q, want %q", k, got, v)
		}
	}
	if m.Tags() != "paid" || !slices.Equal(m.Keys(), []string{"k1", "k2"}) || m.DelayLevel() != 3 || m.ShardingKey() != "s" ||
		m.MsgID != "U1" || m.Property("absent") != "" {
		t.Fatalf("accessors: tags %q keys %v delay %d sharding %q id %q", m.Tags(), m.Keys(), m.DelayLevel(), m.ShardingKey(), m.MsgID)
	}
	// A fresh map each call: changing one changes nothing.
	m.Properties()["TAGS"] = "changed"
	if m.Tags() != "paid" {
		t.Fatalf("a Properties() result changed the message: %q", m.Tags())
	}
	if testing.AllocsPerRun(100, func() { _ = m.Tags(); _ = m.Property(message.PropMaxOffset) }) != 0 {
		t.Fatal("reading one property allocates")
	}
}

// TestConsumedPropertiesAddedWin: the queue's offsets added by the consumer win over
// stored properties of the same name, and a stored duplicate key keeps its last value,
// as the map of DecodeProperties did.
func TestConsumedPropertiesAddedWin(t *testing.T) {
	m := consumedSample(t, map[string]string{message.PropMinOffset: "100", "A": "1"})
	if m.Property(message.PropMinOffset) != "5" || m.Properties()[message.PropMinOffset] != "5" {
		t.Fatalf("MIN_OFFSET %q / %q, want the queue's 5", m.Property(message.PropMinOffset), m.Properties()[message.PropMinOffset])
	}
	raw := "A\x011\x02B\x012\x02A\x013\x02"
	s := storedProps{raw: raw}
	if s.get("A") != "3" || s.build()["A"] != "3" || s.get("B") != "2" {
		t.Fatalf("duplicate key: get %q, build %v", s.get("A"), s.build())
	}
}

// TestConsumedPropertiesChanged: WithProperty on a consumed message keeps the stored
// properties (they move into the map first), and from then on the map is the message's.
func TestConsumedPropertiesChanged(t *testing.T) {
	m := consumedSample(t, map[string]string{"UNIQ_KEY": "U1", "TAGS": "paid"})
	m.WithTags("shipped").WithProperty("UNIQ_KEY", "")
	want := map[string]string{"TAGS": "shipped", message.PropMinOffset: "5", message.PropMaxOffset: "9"}
	if !maps.Equal(m.Message.Properties, want) || !maps.Equal(m.Properties(), want) || m.Property("UNIQ_KEY") != "" {
		t.Fatalf("after change: field %v, Properties() %v", m.Message.Properties, m.Properties())
	}
	m.Properties()["X"] = "y" // the message's own map now
	if m.Property("X") != "y" {
		t.Fatal("Properties() is not the message's map after a change")
	}
}

// TestConsumedMessageSentOn: a consumed message's embedded Message sent again carries
// its stored properties, as it did when they were decoded into the map.
func TestConsumedMessageSentOn(t *testing.T) {
	m := consumedSample(t, map[string]string{"UNIQ_KEY": "U1", "TAGS": "paid"})
	props, id, _, err := properties(&m.Message, time.Now(), nil)
	if err != nil || id != "U1" {
		t.Fatalf("properties: id %q, %v", id, err)
	}
	want := map[string]string{"UNIQ_KEY": "U1", "TAGS": "paid", message.PropMinOffset: "5", message.PropMaxOffset: "9"}
	if got := message.DecodeProperties(props); !maps.Equal(got, want) {
		t.Fatalf("sent properties %v, want %v", got, want)
	}
	if m.Message.Properties != nil {
		t.Fatal("sending a consumed message changed it")
	}
}

// FuzzStoredProps: for any encoded property string, reading one property in place
// answers what the map of them all holds, for every key of the map and for the key
// asked, and neither path panics.
func FuzzStoredProps(f *testing.F) {
	f.Add("UNIQ_KEY\x01U1\x02TAGS\x01t\x02", "TAGS")
	f.Add("A\x011\x02A\x012", "A")
	f.Add("\x01v\x02k\x01\x02x", "k")
	f.Add("MIN_OFFSET\x017\x02", message.PropMinOffset)
	f.Add("", "")
	f.Fuzz(func(t *testing.T, raw, key string) {
		for _, added := range []*addedProps{nil, queueOffsets(1, 2)} {
			s := storedProps{raw: raw, added: added}
			all := s.build()
			for k, v := range all {
				if got := s.get(k); got != v {
					t.Fatalf("get(%q) = %q, map has %q (raw %q)", k, got, v, raw)
				}
			}
			if got := s.get(key); got != all[key] {
				t.Fatalf("get(%q) = %q, map has %q (raw %q)", key, got, all[key], raw)
			}
		}
	})
}
