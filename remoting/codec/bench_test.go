package codec

import (
	"encoding/json"
	"testing"
)

func BenchmarkEncodeFrame(b *testing.B) {
	for _, typ := range []struct {
		name string
		t    byte
	}{{"json", SerializeJSON}, {"rocketmq", SerializeRocketMQ}} {
		b.Run(typ.name, func(b *testing.B) {
			c := sendRequest(1024)
			c.Serialize = typ.t
			buf, _ := AppendFrame(nil, c, 0)
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				buf, err = AppendFrame(buf[:0], c, 0)
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecodeFrame(b *testing.B) {
	for _, typ := range []struct {
		name string
		t    byte
	}{{"json", SerializeJSON}, {"rocketmq", SerializeRocketMQ}} {
		b.Run(typ.name, func(b *testing.B) {
			c := sendRequest(1024)
			c.Serialize = typ.t
			f, _ := AppendFrame(nil, c, 0)
			b.SetBytes(int64(len(f)))
			b.ReportAllocs()
			for b.Loop() {
				n, err := FrameLength(f, 0)
				if err != nil {
					b.Fatal(err)
				}
				d, err := DecodeFrame(f[4 : 4+n])
				if err != nil || len(d.ExtFields) != len(c.ExtFields) {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeJSONHeaderStdlib is the reference the hand-written JSON decoder is
// measured against: encoding/json into the Go client's header shape.
func BenchmarkDecodeJSONHeaderStdlib(b *testing.B) {
	c := sendRequest(0)
	h := appendJSONHeader(nil, c)
	b.SetBytes(int64(len(h)))
	b.ReportAllocs()
	for b.Loop() {
		var v struct {
			Code      int16             `json:"code"`
			Language  string            `json:"language"`
			Version   int32             `json:"version"`
			Opaque    int32             `json:"opaque"`
			Flag      int32             `json:"flag"`
			Remark    string            `json:"remark"`
			ExtFields map[string]string `json:"extFields"`
		}
		if err := json.Unmarshal(h, &v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeJSONHeader(b *testing.B) {
	c := sendRequest(0)
	h := appendJSONHeader(nil, c)
	b.SetBytes(int64(len(h)))
	b.ReportAllocs()
	for b.Loop() {
		var d Command
		if err := decodeJSONHeader(h, &d, nil); err != nil {
			b.Fatal(err)
		}
	}
}
