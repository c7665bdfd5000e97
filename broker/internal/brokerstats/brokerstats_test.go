package brokerstats

import (
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
)

// TestWindows: the minute window keeps 7 ten-second samples (60 s), the hour window
// samples every 10 min, the day window every hour; figures come from the first and
// last sample of each (StatsItem.computeStatsData).
func TestWindows(t *testing.T) {
	clock := testutil.NewClock()
	s := New(clock.Now)
	k := Key{Name: GroupGetNums, Topic: "T", Group: "g"}
	if _, ok := s.Get(GroupGetNums, "T@g"); ok {
		t.Fatal("an item never counted exists")
	}
	// 20 minutes: every 10 s one pull of 5 messages.
	for i := 0; i < 120; i++ {
		s.Add(k, 5)
		clock.Advance(10 * time.Second)
		s.Sample()
	}
	d, ok := s.Get(GroupGetNums, "T@g")
	if !ok {
		t.Fatal("counted item missing")
	}
	// Minute: the last 7 samples span 60 s and 6 pulls of 5.
	if want := (body.BrokerStatsItem{Sum: 30, Tps: 0.5, Avgpt: 5}); d.StatsMinute != want {
		t.Errorf("minute %+v, want %+v", d.StatsMinute, want)
	}
	// Hour: samples at 0, 10 and 20 min: 120 pulls of 5 over 1200 s.
	if want := (body.BrokerStatsItem{Sum: 600, Tps: 0.5, Avgpt: 5}); d.StatsHour != want {
		t.Errorf("hour %+v, want %+v", d.StatsHour, want)
	}
	// Day: only the zero sample so far.
	if d.StatsDay != (body.BrokerStatsItem{}) {
		t.Errorf("day %+v before an hour passed", d.StatsDay)
	}
	if _, ok := s.Get(TopicPutNums, "T"); ok {
		t.Error("TOPIC_PUT_NUMS of T exists without a put")
	}
}
