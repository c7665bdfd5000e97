package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/proto/message"
)

// Bounds of a topic browse by time range (docs/dashboard.md).
const (
	// browseCap is the most messages one browse answers, newest first.
	browseCap = 1000
	// browseBodyBytes bounds the bodies one browse answer carries; past it a message is
	// listed without its body (bodyOmitted) and the detail view fetches it by id.
	browseBodyBytes = 16 << 20
)

// browsedMessage is a listed message that may come without its body.
type browsedMessage struct {
	messageView
	BodyOmitted bool `json:"bodyOmitted,omitempty"`
}

// browseMessages lists the messages of a topic stored within [begin, end] (ms since
// the epoch), newest first, at most browseCap (client.Admin.BrowseMessages).
func (s *Server) browseMessages(ctx context.Context, r *http.Request) (any, error) {
	topic, err := required(r, "topic")
	if err != nil {
		return nil, err
	}
	if err := validTopic(topic); err != nil {
		return nil, err
	}
	begin, err := queryInt(r, "begin", 0)
	if err != nil {
		return nil, err
	}
	end, err := queryInt(r, "end", 0)
	if err != nil {
		return nil, err
	}
	if end == 0 {
		end = time.Now().UnixMilli()
	}
	if begin < 0 || begin > end {
		return nil, bad("begin must be a time before end")
	}
	ms, truncated, err := s.admin.BrowseMessages(ctx, topic, time.UnixMilli(begin), time.UnixMilli(end), browseCap)
	if err != nil && len(ms) == 0 {
		return nil, err
	}
	out := struct {
		Messages  []browsedMessage `json:"messages"`
		Truncated bool             `json:"truncated"`
		Cap       int              `json:"cap"`
		Error     string           `json:"error,omitempty"`
	}{Messages: make([]browsedMessage, 0, len(ms)), Truncated: truncated, Cap: browseCap}
	if err != nil { // some queues answered: show them and say what failed
		out.Error = err.Error()
	}
	budget := browseBodyBytes
	for _, m := range ms {
		v := browsedMessage{messageView: viewOf(m)}
		if budget -= len(m.Body); budget < 0 {
			v.Body, v.BodyOmitted = nil, true
		}
		out.Messages = append(out.Messages, v)
	}
	return out, nil
}

// resendMessage makes a live consumer of a group consume one stored message at once
// (CONSUME_MESSAGE_DIRECTLY, as rocketmq-dashboard's "resend message"): the named
// client, or else each online client of the group in turn until one takes it.
func (s *Server) resendMessage(ctx context.Context, r *http.Request) (any, error) {
	var f struct {
		Group       string `json:"group"`
		ClientID    string `json:"clientId"`
		OffsetMsgID string `json:"offsetMsgId"`
	}
	if err := decode(r, &f); err != nil {
		return nil, err
	}
	if f.Group == "" || f.OffsetMsgID == "" {
		return nil, bad("group and offsetMsgId are required")
	}
	host, _, err := message.ParseOffsetMsgID(f.OffsetMsgID)
	if err != nil {
		return nil, bad("offsetMsgId %q: %v", f.OffsetMsgID, err)
	}
	addr := host.String() // the broker that stored the message relays it
	clients := []string{f.ClientID}
	if f.ClientID == "" {
		cc, err := s.admin.ConsumerConnection(ctx, f.Group, "")
		if err != nil {
			return nil, err
		}
		clients = clients[:0]
		for _, c := range cc.ConnectionSet {
			clients = append(clients, c.ClientID)
		}
		if len(clients) == 0 {
			return nil, fmt.Errorf("consumer group %s has no online client", f.Group)
		}
	}
	var errs []error
	for _, id := range clients {
		b, err := s.admin.ConsumeMessageDirectly(ctx, addr, f.Group, id, f.OffsetMsgID)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var res struct {
			ConsumeResult  string `json:"consumeResult"`
			Remark         string `json:"remark"`
			SpentTimeMills int64  `json:"spentTimeMills"`
		}
		if err := json.Unmarshal(b, &res); err != nil {
			return nil, fmt.Errorf("%s answered %q: %w", id, b, err)
		}
		return map[string]any{"clientId": id, "consumeResult": res.ConsumeResult, "remark": res.Remark, "spentTimeMills": res.SpentTimeMills}, nil
	}
	return nil, errors.Join(errs...)
}

// timerMessages lists the pending timer and delay-level messages, optionally of one
// topic (client.Admin.ListTimers).
func (s *Server) timerMessages(ctx context.Context, r *http.Request) (any, error) {
	topic := r.URL.Query().Get("topic")
	if topic != "" {
		if err := validTopic(topic); err != nil {
			return nil, err
		}
	}
	ts, more, err := s.admin.ListTimers(ctx, topic, 0, client.Target{})
	if err != nil && len(ts) == 0 {
		return nil, err
	}
	if ts == nil {
		ts = []client.TimerMessage{}
	}
	out := map[string]any{"timers": ts, "more": more}
	if err != nil {
		out["error"] = err.Error()
	}
	return out, nil
}
