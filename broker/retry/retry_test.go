package retry

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/broker/internal/refusal"
	"github.com/rocketgo/rocketgo/proto/message"
)

func TestLevelAndDLQ(t *testing.T) {
	if got := Level(0, 2); got != 5 {
		t.Fatalf("Level(0, 2) = %d, want 3+2", got)
	}
	if got := Level(7, 2); got != 7 {
		t.Fatalf("Level(7, 2) = %d, want 7", got)
	}
	if ToDLQ(15, 16, 0) || !ToDLQ(16, 16, 0) || !ToDLQ(0, 16, -1) {
		t.Fatal("ToDLQ: want the DLQ at maxTimes reconsumes or delayLevel < 0 only")
	}
}

func TestTimerDeliverMS(t *testing.T) {
	const now = 1_000_000
	horizon := time.Hour
	for _, c := range []struct {
		deliver, sec, ms string
		want             int64
	}{
		{"", "5", "", now + 5000},
		{"", "", "250", now + 250},
		{"1002000", "", "", 1002000},
		{"10", "", "", now}, // in the past: due now
		{"", "3", "99", now + 3000},
	} {
		got, err := TimerDeliverMS(c.deliver, c.sec, c.ms, now, horizon)
		if err != nil || got != c.want {
			t.Fatalf("%+v: %d, %v; want %d", c, got, err, c.want)
		}
	}
	for _, bad := range [][3]string{{"", "x", ""}, {"", "3601", ""}, {"", "9223372036854775807", ""}} {
		if _, err := TimerDeliverMS(bad[0], bad[1], bad[2], now, horizon); !errors.Is(err, refusal.MessageIllegal) {
			t.Fatalf("%q: %v, want MESSAGE_ILLEGAL", bad, err)
		}
	}
}

func TestParseCount(t *testing.T) {
	if n, err := ParseCount(0, 32, 1024); n != 32 || err != nil {
		t.Fatalf("default: %d %v", n, err)
	}
	if n, err := ParseCount(5, 32, 1024); n != 5 || err != nil {
		t.Fatalf("5: %d %v", n, err)
	}
	if _, err := ParseCount(1025, 32, 1024); !errors.Is(err, refusal.BadRequest) {
		t.Fatalf("over the limit: %v", err)
	}
}

func TestCopyStripsScheduling(t *testing.T) {
	old := &message.Ext{Topic: "T", Flag: 3, SysFlag: message.TxMask | message.FlagMultiTags, Body: []byte("b"),
		Properties: map[string]string{message.PropDelay: "3", message.PropTimerOutMS: "1", "KEYS": "k"}}
	host := netip.MustParseAddrPort("10.0.0.1:10911")
	m := Copy(old, host, 4)
	if m.SysFlag != message.FlagMultiTags || m.Flag != 3 || string(m.Body) != "b" || m.StoreHost != host || m.ReconsumeTimes != 4 {
		t.Fatalf("copy: %+v", m)
	}
	if len(m.Properties) != 1 || m.Properties["KEYS"] != "k" {
		t.Fatalf("properties %v, want only KEYS", m.Properties)
	}
}
