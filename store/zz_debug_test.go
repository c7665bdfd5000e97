package store

import (
	"testing"
	"time"
)

func TestZZDebugPut(t *testing.T) {
	o := DefaultOptions()
	o.Dir = t.TempDir()
	o.DiskWarnRatio, o.DiskMaxRatio = 1, 1
	s, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := benchRecord(t, 1)
	var slow, slowest time.Duration
	nslow := 0
	t0 := time.Now()
	for i := 0; i < 500000; i++ {
		a := time.Now()
		if _, err := s.Put(rec); err != nil {
			t.Fatal(err)
		}
		d := time.Since(a)
		if d > 20*time.Microsecond {
			nslow++
			slow += d
			if d > slowest {
				slowest = d
			}
		}
		if i%100000 == 0 {
			t.Logf("i=%d written=%d populated=%d dispatched=%d", i, s.cl.Written(), s.cl.PopulatedForTest(), s.d.pos.Load())
		}
	}
	t.Logf("total %v, slow puts %d taking %v, slowest %v", time.Since(t0), nslow, slow, slowest)
}
