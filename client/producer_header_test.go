package client

import (
	"maps"
	"testing"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// TestSendHeaderMatchesV2Encode: the map-free send header carries exactly the entries
// of header.SendMessageRequestV2.Encode for the same fields, and a frame of it in either
// serialization decodes (as the broker decodes it) to those entries and to the same
// long-form header DecodeSend gives the broker.
func TestSendHeaderMatchesV2Encode(t *testing.T) {
	for _, h := range []sendHeader{
		{producerGroup: "PG", topic: "T", defaultTopic: "TBW102", defaultTopicQueueNums: 4, queueID: 3,
			sysFlag: 4, bornTimestamp: 1726731935123, flag: -7, properties: "TAGS\x01t\x02UNIQ_KEY\x01ID\x02"},
		{producerGroup: "ns%PG", topic: "ns%T", defaultTopic: "TBW102", queueID: 0, batch: true},
		{producerGroup: "PG", topic: "%RETRY%G", queueID: -1, properties: "\"quoted\"\\"},
	} {
		want := (&header.SendMessageRequestV2{SendMessageRequest: header.SendMessageRequest{
			ProducerGroup: h.producerGroup, Topic: h.topic, DefaultTopic: h.defaultTopic,
			DefaultTopicQueueNums: h.defaultTopicQueueNums, QueueID: h.queueID, SysFlag: h.sysFlag,
			BornTimestamp: h.bornTimestamp, Flag: h.flag, Properties: h.properties, Batch: h.batch,
		}}).Encode()
		if got := codec.ExtMap(&h); !maps.Equal(got, want) {
			t.Fatalf("entries: got %v, want %v", got, want)
		}
		var decoded []*codec.Command
		for _, ser := range []byte{codec.SerializeJSON, codec.SerializeRocketMQ} {
			c := &codec.Command{Code: code.SendMessageV2, Language: "GO", Version: 317, Opaque: 9, Ext: &h, Body: []byte("m"), Serialize: ser}
			f, err := codec.AppendFrame(nil, c, 0)
			if err != nil {
				t.Fatal(err)
			}
			d, err := codec.DecodeFrame(f[codec.LengthPrefixBytes:])
			if err != nil {
				t.Fatalf("serialize %d: %v", ser, err)
			}
			if !maps.Equal(d.ExtFields, want) {
				t.Fatalf("serialize %d: decoded %v, want %v", ser, d.ExtFields, want)
			}
			decoded = append(decoded, d)
		}
		j, r := decoded[0], decoded[1]
		if j.Code != r.Code || j.Opaque != r.Opaque || j.Language != r.Language || j.Version != r.Version ||
			j.Flag != r.Flag || j.Remark != r.Remark || string(j.Body) != string(r.Body) {
			t.Fatalf("JSON %+v and ROCKETMQ %+v frames differ", j, r)
		}
		hj, errj := header.DecodeSend(code.SendMessageV2, j.ExtFields)
		hr, errr := header.DecodeSend(code.SendMessageV2, r.ExtFields)
		if errj != nil || errr != nil || hj.Topic != h.topic || hj.QueueID != h.queueID || hj.Batch != h.batch ||
			hj.Properties != hr.Properties || hj.BornTimestamp != hr.BornTimestamp || hj.SysFlag != hr.SysFlag {
			t.Fatalf("broker view: JSON %+v (%v), ROCKETMQ %+v (%v)", hj, errj, hr, errr)
		}
	}
}
