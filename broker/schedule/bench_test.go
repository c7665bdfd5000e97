package schedule

import (
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
)

// BenchmarkProjectionApplyPlain measures what the scheduler's projection costs the
// dispatcher for an ordinary message, which every record of the log pays.
func BenchmarkProjectionApplyPlain(b *testing.B) {
	ls, _ := ParseLevels(DefaultLevels)
	p := &projection{levels: ls}
	rec, err := message.EncodeRecord(nil, &message.Ext{Topic: "Orders", Body: make([]byte, 1024), BornHost: born, StoreHost: host,
		Properties: props(message.PropTags, "paid", message.PropKeys, "order-1", message.PropUniqKey,
			"0A0B0C0D00002A9F0000000000000001", message.PropCluster, "DefaultCluster")})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Apply(rec, int64(i)*int64(len(rec)))
	}
	if len(p.take(nil)) != 0 {
		b.Fatal("a plain record queued an op")
	}
}

// BenchmarkLevelDelivery measures delivering due delay-level messages: read from
// SCHEDULE_TOPIC_XXXX, copy to the real topic, append.
func BenchmarkLevelDelivery(b *testing.B) {
	e := &env{t: b, dir: b.TempDir(), clk: newClock()}
	e.levels, _ = ParseLevels("1s")
	e.open()
	defer e.close()
	rec, err := message.EncodeRecord(nil, &message.Ext{Topic: TopicSchedule, Body: make([]byte, 1024), BornHost: born, StoreHost: host,
		Properties: props(message.PropDelay, "1", message.PropRealTopic, "Real", message.PropRealQueueID, "0",
			message.PropUniqKey, "0A0B0C0D00002A9F0000000000000001")})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(rec)))
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := min(b.N-done, 4096)
		b.StopTimer()
		for i := 0; i < n; i++ {
			if _, err := e.st.Put(rec); err != nil {
				b.Fatal(err)
			}
		}
		end := e.st.MaxPhysicalOffset()
		for e.st.Stats().DispatchedOffset < end {
			time.Sleep(100 * time.Microsecond)
		}
		b.StartTimer()
		before := e.s.Stats().LevelDelivered
		for e.s.Stats().LevelDelivered-before < int64(n) {
			e.s.step(t0.Add(time.Hour))
		}
		done += n
	}
}
