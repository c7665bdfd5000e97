package header

import "testing"

func extBytes(m map[string]string) int64 {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	return int64(n)
}

// BenchmarkSendDecode decodes the Go client's SEND header, once per produced message.
func BenchmarkSendDecode(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(extBytes(goSend))
	var h SendMessageRequest
	for i := 0; i < b.N; i++ {
		if err := h.Decode(goSend); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendResponseEncode builds the send response header.
func BenchmarkSendResponseEncode(b *testing.B) {
	h := SendMessageResponse{MsgID: "0A00000200002A9F0000000000001000", QueueID: 3, QueueOffset: 123456,
		Region: "DefaultRegion", TraceOn: true}
	b.ReportAllocs()
	b.SetBytes(extBytes(h.Encode()))
	for i := 0; i < b.N; i++ {
		_ = h.Encode()
	}
}

// BenchmarkPullDecode decodes the push consumer's PULL header.
func BenchmarkPullDecode(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(extBytes(goPullPush))
	var h PullMessageRequest
	for i := 0; i < b.N; i++ {
		if err := h.Decode(goPullPush); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPullResponseEncode builds the pull response header.
func BenchmarkPullResponseEncode(b *testing.B) {
	h := PullMessageResponse{NextBeginOffset: 1234567, MinOffset: 0, MaxOffset: 1234999}
	b.ReportAllocs()
	b.SetBytes(extBytes(h.Encode()))
	for i := 0; i < b.N; i++ {
		_ = h.Encode()
	}
}
