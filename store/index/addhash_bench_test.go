package index

import "testing"

// BenchmarkAddHashOnly: Add without commits (entries dropped every 4096), topic and
// key as the broker's benchmark sends them: an Add's hashing and stores into the mapping.
func BenchmarkAddHashOnly(b *testing.B) {
	x := openTemp(b)
	topic := []byte("mqbench_a_1796625019985218322")
	key := []byte("7F00000100002A9F0000000000000000")
	for i := 0; i < b.N; i++ {
		key[31] = byte(i)
		_ = x.Add(topic, key, int64(i)*1200, 1)
		if x.pend+len(x.queued) >= 4096 {
			x.rollback()
		}
	}
}
