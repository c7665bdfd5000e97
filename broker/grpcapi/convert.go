package grpcapi

import (
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/rocketgo/rocketgo/broker/msgtype"
	"github.com/rocketgo/rocketgo/proto/message"
	pb "github.com/rocketgo/rocketgo/proto/rmqpb"
)

// maxRecordsPerAnswer bounds how many records one broker answer is decoded into.
const maxRecordsPerAnswer = 1024

// decodeOne decodes the single stored record a server-initiated request carries.
func decodeOne(b []byte) (*message.Ext, error) {
	m, _, err := message.DecodeRecord(b)
	return m, err
}

// decodeRecords decodes the stored records of a POP or PULL answer's body.
func decodeRecords(b []byte) ([]*message.Ext, error) {
	var out []*message.Ext
	for len(b) > 0 {
		if len(out) == maxRecordsPerAnswer {
			return nil, fmt.Errorf("more than %d records in one answer", maxRecordsPerAnswer)
		}
		m, n, err := message.DecodeRecord(b)
		if err != nil {
			return nil, err
		}
		if n <= 0 || n > len(b) {
			return nil, errors.New("record size out of range")
		}
		out = append(out, m)
		b = b[n:]
	}
	return out, nil
}

// systemPropertyNames are the properties the gRPC message carries in its system
// properties; every other property is a user property.
var systemPropertyNames = map[string]bool{
	message.PropTags: true, message.PropKeys: true, message.PropUniqKey: true,
	message.PropTimerDeliverMS: true, msgtype.PropShardingKey: true, propTraceContext: true,
	message.PropReconsumeTime: true, message.PropTranMsg: true, message.PropProducerGroup: true,
	propPopCK: true,
}

// toProto converts a stored message to the gRPC form: the system properties from the
// record and its reserved properties, the user's properties as they were sent, a CRC32
// body digest in lower-case hex (the Go SDK compares it as it computes it) and the receipt handle when received by POP.
func toProto(m *message.Ext, brokerName, receipt string) *pb.Message {
	body := m.Body
	if m.SysFlag&message.FlagCompressed != 0 {
		if d, err := message.Decompress(body, 64<<20); err == nil {
			body = d
		}
	}
	sp := &pb.SystemProperties{
		Keys:          m.Keys(),
		MessageId:     m.MsgID(),
		BodyDigest:    &pb.Digest{Type: pb.DigestType_CRC32, Checksum: strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 16)},
		BodyEncoding:  pb.Encoding_IDENTITY,
		MessageType:   pb.MessageType_NORMAL,
		BornTimestamp: timestamppb.New(time.UnixMilli(m.BornTimestamp)),
		BornHost:      m.BornHost.Addr().String(),
		StoreHost:     m.StoreHost.String(),
		QueueId:       m.QueueID,
	}
	sp.StoreTimestamp = timestamppb.New(time.UnixMilli(m.StoreTimestamp))
	off := m.QueueOffset
	sp.QueueOffset = &off
	attempt := m.ReconsumeTimes + 1
	sp.DeliveryAttempt = &attempt
	if t := m.Tags(); t != "" {
		sp.Tag = &t
	}
	if g := m.Properties[msgtype.PropShardingKey]; g != "" {
		sp.MessageGroup = &g
		sp.MessageType = pb.MessageType_FIFO
	}
	if d := m.Properties[message.PropTimerDeliverMS]; d != "" {
		if ms, err := strconv.ParseInt(d, 10, 64); err == nil {
			sp.DeliveryTimestamp = timestamppb.New(time.UnixMilli(ms))
			sp.MessageType = pb.MessageType_DELAY
		}
	}
	if m.Properties[message.PropTranMsg] == "true" {
		sp.MessageType = pb.MessageType_TRANSACTION
	}
	if tc := m.Properties[propTraceContext]; tc != "" {
		sp.TraceContext = &tc
	}
	if receipt != "" {
		sp.ReceiptHandle = &receipt
	}
	user := make(map[string]string, len(m.Properties))
	for k, v := range m.Properties {
		if !systemPropertyNames[k] && !reservedProperties[k] {
			user[k] = v
		}
	}
	topic := m.Topic
	if rt := m.Properties[message.PropRetryTopic]; rt != "" {
		topic = rt
	}
	return &pb.Message{Topic: &pb.Resource{Name: topic}, UserProperties: user, SystemProperties: sp, Body: body}
}
