package dashboard

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/proto/code"
)

// messageView is a stored message as the API returns it; Body is base64 in JSON and
// the UI shows it as text, hex or JSON.
type messageView struct {
	MsgID           string            `json:"msgId"`
	OffsetMsgID     string            `json:"offsetMsgId"`
	Topic           string            `json:"topic"`
	BrokerName      string            `json:"brokerName"`
	QueueID         int32             `json:"queueId"`
	QueueOffset     int64             `json:"queueOffset"`
	CommitLogOffset int64             `json:"commitLogOffset"`
	Tags            string            `json:"tags"`
	Keys            []string          `json:"keys"`
	Properties      map[string]string `json:"properties"`
	Body            []byte            `json:"body"`
	BornTimestamp   int64             `json:"bornTimestamp"`
	BornHost        string            `json:"bornHost"`
	StoreTimestamp  int64             `json:"storeTimestamp"`
	StoreHost       string            `json:"storeHost"`
	ReconsumeTimes  int32             `json:"reconsumeTimes"`
	StoreSize       int32             `json:"storeSize"`
}

func viewOf(m *client.MessageExt) messageView {
	keys := m.Keys()
	if keys == nil {
		keys = []string{}
	}
	return messageView{
		MsgID: m.MsgID, OffsetMsgID: m.OffsetMsgID, Topic: m.Topic, BrokerName: m.Queue.BrokerName,
		QueueID: m.Queue.QueueID, QueueOffset: m.QueueOffset, CommitLogOffset: m.CommitLogOffset,
		Tags: m.Tags(), Keys: keys, Properties: m.Properties(), Body: m.Body,
		BornTimestamp: m.BornTimestamp, BornHost: m.BornHost.String(), StoreTimestamp: m.StoreTimestamp,
		StoreHost: m.StoreHost.String(), ReconsumeTimes: m.ReconsumeTimes, StoreSize: m.StoreSize,
	}
}

func viewsOf(ms []*client.MessageExt) []messageView {
	out := make([]messageView, 0, len(ms))
	for _, m := range ms {
		out = append(out, viewOf(m))
	}
	return out
}

// messagesByKey finds the messages of topic carrying key, optionally within
// [begin, end] (ms since the epoch).
func (s *Server) messagesByKey(ctx context.Context, r *http.Request) (any, error) {
	topic, err := required(r, "topic")
	if err != nil {
		return nil, err
	}
	key, err := required(r, "key")
	if err != nil {
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
	if end != 0 && begin > end {
		return nil, bad("begin is after end")
	}
	var b, e time.Time
	if begin > 0 {
		b = time.UnixMilli(begin)
	}
	if end > 0 {
		e = time.UnixMilli(end)
	}
	ms, err := s.admin.QueryMessageByKey(ctx, topic, key, b, e, 64)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(ms, func(x, y *client.MessageExt) int { return int(y.StoreTimestamp - x.StoreTimestamp) })
	return viewsOf(ms), nil
}

// messageByID finds one message by its unique id (needs the topic) or offset id.
func (s *Server) messageByID(ctx context.Context, r *http.Request) (any, error) {
	id, err := required(r, "id")
	if err != nil {
		return nil, err
	}
	m, err := s.admin.QueryMessageByID(ctx, r.URL.Query().Get("topic"), id)
	if err != nil {
		var be *client.BrokerError
		if errors.As(err, &be) && be.Code == code.QueryNotFound {
			return []messageView{}, nil
		}
		return nil, err
	}
	return []messageView{viewOf(m)}, nil
}

// trace returns the trace records of a message id (its UNIQ_KEY).
func (s *Server) trace(ctx context.Context, r *http.Request) (any, error) {
	id, err := required(r, "id")
	if err != nil {
		return nil, err
	}
	recs, err := s.admin.QueryMsgTrace(ctx, r.URL.Query().Get("traceTopic"), id)
	if err != nil {
		return nil, err
	}
	if recs == nil {
		return []any{}, nil
	}
	return recs, nil
}

// masters returns the master address of every broker group.
func (s *Server) masters(ctx context.Context) ([]string, error) {
	ci, err := s.admin.Clusters(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, bd := range ci.BrokerAddrTable {
		if a := bd.BrokerAddrs[0]; a != "" {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out, nil
}

// dlq lists a group's dead letters on every master, from offset.
func (s *Server) dlq(ctx context.Context, r *http.Request) (any, error) {
	g, err := required(r, "group")
	if err != nil {
		return nil, err
	}
	off, err := queryInt(r, "offset", 0)
	if err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, bad("offset must not be negative")
	}
	addrs, err := s.masters(ctx)
	if err != nil {
		return nil, err
	}
	type page struct {
		Addr     string        `json:"addr"`
		Messages []messageView `json:"messages"`
		Next     int64         `json:"next"`
		Min      int64         `json:"min"`
		Max      int64         `json:"max"`
		Error    string        `json:"error,omitempty"`
	}
	out := []page{}
	for _, a := range addrs {
		p, err := s.admin.ListDLQ(ctx, a, g, off, 64)
		var be *client.BrokerError
		switch {
		case errors.As(err, &be) && be.Code == code.QueryNotFound:
			out = append(out, page{Addr: a, Messages: []messageView{}})
		case err != nil:
			out = append(out, page{Addr: a, Messages: []messageView{}, Error: err.Error()})
		default:
			out = append(out, page{a, viewsOf(p.Messages), p.Next, p.Min, p.Max, ""})
		}
	}
	return out, nil
}

// resendDLQ sends Count dead letters from Offset on Addr back to the group.
func (s *Server) resendDLQ(ctx context.Context, r *http.Request) (any, error) {
	var f struct {
		Group  string `json:"group"`
		Addr   string `json:"addr"`
		Offset int64  `json:"offset"`
		Count  int    `json:"count"`
	}
	if err := decode(r, &f); err != nil {
		return nil, err
	}
	if f.Group == "" || f.Addr == "" {
		return nil, bad("group and addr are required")
	}
	if f.Offset < 0 || f.Count < 0 || f.Count > 1024 {
		return nil, bad("offset must not be negative and count must be 0..1024")
	}
	n, next, err := s.admin.ResendDLQ(ctx, f.Addr, f.Group, f.Offset, max(f.Count, 1))
	if err != nil {
		return nil, err
	}
	return map[string]any{"resent": n, "next": next}, nil
}

// transactions lists the pending half messages of a producer group ("" for all).
func (s *Server) transactions(ctx context.Context, r *http.Request) (any, error) {
	ps, err := s.admin.PendingTransactions(ctx, r.URL.Query().Get("group"), 200, client.Target{})
	if err != nil && len(ps) == 0 {
		return nil, err
	}
	if ps == nil {
		ps = []client.PendingTransaction{}
	}
	return ps, nil
}

// resolveTransaction commits or rolls back one pending half message.
func (s *Server) resolveTransaction(ctx context.Context, r *http.Request) (any, error) {
	var f struct {
		BrokerAddr      string `json:"brokerAddr"`
		CommitLogOffset int64  `json:"commitLogOffset"`
		ProducerGroup   string `json:"producerGroup"`
		MsgID           string `json:"msgId"`
		Commit          bool   `json:"commit"`
	}
	if err := decode(r, &f); err != nil {
		return nil, err
	}
	if f.BrokerAddr == "" || f.CommitLogOffset < 0 {
		return nil, bad("brokerAddr and a non-negative commitLogOffset are required")
	}
	p := client.PendingTransaction{BrokerAddr: f.BrokerAddr, CommitLogOffset: f.CommitLogOffset, ProducerGroup: f.ProducerGroup, MsgID: f.MsgID}
	if err := s.admin.ResolveTransaction(ctx, p, f.Commit); err != nil {
		return nil, err
	}
	return map[string]any{"msgId": f.MsgID, "committed": f.Commit}, nil
}

// cancelTimer cancels a pending timer message of topic by its message id.
func (s *Server) cancelTimer(ctx context.Context, r *http.Request) (any, error) {
	var f struct {
		Topic string `json:"topic"`
		MsgID string `json:"msgId"`
	}
	if err := decode(r, &f); err != nil {
		return nil, err
	}
	if err := validTopic(f.Topic); err != nil {
		return nil, err
	}
	if f.MsgID == "" {
		return nil, bad("msgId is required")
	}
	n, err := s.admin.CancelScheduled(ctx, f.Topic, f.MsgID)
	if err != nil {
		return nil, err
	}
	return map[string]any{"cancelled": n}, nil
}
