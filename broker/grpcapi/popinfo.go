package grpcapi

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/message"
)

// popInfo is the POP_MESSAGE answer's header as a client reads it to give each message
// its extra info (MQClientAPIImpl.processPopResponse; the layouts are ExtraInfoUtil's):
//
//	startOffsetInfo  "<retry> <queueId> <startOffset>" per queue, ';'-joined
//	msgOffsetInfo    "<retry> <queueId> <off>,<off>,…" per queue, ';'-joined
//
// where <retry> is "0" for a normal topic, "1" for a %RETRY% topic, "2" for a POP retry
// topic (%RETRY%group+topic).
type popInfo struct {
	popTime, invisibleTime int64
	reviveQid              int32
	start                  map[string]int64 // "<retry>@<queueId>" → first offset popped
}

// maxPopQueues bounds the queue entries of one answer's offset info.
const maxPopQueues = 1024

// parsePopInfo reads the answer's header fields; it never panics on a hostile header.
func parsePopInfo(ext map[string]string) (popInfo, error) {
	var pi popInfo
	var err error
	if pi.popTime, err = strconv.ParseInt(ext["popTime"], 10, 64); err != nil {
		return pi, fmt.Errorf("popTime %q", ext["popTime"])
	}
	if pi.invisibleTime, err = strconv.ParseInt(ext["invisibleTime"], 10, 64); err != nil {
		return pi, fmt.Errorf("invisibleTime %q", ext["invisibleTime"])
	}
	rq, err := strconv.ParseInt(ext["reviveQid"], 10, 32)
	if err != nil {
		return pi, fmt.Errorf("reviveQid %q", ext["reviveQid"])
	}
	pi.reviveQid = int32(rq)
	if s := ext["startOffsetInfo"]; s != "" {
		parts := strings.Split(s, ";")
		if len(parts) > maxPopQueues {
			return pi, fmt.Errorf("startOffsetInfo of %d queues", len(parts))
		}
		pi.start = make(map[string]int64, len(parts))
		for _, one := range parts {
			f := strings.Split(one, " ")
			if len(f) != 3 {
				return pi, fmt.Errorf("startOffsetInfo entry %q", truncate(one, 64))
			}
			off, err := strconv.ParseInt(f[2], 10, 64)
			if err != nil {
				return pi, fmt.Errorf("startOffsetInfo entry %q", truncate(one, 64))
			}
			pi.start[f[0]+"@"+f[1]] = off
		}
	}
	return pi, nil
}

// retryMark is ExtraInfoUtil.getRetry: how an extra info marks a topic's kind.
func retryMark(topic string) string {
	switch {
	case strings.HasPrefix(topic, meta.RetryGroupTopicPrefix) && strings.Contains(topic, "+"):
		return "2"
	case strings.HasPrefix(topic, meta.RetryGroupTopicPrefix):
		return "1"
	default:
		return "0"
	}
}

// extraInfo builds one popped message's extra info (ExtraInfoUtil.buildExtraInfo):
//
//	ckQueueOffset popTime invisibleTime reviveQid retry brokerName queueId queueOffset
//
// The checkpoint offset is the queue's start offset from the answer, or, from a broker
// that sends none, the first offset popped from that queue (firstSeen).
func (pi popInfo) extraInfo(m *message.Ext, brokerName string, firstSeen map[string]int64) string {
	mark := retryMark(m.Topic)
	key := mark + "@" + strconv.Itoa(int(m.QueueID))
	ck, ok := pi.start[key]
	if !ok {
		if ck, ok = firstSeen[key]; !ok {
			ck = m.QueueOffset
			firstSeen[key] = ck
		}
	}
	return strings.Join([]string{
		strconv.FormatInt(ck, 10), strconv.FormatInt(pi.popTime, 10), strconv.FormatInt(pi.invisibleTime, 10),
		strconv.Itoa(int(pi.reviveQid)), mark, brokerName, strconv.Itoa(int(m.QueueID)), strconv.FormatInt(m.QueueOffset, 10),
	}, " ")
}
