package admincli

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/client"
)

// Message commands: tools/command/message/*.java of Apache RocketMQ 4.9.

// bodyDir is where the query commands write message bodies, as Apache's do.
var zeroTime time.Time

var bodyDir = "/tmp/rocketmq/msgbodys"

var queryMsgByIdCmd = &Command{
	Name: "queryMsgById", Desc: "Query Message by Id",
	Opts: []Option{
		{Short: "i", Long: "msgId", HasArg: true, Desc: "Message Id", Required: true},
		{Short: "g", Long: "consumerGroup", HasArg: true, Desc: "consumer group name"},
		{Short: "d", Long: "clientId", HasArg: true, Desc: "The consumer's client id"},
		{Short: "s", Long: "sendMessage", HasArg: true, Desc: "resend message"},
		{Short: "u", Long: "unitName", HasArg: true, Desc: "unit name"},
	},
	Run: runQueryMsgByID,
}

// runQueryMsgByID follows QueryMsgByIdSubCommand.java for offset message ids (store
// host + commitlog offset, VIEW_MESSAGE_BY_ID): each id of the comma-separated list is
// printed in Apache's "%-20s %s" layout and its body written to bodyDir. -g with -d
// delivers each message to that live consumer instead (CONSUME_MESSAGE_DIRECTLY, 309)
// and prints its ConsumeMessageDirectlyResult; -s resending is not implemented.
func runQueryMsgByID(e *Env, f *Flags) error {
	if f.Has("g") && f.Has("d") {
		return consumeByID(e, f.Get("g"), f.Get("d"), f.Get("i"))
	}
	if f.Has("s") {
		return errors.New("-s (resend by id) is not implemented")
	}
	a, err := e.Admin()
	if err != nil {
		return err
	}
	for _, id := range strings.Split(f.Get("i"), ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		m, err := a.QueryMessageByID(e.Ctx, "", id)
		if err != nil {
			return err
		}
		path, err := writeBody(m.OffsetMsgID, m.Body)
		if err != nil {
			return err
		}
		e.printf("%-20s %s\n", "OffsetID:", m.OffsetMsgID)
		printMessage(e, m, path)
	}
	return nil
}

// printMessage prints the lines QueryMsgByIdSubCommand.printMsg and
// QueryMsgByUniqueKeySubCommand.showMessage share, from Topic: to Message Body Path:.
func printMessage(e *Env, m *client.MessageExt, path string) {
	s, d := "%-20s %s\n", "%-20s %d\n"
	e.printf(s, "Topic:", m.Topic)
	e.printf(s, "Tags:", "["+javaNull(m.Properties(), client.PropertyTags)+"]")
	e.printf(s, "Keys:", "["+javaNull(m.Properties(), client.PropertyKeys)+"]")
	e.printf(d, "Queue ID:", m.Queue.QueueID)
	e.printf(d, "Queue Offset:", m.QueueOffset)
	e.printf(d, "CommitLog Offset:", m.CommitLogOffset)
	e.printf(d, "Reconsume Times:", m.ReconsumeTimes)
	e.printf(s, "Born Timestamp:", e.humanTime2(m.BornTimestamp))
	e.printf(s, "Store Timestamp:", e.humanTime2(m.StoreTimestamp))
	e.printf(s, "Born Host:", m.BornHost.String())
	e.printf(s, "Store Host:", m.StoreHost.String())
	e.printf(d, "System Flag:", m.SysFlag)
	e.printf(s, "Properties:", javaMap(m.Properties()))
	e.printf(s, "Message Body Path:", path)
	// The message track (which groups consumed it) needs QUERY_TOPIC_CONSUME_BY_WHO
	// and per-client consume state; it is left out and said so on stderr.
	fmt.Fprintf(e.Err, "message track not shown: QUERY_TOPIC_CONSUME_BY_WHO (300) is not supported by this broker\n")
}

// javaNull is what Java prints for a missing property: null.
func javaNull(props map[string]string, key string) string {
	if v, ok := props[key]; ok {
		return v
	}
	return "null"
}

// javaMap renders a property map like Java's Map.toString, keys sorted so the output
// is stable: {K1=v1, K2=v2}.
func javaMap(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// writeBody stores a body under bodyDir/name and returns the path.
func writeBody(name string, b []byte) (string, error) {
	if err := os.MkdirAll(bodyDir, 0o755); err != nil {
		return "", err
	}
	p := filepath.Join(bodyDir, name)
	return p, os.WriteFile(p, b, 0o644)
}

var queryMsgByKeyCmd = &Command{
	Name: "queryMsgByKey", Desc: "Query Message by Key", Listing: true,
	Opts: []Option{
		{Short: "t", Long: "topic", HasArg: true, Desc: "topic name", Required: true},
		{Short: "k", Long: "msgKey", HasArg: true, Desc: "Message Key", Required: true},
	},
	Run: func(e *Env, f *Flags) error {
		a, err := e.Admin()
		if err != nil {
			return err
		}
		msgs, err := a.QueryMessageByKey(e.Ctx, f.Get("t"), f.Get("k"), zeroTime, zeroTime, 64)
		if err != nil {
			return err
		}
		type row struct {
			MsgID       string `json:"msgId"`
			QueueID     int32  `json:"queueId"`
			QueueOffset int64  `json:"queueOffset"`
		}
		rows := make([]row, 0, len(msgs))
		for _, m := range msgs {
			rows = append(rows, row{m.MsgID, m.Queue.QueueID, m.QueueOffset})
		}
		slices.SortFunc(rows, func(x, y row) int {
			return cmp.Or(cmp.Compare(x.QueueID, y.QueueID), cmp.Compare(x.QueueOffset, y.QueueOffset))
		})
		if asJSON, _ := e.JSON(); asJSON {
			return e.printJSON(rows)
		}
		e.printf("%-50s %4s %40s\n", "#Message ID", "#QID", "#Offset")
		for _, r := range rows {
			e.printf("%-50s %4d %40d\n", r.MsgID, r.QueueID, r.QueueOffset)
		}
		return nil
	},
}

var queryMsgByUniqueKeyCmd = &Command{
	Name: "queryMsgByUniqueKey", Desc: "Query Message by Unique key",
	Opts: []Option{
		{Short: "i", Long: "msgId", HasArg: true, Desc: "Message Id", Required: true},
		{Short: "g", Long: "consumerGroup", HasArg: true, Desc: "consumer group name"},
		{Short: "d", Long: "clientId", HasArg: true, Desc: "The consumer's client id"},
		{Short: "t", Long: "topic", HasArg: true, Desc: "The topic of msg", Required: true},
		{Short: "a", Long: "showAll", Desc: "Print all message, the limit is 32"},
	},
	Run: runQueryMsgByUniqueKey,
}

// runQueryMsgByUniqueKey follows QueryMsgByUniqueKeySubCommand.java: the messages with
// the unique key, oldest first, only the first without -a; bodies go to bodyDir as
// <msgId>, <msgId>_1, ...
func runQueryMsgByUniqueKey(e *Env, f *Flags) error {
	if f.Has("g") && f.Has("d") {
		return fmt.Errorf("-g/-d: %w (CONSUME_MESSAGE_DIRECTLY, 309)", client.ErrNotSupported)
	}
	a, err := e.Admin()
	if err != nil {
		return err
	}
	id := f.Get("i")
	m, err := a.QueryMessageByID(e.Ctx, f.Get("t"), id)
	if err != nil {
		if code, ok := client.CodeOf(err); ok && code == 22 { // QUERY_NOT_FOUND: Apache prints nothing
			return fmt.Errorf("no message with unique key %s in topic %s", id, f.Get("t"))
		}
		return err
	}
	path, err := writeBody(m.MsgID, m.Body)
	if err != nil {
		return err
	}
	printMessage(e, m, path)
	return nil
}

var sendMessageCmd = &Command{
	Name: "sendMessage", Desc: "Send a message", Listing: true,
	Opts: []Option{
		{Short: "t", Long: "topic", HasArg: true, Desc: "Topic name", Required: true},
		{Short: "p", Long: "body", HasArg: true, Desc: "UTF-8 string format of the message body", Required: true},
		{Short: "k", Long: "key", HasArg: true, Desc: "Message keys"},
		{Short: "c", Long: "tags", HasArg: true, Desc: "Message tags"},
		{Short: "b", Long: "broker", HasArg: true, Desc: "Send message to target broker"},
		{Short: "i", Long: "qid", HasArg: true, Desc: "Send message to target queue"},
		{Short: "m", Long: "msgTraceEnable", HasArg: true, Desc: "Message Trace Enable, Default: false"},
	},
	Run: runSendMessage,
}

// runSendMessage follows SendMessageCommand.java: one message from a producer group
// named after the current time, to the given queue when -b and -i are set.
func runSendMessage(e *Env, f *Flags) error {
	if f.Has("i") && !f.Has("b") {
		return errors.New("Broker name must be set if the queue is chosen!")
	}
	if javaBool(f.Get("m")) {
		return errors.New("-m true: message trace is not implemented")
	}
	m := client.NewMessage(f.Get("t"), []byte(f.Get("p")))
	if f.Has("c") {
		m.WithTags(f.Get("c"))
	}
	if f.Has("k") {
		m.WithProperty(client.PropertyKeys, f.Get("k"))
	}
	if len(e.nsAddr) == 0 {
		return errors.New("no name server address: give -n host:port or set NAMESRV_ADDR")
	}
	p, err := client.NewProducer(client.WithNameServer(e.nsAddr...), client.WithTLS(e.tls), client.WithProducerGroup(strconv.FormatInt(e.Now().UnixMilli(), 10)))
	if err != nil {
		return err
	}
	if err := p.Start(e.Ctx); err != nil {
		return err
	}
	defer p.Shutdown(e.Ctx)
	var res *client.SendResult
	if f.Has("b") && f.Has("i") {
		q, err := intFlag(f, "i", -1)
		if err != nil {
			return err
		}
		res, err = p.SendToQueue(e.Ctx, client.MessageQueue{Topic: f.Get("t"), BrokerName: f.Get("b"), QueueID: q}, m)
		if err != nil {
			return err
		}
	} else if res, err = p.Send(e.Ctx, m); err != nil {
		return err
	}
	if asJSON, _ := e.JSON(); asJSON {
		return e.printJSON(map[string]any{"brokerName": res.MessageQueue.BrokerName, "queueId": res.MessageQueue.QueueID, "sendStatus": res.Status.String(), "msgId": res.MsgID, "offsetMsgId": res.OffsetMsgID, "queueOffset": res.QueueOffset})
	}
	e.printf("%-32s  %-4s  %-20s    %s\n", "#Broker Name", "#QID", "#Send Result", "#MsgId")
	e.printf("%-32s  %-4d  %-20s    %s\n", res.MessageQueue.BrokerName, res.MessageQueue.QueueID, res.Status, res.MsgID)
	return nil
}

// consumeByID is QueryMsgByIdSubCommand's -g/-d branch: each message of the list is
// consumed at once by client clientID of group, and the result printed.
func consumeByID(e *Env, group, clientID, ids string) error {
	a, err := e.Admin()
	if err != nil {
		return err
	}
	for _, id := range strings.Split(ids, ",") {
		if id = strings.TrimSpace(id); id == "" {
			continue
		}
		r, err := a.ConsumeDirectly(e.Ctx, group, clientID, id)
		if err != nil {
			return err
		}
		e.printf("%s", r)
	}
	return nil
}
