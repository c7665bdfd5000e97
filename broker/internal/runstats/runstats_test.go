package runstats

import (
	"testing"
	"time"
)

func TestRuntimeStatsWindows(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	s := New(now)
	if p, g := s.TPS(now, 0); p != "0.0 0.0 0.0" || g != "0.0 0.0 0.0" {
		t.Fatalf("no samples: %q %q", p, g)
	}
	s.Sample(now, 0)
	for i := 1; i <= 60; i++ { // ten minutes of 10 s ticks, 100 puts each
		now = now.Add(10 * time.Second)
		s.CountPulled(50)
		s.Sample(now, int64(i*100))
	}
	now = now.Add(10 * time.Second)
	s.CountPulled(500)
	// 200 puts and 500 gets in the last 10 s; the minute and ten minutes average lower.
	p, g := s.TPS(now, 6200)
	if p != "20.0 11.67 10.17" || g != "50.0 12.5 5.75" {
		t.Fatalf("tps: put %q get %q", p, g)
	}
	// Midnight rolls the morning snapshots.
	today, _ := s.Mornings()
	if today.Puts != 0 {
		t.Fatalf("today morning before midnight: %d", today.Puts)
	}
	now = now.Add(24 * time.Hour)
	s.Sample(now, 7000)
	today, yesterday := s.Mornings()
	if today.Puts != 7000 || yesterday.Puts != 0 {
		t.Fatalf("after midnight: today %d yesterday %d", today.Puts, yesterday.Puts)
	}
	if got := FormatRuntime(26*time.Hour + 3*time.Minute + 4*time.Second); got != "[ 1 days, 2 hours, 3 minutes, 4 seconds ]" {
		t.Fatalf("FormatRuntime: %q", got)
	}
}
