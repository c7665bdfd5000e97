package store

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkPutToArrival measures, under ASYNC_FLUSH with one appender, the time from
// the start of Put until an arrival subscriber (the broker's long-poll table) hears of
// the record: the part of a message's end-to-end latency that the store owns. p50 and
// p99 are reported (target L3, docs/performance.md §3).
func BenchmarkPutToArrival(b *testing.B) {
	s, err := Open(benchOptions(b, AsyncFlush))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	heard := make(chan struct{}, 1)
	s.Subscribe(func(Arrival) {
		select {
		case heard <- struct{}{}:
		default:
		}
	})
	recs := make([][]byte, 1024)
	for i := range recs {
		recs[i] = benchRecord(b, i)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		began := time.Now()
		if _, err := s.Put(recs[i%len(recs)]); err != nil {
			b.Fatal(err)
		}
		<-heard
		lat = append(lat, time.Since(began))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds())/1e3, "p99-µs")
}
