package broker

import (
	"maps"
	"net/netip"
	"testing"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/store"
)

// TestSendAnswerMatchesMap: the batched path's answer, written without a map, decodes
// on the wire (both serializations) to exactly the extFields sendOK puts in its map.
func TestSendAnswerMatchesMap(t *testing.T) {
	b := openInProcess(t, func(o *Options, _ *store.Options) { o.Region = "R1"; o.TraceOn = false })
	for _, host := range []netip.AddrPort{netip.MustParseAddrPort("10.1.2.3:10911"), netip.MustParseAddrPort("[fe80::1]:10911")} {
		for _, ser := range []byte{codec.SerializeJSON, codec.SerializeRocketMQ} {
			req := &codec.Command{Code: code.SendMessageV2, Opaque: 9, Serialize: ser}
			res := store.PutResult{PhysicalOffset: 1 << 40, QueueOffset: 77}
			want := b.sendOK(req, code.Success, "", host, 3, res, nil)
			sc := getSendScratch()
			got := b.answerOK(sc, req, host, 3, res)
			if m := codec.ExtMap(got.Ext); !maps.Equal(m, want.ExtFields) {
				t.Fatalf("answer extFields %v, sendOK's %v", m, want.ExtFields)
			}
			f, err := codec.AppendFrame(nil, got, 0)
			if err != nil {
				t.Fatal(err)
			}
			d, err := codec.DecodeFrame(f[codec.LengthPrefixBytes:])
			if err != nil {
				t.Fatal(err)
			}
			if d.Code != code.Success || d.Opaque != 9 || !d.IsResponse() || d.Serialize != ser || !maps.Equal(d.ExtFields, want.ExtFields) {
				t.Fatalf("answer decodes to %+v, want extFields %v", d, want.ExtFields)
			}
			sc.release()
		}
	}
}
