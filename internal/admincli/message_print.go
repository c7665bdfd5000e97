package admincli

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/client"
)

// Commands that read queues: tools/command/message/QueryMsgByOffsetSubCommand.java,
// PrintMessageSubCommand.java and PrintMessageByQueueCommand.java of Apache RocketMQ
// 4.9. They read as the tools' DefaultMQPullConsumer does (group TOOLS_CONSUMER) and
// commit nothing. Apache's long option names that end in a space ("charsetName ")
// are kept: `mqadmin help` prints them as Apache does.

// pullBatch is how many messages each read asks for, as the Apache commands do.
const pullBatch = 32

var queryMsgByOffsetCmd = &Command{
	Name: "queryMsgByOffset", Desc: "Query Message by offset",
	Opts: []Option{
		{Short: "t", Long: "topic", HasArg: true, Desc: "topic name", Required: true},
		{Short: "b", Long: "brokerName", HasArg: true, Desc: "Broker Name", Required: true},
		{Short: "i", Long: "queueId", HasArg: true, Desc: "Queue Id", Required: true},
		{Short: "o", Long: "offset", HasArg: true, Desc: "Queue Offset", Required: true},
	},
	Run: runQueryMsgByOffset,
}

// runQueryMsgByOffset reads the one message at -o of the queue and prints it as
// QueryMsgByIdSubCommand.printMsg, its body written to bodyDir under its message id.
// Where Apache prints nothing (no message there), this fails naming the pull status.
func runQueryMsgByOffset(e *Env, f *Flags) error {
	qid, err := intFlag(f, "i", 0)
	if err != nil {
		return err
	}
	off, err := strconv.ParseInt(f.Get("o"), 10, 64)
	if err != nil {
		return fmt.Errorf("-o %q: not an integer", f.Get("o"))
	}
	a, err := e.Admin()
	if err != nil {
		return err
	}
	mq := client.MessageQueue{Topic: f.Get("t"), BrokerName: f.Get("b"), QueueID: qid}
	r, err := a.ReadQueue(e.Ctx, mq, "*", off, 1)
	if err != nil {
		return err
	}
	if r.Status != client.ReadFound || len(r.Messages) == 0 {
		return fmt.Errorf("no message at offset %d of %s: %s (queue offsets %d..%d)", off, javaQueue(mq), r.Status, r.MinOffset, r.MaxOffset)
	}
	m := r.Messages[0]
	path, err := writeBody(m.MsgID, m.Body)
	if err != nil {
		return err
	}
	e.printf("%-20s %s\n", "OffsetID:", m.OffsetMsgID)
	printMessage(e, m, path)
	return nil
}

// readOptions are the options printMsg and printMsgByQueue share, in Apache's words.
var (
	charsetOpt = Option{Short: "c", Long: "charsetName ", HasArg: true, Desc: "CharsetName(eg: UTF-8,GBK)"}
	subExprOpt = Option{Short: "s", Long: "subExpression ", HasArg: true, Desc: "Subscribe Expression(eg: TagA || TagB)"}
	beginOpt   = Option{Short: "b", Long: "beginTimestamp ", HasArg: true, Desc: "Begin timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]"}
	endOpt     = Option{Short: "e", Long: "endTimestamp ", HasArg: true, Desc: "End timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]"}
)

var printMsgCmd = &Command{
	Name: "printMsg", Desc: "Print Message Detail", Listing: true,
	Opts: []Option{
		{Short: "t", Long: "topic", HasArg: true, Desc: "topic name", Required: true},
		charsetOpt, subExprOpt, beginOpt, endOpt,
		{Short: "d", Long: "printBody ", HasArg: true, Desc: "print body"},
	},
	Run: runPrintMsg,
}

// printedQueue is one queue of printMsg -o json.
type printedQueue struct {
	Topic      string        `json:"topic"`
	BrokerName string        `json:"brokerName"`
	QueueID    int32         `json:"queueId"`
	MinOffset  int64         `json:"minOffset"`
	MaxOffset  int64         `json:"maxOffset"`
	Messages   []jsonMessage `json:"messages"`
}

// runPrintMsg follows PrintMessageSubCommand: for every readable queue of the topic
// (sorted; Java's set has no order) a "minOffset=..., maxOffset=..., <queue>" line,
// the messages between the offsets (-b/-e narrow them by store time), and a rule.
// -d defaults to true here, as in Apache. -o json prints the queues with their
// offsets and messages instead.
func runPrintMsg(e *Env, f *Flags) error {
	rd, err := newReader(e, f, !f.Has("d") || javaBool(f.Get("d")))
	if err != nil {
		return err
	}
	asJSON, _ := e.JSON()
	qs, err := rd.a.SubscribeQueues(e.Ctx, f.Get("t"))
	if err != nil {
		return err
	}
	printed := []printedQueue{}
	for _, mq := range qs {
		lo, hi, err := rd.bounds(mq)
		if err != nil {
			return err
		}
		pq := printedQueue{Topic: mq.Topic, BrokerName: mq.BrokerName, QueueID: mq.QueueID, MinOffset: lo, MaxOffset: hi, Messages: []jsonMessage{}}
		if !asJSON {
			e.printf("minOffset=%d, maxOffset=%d, %s\n", lo, hi, javaQueue(mq))
		}
		found := func(msgs []*client.MessageExt) { rd.print(msgs) }
		if asJSON {
			found = func(msgs []*client.MessageExt) { pq.Messages = append(pq.Messages, rd.jsonMessages(msgs)...) }
		}
		if err := rd.pullRange(mq, lo, hi, fixedBatch, found, !asJSON); err != nil {
			return err
		}
		if asJSON {
			printed = append(printed, pq)
			continue
		}
		e.printf("--------------------------------------------------------\n")
	}
	if asJSON {
		return e.printJSON(printed)
	}
	return nil
}

var printMsgByQueueCmd = &Command{
	Name: "printMsgByQueue", Desc: "Print Message Detail", Listing: true,
	Opts: []Option{
		{Short: "t", Long: "topic", HasArg: true, Desc: "topic name", Required: true},
		{Short: "a", Long: "brokerName ", HasArg: true, Desc: "broker name", Required: true},
		{Short: "i", Long: "queueId ", HasArg: true, Desc: "queue id", Required: true},
		charsetOpt, subExprOpt, beginOpt, endOpt,
		{Short: "p", Long: "print msg", HasArg: true, Desc: "print msg. eg: true | false(default)"},
		{Short: "d", Long: "printBody ", HasArg: true, Desc: "print body. eg: true | false(default)"},
		{Short: "f", Long: "calculate", HasArg: true, Desc: "calculate by tag. eg: true | false(default)"},
	},
	Run: runPrintMsgByQueue,
}

// runPrintMsgByQueue follows PrintMessageByQueueCommand: it reads one queue from its
// min offset (or -b's) to its max (or -e's) and prints each message with -p true (its
// body with -d true), then, with -f true, how many messages carry each tag, most
// first. Reading stops at the first answer that is not FOUND, as in Apache. -o json
// prints {"messages": [...], "tags": [...]} instead: every message read (bodies with
// -d true) and, with -f true, the tag counts.
func runPrintMsgByQueue(e *Env, f *Flags) error {
	qid, err := intFlag(f, "i", 0)
	if err != nil {
		return err
	}
	rd, err := newReader(e, f, javaBool(f.Get("d")))
	if err != nil {
		return err
	}
	printMsgs, byTag := javaBool(f.Get("p")), javaBool(f.Get("f"))
	asJSON, _ := e.JSON()
	mq := client.MessageQueue{Topic: f.Get("t"), BrokerName: f.Get("a"), QueueID: qid}
	lo, hi, err := rd.bounds(mq)
	if err != nil {
		return err
	}
	tags := map[string]int64{}
	var read []*client.MessageExt
	for off := lo; off < hi; {
		r, err := rd.a.ReadQueue(e.Ctx, mq, rd.sub, off, pullBatch)
		if err != nil {
			return err
		}
		if r.Status != client.ReadFound {
			break
		}
		off = r.NextBeginOffset
		for _, m := range r.Messages {
			if t := m.Tags(); byTag && strings.TrimSpace(t) != "" {
				tags[t]++
			}
		}
		switch {
		case asJSON:
			read = append(read, r.Messages...)
		case printMsgs:
			rd.print(r.Messages)
		}
	}
	counts := tagCounts(tags)
	if asJSON {
		return e.printJSON(map[string]any{"messages": rd.jsonMessages(read), "tags": counts})
	}
	for _, c := range counts {
		e.printf("Tag: %-30s Count: %d\n", c.Tag, c.Count)
	}
	return nil
}

type tagCount struct {
	Tag   string `json:"tag"`
	Count int64  `json:"count"`
}

// tagCounts sorts the counts most first (TagCountBean.compareTo); ties by tag, so the
// order is stable where Java's HashMap order is not.
func tagCounts(m map[string]int64) []tagCount {
	out := []tagCount{}
	for t, n := range m {
		out = append(out, tagCount{t, n})
	}
	slices.SortFunc(out, func(x, y tagCount) int {
		return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Tag, y.Tag))
	})
	return out
}

// reader holds what the print commands and consumeMessage read with.
type reader struct {
	e          *Env
	a          *client.Admin
	f          *Flags
	group      string // the group the reads go under
	sub        string
	printBody  bool
	decodeBody func([]byte) (string, error)
	// beginFlag and endFlag name the store-time options that narrow a queue
	// ("b"/"e" for the print commands, "s"/"e" for consumeMessage).
	beginFlag, endFlag string
}

// newReader is the reader of printMsg and printMsgByQueue: charset -c, expression -s,
// times -b/-e.
func newReader(e *Env, f *Flags, printBody bool) (*reader, error) {
	charset := "UTF-8"
	if f.Has("c") {
		charset = f.Get("c")
	}
	sub := "*"
	if f.Has("s") {
		sub = f.Get("s")
	}
	return openReader(e, f, reader{group: client.ToolsConsumerGroup, sub: sub, printBody: printBody, beginFlag: "b", endFlag: "e"}, charset)
}

// openReader completes rd with the invocation's admin client and charset's decoder.
func openReader(e *Env, f *Flags, rd reader, charset string) (*reader, error) {
	dec, err := bodyDecoder(charset)
	if err != nil {
		return nil, err
	}
	a, err := e.Admin()
	if err != nil {
		return nil, err
	}
	rd.e, rd.a, rd.f, rd.decodeBody = e, a, f, dec
	return &rd, nil
}

// fixedBatch is the read size of the print commands.
func fixedBatch(int64) int32 { return pullBatch }

// pullRange reads mq from off until end (exclusive) as PrintMessageSubCommand and
// ConsumeMessageCommand.pullMessageByQueue do: FOUND answers go to found,
// NO_MATCHED_MSG skips on, anything else ends the queue. With status it prints
// Apache's "no matched msg" and "print msg finished" lines.
func (rd *reader) pullRange(mq client.MessageQueue, off, end int64, size func(off int64) int32, found func([]*client.MessageExt), status bool) error {
	for off < end {
		r, err := rd.a.ReadQueueAs(rd.e.Ctx, rd.group, mq, rd.sub, off, size(off))
		if err != nil {
			return err
		}
		off = r.NextBeginOffset
		switch r.Status {
		case client.ReadFound:
			found(r.Messages)
			continue
		case client.ReadNoMatchedMsg:
			if status {
				rd.e.printf("%s no matched msg. status=%s, offset=%d\n", javaQueue(mq), r.Status, off)
			}
			continue
		}
		if status {
			rd.e.printf("%s print msg finished. status=%s, offset=%d\n", javaQueue(mq), r.Status, off)
		}
		return nil
	}
	return nil
}

// bounds returns the queue's min and max offsets, replaced by the offsets of -b and -e
// (searchOffset by store time) when given.
func (rd *reader) bounds(mq client.MessageQueue) (lo, hi int64, err error) {
	if lo, hi, err = rd.a.QueueOffsets(rd.e.Ctx, mq); err != nil {
		return 0, 0, err
	}
	for _, b := range []struct {
		flag string
		dst  *int64
	}{{rd.beginFlag, &lo}, {rd.endFlag, &hi}} {
		if !rd.f.Has(b.flag) {
			continue
		}
		ms, err := timestampFormat(rd.e, b.flag, rd.f.Get(b.flag))
		if err != nil {
			return 0, 0, err
		}
		if *b.dst, err = rd.a.SearchQueueOffset(rd.e.Ctx, mq, time.UnixMilli(ms)); err != nil {
			return 0, 0, err
		}
	}
	return lo, hi, nil
}

// print writes Apache's "MSGID: <id> <MessageExt.toString> BODY: <body>" lines.
func (rd *reader) print(msgs []*client.MessageExt) {
	for _, m := range msgs {
		b := "NOT PRINT BODY"
		if rd.printBody {
			var err error
			if b, err = rd.decodeBody(m.Body); err != nil {
				// Java's new String never fails; a decoder that does names why.
				b = "<" + err.Error() + ">"
			}
		}
		rd.e.printf("MSGID: %s %s BODY: %s\n", m.MsgID, javaMessageExt(m), b)
	}
}

// jsonMessage is one message of printMsgByQueue -o json.
type jsonMessage struct {
	MsgID          string            `json:"msgId"`
	OffsetMsgID    string            `json:"offsetMsgId"`
	QueueID        int32             `json:"queueId"`
	QueueOffset    int64             `json:"queueOffset"`
	Tags           string            `json:"tags,omitempty"`
	Keys           string            `json:"keys,omitempty"`
	BornTimestamp  int64             `json:"bornTimestamp"`
	StoreTimestamp int64             `json:"storeTimestamp"`
	Properties     map[string]string `json:"properties"`
	Body           *string           `json:"body,omitempty"`
}

func (rd *reader) jsonMessages(msgs []*client.MessageExt) []jsonMessage {
	out := make([]jsonMessage, 0, len(msgs))
	for _, m := range msgs {
		j := jsonMessage{
			MsgID: m.MsgID, OffsetMsgID: m.OffsetMsgID, QueueID: m.Queue.QueueID, QueueOffset: m.QueueOffset,
			Tags: m.Tags(), Keys: m.Property(client.PropertyKeys), BornTimestamp: m.BornTimestamp,
			StoreTimestamp: m.StoreTimestamp, Properties: m.Properties(),
		}
		if rd.printBody {
			b, err := rd.decodeBody(m.Body)
			if err != nil {
				b = "<" + err.Error() + ">"
			}
			j.Body = &b
		}
		out = append(out, j)
	}
	return out
}
