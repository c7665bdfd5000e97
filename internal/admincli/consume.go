package admincli

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/rocketgo/rocketgo/client"
)

// consumeMessage is tools/command/message/ConsumeMessageCommand.java of Apache
// RocketMQ 4.9: it pulls a topic's messages (one queue with -b and -i, from -o) and
// prints each batch as "Consume ok" and PrintMessageByQueueCommand.printMessage lines,
// bodies in UTF-8. Its pull consumer commits nothing, so neither does this. Apache's
// -o is the queue offset, so the command takes no -o json (docs/mqadmin.md).
var consumeMessageCmd = &Command{
	Name: "consumeMessage", Desc: "Consume message",
	Opts: []Option{
		{Short: "t", Long: "topic", HasArg: true, Desc: "Topic name", Required: true},
		{Short: "b", Long: "brokerName", HasArg: true, Desc: "Broker name"},
		{Short: "i", Long: "queueId", HasArg: true, Desc: "Queue Id"},
		{Short: "o", Long: "offset", HasArg: true, Desc: "Queue offset"},
		{Short: "g", Long: "consumerGroup", HasArg: true, Desc: "Consumer group name"},
		{Short: "s", Long: beginOpt.Long, HasArg: true, Desc: beginOpt.Desc},
		{Short: "e", Long: endOpt.Long, HasArg: true, Desc: endOpt.Desc},
		{Short: "c", Long: "MessageNumber", HasArg: true, Desc: "Number of message to be consumed"},
	},
	Run: runConsumeMessage,
}

// runConsumeMessage checks the options in Apache's order; where Apache prints the
// complaint and exits 0, this fails with it.
func runConsumeMessage(e *Env, f *Flags) error {
	count := int64(128)
	if f.Has("c") {
		v, err := strconv.ParseInt(f.Get("c"), 10, 64)
		if err != nil {
			return fmt.Errorf("-c %q: not an integer", f.Get("c"))
		}
		if v <= 0 {
			return errors.New("please input a positive messageNumber!")
		}
		count = v
	}
	if f.Has("i") && !f.Has("b") {
		return errors.New("Please set the brokerName before queueId!")
	}
	qid, err := intFlag(f, "i", 0)
	if err != nil {
		return err
	}
	var offset int64
	if f.Has("o") {
		if !f.Has("i") {
			return errors.New("please set queueId before offset!")
		}
		if offset, err = strconv.ParseInt(f.Get("o"), 10, 64); err != nil {
			return fmt.Errorf("-o %q: not an integer", f.Get("o"))
		}
	}
	group := client.ToolsConsumerGroup
	if f.Has("g") {
		group = f.Get("g")
	}
	rd, err := openReader(e, f, reader{group: group, sub: "*", printBody: true, beginFlag: "s", endFlag: "e"}, "UTF-8")
	if err != nil {
		return err
	}
	if f.Has("i") {
		return consumeQueue(rd, client.MessageQueue{Topic: f.Get("t"), BrokerName: f.Get("b"), QueueID: qid}, offset, count)
	}
	return consumeTopic(rd, f.Get("t"), count)
}

// consumeTopic is executeDefault: every queue (sorted; Java's set has no order) from
// its min offset, count messages in all. Apache's arithmetic is kept as it is: a queue
// that fits takes its size plus one from what is left, so a count that is not used up
// exactly to 0 never stops the walk.
func consumeTopic(rd *reader, topic string, count int64) error {
	qs, err := rd.a.SubscribeQueues(rd.e.Ctx, topic)
	if err != nil {
		return err
	}
	left := count
	for _, mq := range qs {
		if left == 0 {
			return nil
		}
		lo, hi, err := rd.bounds(mq)
		if err != nil {
			return err
		}
		if hi-lo > left {
			rd.e.printf("The older %d message of the %d queue will be provided\n", left, mq.QueueID)
			hi = lo + left - 1
			left = 0
		} else {
			left -= hi - lo + 1
		}
		if err := consumeRange(rd, mq, lo, hi); err != nil {
			return err
		}
	}
	return nil
}

// consumeQueue is executeByCondition: one queue from the later of its min offset and
// offset, at most count messages (Apache's "oldler" typo kept).
func consumeQueue(rd *reader, mq client.MessageQueue, offset, count int64) error {
	lo, hi, err := rd.bounds(mq)
	if err != nil {
		return err
	}
	if offset > hi {
		rd.e.printf("%s no matched msg, offset=%d\n", javaQueue(mq), offset)
		return nil
	}
	lo = max(lo, offset)
	if hi-lo > count {
		rd.e.printf("The oldler %d message will be provided\n", count)
		hi = lo + count - 1
	}
	return consumeRange(rd, mq, lo, hi)
}

// consumeRange is pullMessageByQueue: offsets lo through hi inclusive (hi is the
// queue's next offset unless a count cut it), each read asking for all that is left.
func consumeRange(rd *reader, mq client.MessageQueue, lo, hi int64) error {
	size := func(off int64) int32 { return int32(min(hi-off+1, math.MaxInt32)) }
	found := func(msgs []*client.MessageExt) {
		rd.e.printf("Consume ok\n")
		rd.print(msgs)
	}
	return rd.pullRange(mq, lo, hi+1, size, found, true)
}
