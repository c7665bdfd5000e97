package index

import (
	"fmt"
	"testing"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/testutil"
)

// BenchmarkAdd measures the index's cost per message as the broker's indexer pays it:
// one UNIQ_KEY entry per 1 KiB record of a 1 GiB segment, committed every batch
// records, and flushed (Sync, as the checkpoint does every second) every 50000.
// cpu-ns/msg is the process CPU per entry, Sync's msyncs and the page faults of new
// entries included.
func BenchmarkAdd(b *testing.B) {
	for _, batch := range []int{16, 64, 1024} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			x, err := Open(Options{Dir: b.TempDir(), Logger: zerolog.Nop()})
			if err != nil {
				b.Fatal(err)
			}
			defer x.Close()
			const segBytes, recBytes = 1 << 30, 1200
			topic := []byte("BenchTopic")
			key := []byte("7F00000100002A9F000000000000000000")
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := testutil.ProcessCPU(b)
			for i := 0; i < b.N; i++ {
				off := int64(i) * recBytes
				// A unique key per record, as UNIQ_KEY is.
				n := i
				for j := len(key) - 1; j >= len(key)-12; j-- {
					key[j] = "0123456789ABCDEF"[n&15]
					n >>= 4
				}
				if err := x.Add(topic, key, off, 1_700_000_000_000+int64(i)/100); err != nil {
					b.Fatal(err)
				}
				if (i+1)%batch == 0 {
					if err := x.Commit(off + recBytes); err != nil {
						b.Fatal(err)
					}
				}
				// The checkpoint flushes every second: 50k messages at the broker's rate.
				if (i+1)%50000 == 0 {
					if err := x.Sync(); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := x.Commit(int64(b.N) * recBytes); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			b.ReportMetric(float64(testutil.ProcessCPU(b)-cpu0)/float64(b.N), "cpu-ns/msg")
		})
	}
}
