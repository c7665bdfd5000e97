package header

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/rocketgo/rocketgo/proto/code"
)

// sendFieldsCase applies lines ("key=value", or "-key" to delete) to a map and to a
// SendFields and holds DecodeSendFields against DecodeSend.
func sendFieldsCase(t *testing.T, reqCode int32, data []byte) {
	t.Helper()
	f, ok := NewSendFields(reqCode)
	if !ok {
		t.Fatalf("code %d is a send code", reqCode)
	}
	m := map[string]string{}
	for _, line := range bytes.Split(data, []byte{'\n'}) {
		if k, del := bytes.CutPrefix(line, []byte{'-'}); del {
			delete(m, string(k))
			f.Put(string(k), "", true)
			continue
		}
		k, v, _ := bytes.Cut(line, []byte{'='})
		m[string(k)] = string(v)
		f.Put(string(k), string(v), false)
	}
	want, werr := DecodeSend(reqCode, m)
	got, gerr := DecodeSendFields(reqCode, &f)
	if (werr == nil) != (gerr == nil) || werr != nil && werr.Error() != gerr.Error() {
		t.Fatalf("code %d: fields error %v, map error %v", reqCode, gerr, werr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("code %d: fields decode %+v, map decode %+v", reqCode, got, want)
	}
}

var sendFieldsCodes = []int32{code.SendMessage, code.SendMessageV2, code.SendBatchMessage, code.SendReplyMessage, code.SendReplyMessageV2}

func TestDecodeSendFields(t *testing.T) {
	h := SendMessageRequestV2{SendMessageRequest: SendMessageRequest{
		ProducerGroup: "g", Topic: "T", DefaultTopic: "TBW102", DefaultTopicQueueNums: 4, QueueID: 1,
		BornTimestamp: 1700000000000, Properties: "TAGS\x01a", Batch: true, MaxReconsumeTimes: new(int32),
	}, BrokerName: "b"}
	for _, c := range sendFieldsCodes {
		var enc map[string]string
		if f, _ := NewSendFields(c); f.form == shortForm {
			enc = h.Encode()
		} else {
			enc = h.SendMessageRequest.Encode()
		}
		var lines []string
		for k, v := range enc {
			lines = append(lines, k+"="+v)
		}
		all := []byte(strings.Join(lines, "\n"))
		sendFieldsCase(t, c, all)
		sendFieldsCase(t, c, append(all, "\ne=x\n-b\nAccessKey=ak\nl=7\nmaxReconsumeTimes=2"...))
		sendFieldsCase(t, c, nil)
	}
	if _, err := DecodeSendFields(code.PullMessage, &SendFields{}); err == nil {
		t.Fatal("a pull code decodes as a send")
	}
}

// FuzzSendFields holds the map-free send header decode against the map decode.
func FuzzSendFields(f *testing.F) {
	f.Add(uint8(1), []byte("a=g\nb=T\nc=TBW102\nd=4\ne=1\nf=0\ng=1\nh=0\ni=x\nj=0\nk=false\nm=true\nl=3\nn=b"))
	f.Add(uint8(0), []byte("producerGroup=g\ntopic=T\ndefaultTopic=D\ndefaultTopicQueueNums=4\nqueueId=-1\nsysFlag=0\nbornTimestamp=1\nflag=0\n-topic\ntopic=U"))
	f.Add(uint8(2), []byte("a=\nb=T\ne=99999999999\nk=TRUE\nm=yes"))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		sendFieldsCase(t, sendFieldsCodes[int(which)%len(sendFieldsCodes)], data)
	})
}
