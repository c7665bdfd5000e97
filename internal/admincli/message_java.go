package admincli

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/htmlindex"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/proto/message"
)

// How the queue-reading commands (message_print.go) render what they read the way
// Apache's Java tools print it: charsets, timestamps, MessageQueue and MessageExt.

// bodyDecoder returns the decoder of a Java charset name (UTF-8, GBK, ISO-8859-1, ...,
// as the WHATWG encoding index knows them). Invalid UTF-8 reads as U+FFFD, as Java's
// decoder replaces malformed input.
func bodyDecoder(charset string) (func([]byte) (string, error), error) {
	if strings.EqualFold(charset, "UTF-8") || strings.EqualFold(charset, "UTF8") {
		return func(b []byte) (string, error) { return string(bytes.ToValidUTF8(b, []byte("\uFFFD"))), nil }, nil
	}
	enc, err := htmlindex.Get(charset)
	if err != nil {
		return nil, fmt.Errorf("-c %q: unknown charset", charset)
	}
	return func(b []byte) (string, error) {
		out, err := enc.NewDecoder().Bytes(b)
		return string(out), err
	}, nil
}

// timestampFormat is PrintMessageSubCommand.timestampFormat: milliseconds since the
// epoch, or yyyy-MM-dd#HH:mm:ss:SSS in local time.
func timestampFormat(e *Env, flag, v string) (int64, error) {
	if ms, err := strconv.ParseInt(v, 10, 64); err == nil {
		return ms, nil
	}
	t, err := time.ParseInLocation("2006-01-02#15:04:05.000", dotMillis(v), e.Loc)
	if err != nil {
		return 0, fmt.Errorf("-%s %q: want milliseconds or yyyy-MM-dd#HH:mm:ss:SSS", flag, v)
	}
	return t.UnixMilli(), nil
}

// dotMillis turns the last ':' of yyyy-MM-dd#HH:mm:ss:SSS into '.', the form Go's
// time layouts parse fractional seconds in.
func dotMillis(v string) string {
	i := strings.LastIndexByte(v, ':')
	if i < 0 {
		return v
	}
	return v[:i] + "." + v[i+1:]
}

// javaQueue is MessageQueue.toString.
func javaQueue(mq client.MessageQueue) string {
	return fmt.Sprintf("MessageQueue [topic=%s, brokerName=%s, queueId=%d]", mq.Topic, mq.BrokerName, mq.QueueID)
}

// javaMessageExt is MessageExt.toString of RocketMQ 4.9 for a pulled message: msgId
// is the offset id (the field, not getMsgId), hosts print as InetSocketAddress does
// ("/ip:port"), the body as Arrays.toString of signed bytes, transactionId is null
// unless the message is a prepared one.
func javaMessageExt(m *client.MessageExt) string {
	txID := "null"
	if javaBool(m.Property(message.PropTranMsg)) {
		txID = javaNull(m.Properties(), client.PropertyUniqKey)
	}
	return fmt.Sprintf("MessageExt [brokerName=%s, queueId=%d, storeSize=%d, queueOffset=%d, sysFlag=%d, bornTimestamp=%d, bornHost=/%s, "+
		"storeTimestamp=%d, storeHost=/%s, msgId=%s, commitLogOffset=%d, bodyCRC=%d, reconsumeTimes=%d, preparedTransactionOffset=%d, "+
		"toString()=Message{topic='%s', flag=%d, properties=%s, body=%s, transactionId='%s'}]",
		m.Queue.BrokerName, m.Queue.QueueID, m.StoreSize, m.QueueOffset, m.SysFlag, m.BornTimestamp, m.BornHost,
		m.StoreTimestamp, m.StoreHost, m.OffsetMsgID, m.CommitLogOffset, int32(m.BodyCRC), m.ReconsumeTimes, m.PreparedTransactionOffset,
		m.Topic, m.Flag, javaMap(m.Properties()), javaBytes(m.Body), txID)
}

// javaBytes is Arrays.toString(byte[]): signed decimal bytes, "null" for none.
func javaBytes(b []byte) string {
	if b == nil {
		return "null"
	}
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = strconv.Itoa(int(int8(x)))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
