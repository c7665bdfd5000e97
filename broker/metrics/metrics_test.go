package metrics

import "testing"

// BenchmarkSent is the send path's whole metrics cost: one call per stored message.
func BenchmarkSent(b *testing.B) {
	m := New(Node{Cluster: "c", BrokerName: "b"}, 1000, nil)
	m.Sent("Bench", Normal, 1, 1024)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m.Sent("Bench", Normal, 1, 1024)
	}
}
