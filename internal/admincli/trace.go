package admincli

import (
	"fmt"

	"github.com/rocketgo/rocketgo/client/trace"
)

// queryMsgTraceByIdCmd follows QueryMsgTraceByIdSubCommand.java: the trace records of
// one message id, read from the trace topic (RMQ_SYS_TRACE_TOPIC unless -t names
// another) and printed as Apache prints them (client/trace.FormatTrace).
var queryMsgTraceByIdCmd = &Command{
	Name: "queryMsgTraceById", Desc: "query a message trace",
	Opts: []Option{
		{Short: "i", Long: "msgId", HasArg: true, Desc: "Message Id", Required: true},
		{Short: "t", Long: "traceTopic", HasArg: true, Desc: "The name value of message trace topic"},
	},
	Run: runQueryMsgTraceByID,
}

func runQueryMsgTraceByID(e *Env, f *Flags) error {
	a, err := e.Admin()
	if err != nil {
		return err
	}
	recs, err := a.QueryMsgTrace(e.Ctx, f.Get("t"), f.Get("i"))
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return fmt.Errorf("no trace records for message %s", f.Get("i"))
	}
	return trace.FormatTrace(e.Out, recs)
}
