package client

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/rocketgo/rocketgo/client/trace"
)

// QueryMsgTrace returns the trace records of the message msgID (its UNIQ_KEY), as
// mqadmin queryMsgTraceById finds them: the trace messages of traceTopic
// (RMQ_SYS_TRACE_TOPIC when empty) whose keys include msgID, decoded, keeping the
// records of msgID, in the order the trace messages were stored. Each record's
// BornHost is the IP of the client that wrote it. Print them with trace.FormatTrace.
// A trace message that does not decode fails the query.
func (a *Admin) QueryMsgTrace(ctx context.Context, traceTopic, msgID string) ([]trace.Record, error) {
	if traceTopic == "" {
		traceTopic = trace.DefaultTopic
	}
	msgs, err := a.QueryMessageByKey(ctx, traceTopic, msgID, time.Time{}, time.Time{}, 64)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(msgs, func(x, y *MessageExt) int {
		return cmp.Compare(x.StoreTimestamp, y.StoreTimestamp)
	})
	var out []trace.Record
	for _, m := range msgs {
		recs, err := trace.Decode(m.Body)
		if err != nil {
			return nil, fmt.Errorf("query trace of %s: message %s: %w", msgID, m.MsgID, err)
		}
		for _, r := range recs {
			if r.MsgID == msgID {
				r.BornHost = m.BornHost.Addr().String()
				out = append(out, r)
			}
		}
	}
	return out, nil
}
