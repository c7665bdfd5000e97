package broker

import (
	"net/netip"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/store"
)

// sendOKExt is the extFields of a stored plain send's answer (what fillSendOK puts in
// a map: msgId, queueId, queueOffset, MSG_REGION, TRACE_ON), written straight into the
// answer's frame: the batched send path answers every message, and a map plus three
// number and id strings per answer cost more than the rest of the encoding.
type sendOKExt struct {
	host        netip.AddrPort
	phys        int64 // physical offset of the record: the msgId
	queueOffset int64
	queueID     int32
	traceOn     bool
	region      string
}

// WriteExt implements codec.ExtWriter.
func (x *sendOKExt) WriteExt(e codec.ExtEncoder) codec.ExtEncoder {
	var id [message.OffsetMsgIDLenV6]byte
	e.StrBytes("msgId", message.AppendOffsetMsgID(id[:0], x.host, x.phys))
	e.Int("queueId", int64(x.queueID))
	e.Int("queueOffset", x.queueOffset)
	e.Str(message.PropMsgRegion, x.region)
	e.Bool(message.PropTraceOn, x.traceOn)
	return e
}

// sendAnswer is a pooled SUCCESS answer of a plain send with its extFields writer.
type sendAnswer struct {
	cmd codec.Command
	ext sendOKExt
}

// answerOK returns the SUCCESS answer to req, a plain send stored at res in queueID,
// taken from sc's free answers (reused once the server has encoded it).
func (b *Broker) answerOK(sc *sendScratch, req *codec.Command, host netip.AddrPort, queueID int32, res store.PutResult) *codec.Command {
	var a *sendAnswer
	if n := len(sc.free); n > 0 {
		a = sc.free[n-1]
		sc.free[n-1] = nil
		sc.free = sc.free[:n-1]
	} else {
		a = new(sendAnswer)
	}
	a.ext = sendOKExt{
		host: host, phys: res.PhysicalOffset, queueOffset: res.QueueOffset, queueID: queueID,
		traceOn: b.opts.TraceOn, region: b.opts.Region,
	}
	a.cmd = codec.Command{
		Code:      code.Success,
		Language:  codec.DefaultLanguage,
		Version:   codec.DefaultVersion,
		Opaque:    req.Opaque,
		Flag:      codec.FlagResponse,
		Serialize: req.Serialize,
		Ext:       &a.ext,
	}
	sc.owned = append(sc.owned, a)
	return &a.cmd
}
