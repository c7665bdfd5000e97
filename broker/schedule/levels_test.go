package schedule

import (
	"strings"
	"testing"
	"time"
)

func TestParseLevels(t *testing.T) {
	ls, err := ParseLevels(DefaultLevels)
	if err != nil {
		t.Fatal(err)
	}
	if ls.Len() != 18 || ls.Delay(1) != time.Second || ls.Delay(3) != 10*time.Second ||
		ls.Delay(18) != 2*time.Hour || ls.Delay(0) != 0 || ls.Delay(19) != 0 {
		t.Fatalf("default levels %v", ls)
	}
	if got := ls.String(); got != DefaultLevels {
		t.Fatalf("String() = %q, want %q", got, DefaultLevels)
	}
	if ls.Clamp(30) != 18 || ls.Clamp(5) != 5 || ls.Clamp(-1) != -1 {
		t.Fatal("clamp")
	}
	custom, err := ParseLevels("  500ms 1s\t2d ")
	if err != nil {
		t.Fatal(err)
	}
	if custom.Len() != 3 || custom.Delay(1) != 500*time.Millisecond || custom.Delay(3) != 48*time.Hour {
		t.Fatalf("custom levels %v", custom)
	}
	for _, bad := range []string{"", "   ", "1s x", "0s", "-1s", "31d", "1y", "5", strings.Repeat("1s ", MaxLevels+1)} {
		if _, err := ParseLevels(bad); err == nil {
			t.Errorf("ParseLevels(%q) accepted", bad)
		}
	}
}

func TestFromMarker(t *testing.T) {
	if f, ok := ParseFrom(LevelFrom(3, 42)); !ok || f != (From{Level: 3, QueueOffset: 42}) {
		t.Fatalf("level marker: %+v %v", f, ok)
	}
	if f, ok := ParseFrom(TimerFrom(1700000000000, 77)); !ok || f != (From{Timer: true, DeliverMS: 1700000000000, PhysicalOffset: 77}) {
		t.Fatalf("timer marker: %+v %v", f, ok)
	}
	for _, bad := range []string{"", "L", "L1", "L1:", "L0:1", "L65:1", "L1:-1", "T-1:2", "X1:2", "L1:2:3", "Tx:1", "T1:99999999999999999999"} {
		if _, ok := ParseFrom(bad); ok {
			t.Errorf("ParseFrom(%q) accepted", bad)
		}
	}
}
