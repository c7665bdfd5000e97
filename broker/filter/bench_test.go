package filter

import (
	"testing"

	"github.com/rocketgo/rocketgo/proto/message"
)

const benchExpr = "region = 'eu' AND price BETWEEN 10 AND 100 AND TAGS IN ('A', 'B', 'C')"

// BenchmarkCompile measures compiling a typical selector (the broker caches the result
// per expression string).
func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchExpr)))
	for i := 0; i < b.N; i++ {
		if _, err := Compile(benchExpr); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMatchProperties measures evaluating a selector against a record's encoded
// properties, the per-message cost of SQL92 filtering on the pull path.
func BenchmarkMatchProperties(b *testing.B) {
	e, err := Compile(benchExpr)
	if err != nil {
		b.Fatal(err)
	}
	props := []byte(message.EncodeProperties(map[string]string{
		"region": "eu", "price": "42", "TAGS": "B", "UNIQ_KEY": "0A0B0C0D00002A9F0000000000000001",
		"KEYS": "order-1", "CLUSTER": "DefaultCluster",
	}))
	b.ReportAllocs()
	b.SetBytes(int64(len(props)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if !e.MatchProperties(props) {
			b.Fatal("no match")
		}
	}
}
