package dashboard

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
)

// groupRow is one consumer group of the group list.
type groupRow struct {
	Group        string  `json:"group"`
	Clients      int     `json:"clients"`
	ConsumeType  string  `json:"consumeType"`
	MessageModel string  `json:"messageModel"`
	TPS          float64 `json:"consumeTps"`
	Lag          int64   `json:"lag"`
	Error        string  `json:"error,omitempty"`
}

// groups lists every consumer group that has a retry topic — what mqadmin
// consumerProgress without -g lists; the admin API has no "all subscription groups"
// request — with its live client count and total lag.
func (s *Server) groups(ctx context.Context, _ *http.Request) (any, error) {
	topics, err := s.admin.ListTopics(ctx)
	if err != nil {
		return nil, err
	}
	rows := []groupRow{}
	for _, t := range topics {
		g, ok := strings.CutPrefix(t, client.RetryTopicPrefix)
		if !ok {
			continue
		}
		row := groupRow{Group: g}
		if p, err := s.admin.ConsumerProgress(ctx, g, ""); err != nil {
			row.Error = err.Error()
		} else {
			row.TPS, row.Lag = p.ConsumeTPS, p.TotalLag
		}
		if cc, err := s.admin.ConsumerConnection(ctx, g, ""); err == nil {
			row.Clients, row.ConsumeType, row.MessageModel = len(cc.ConnectionSet), cc.ConsumeType, cc.MessageModel
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// group returns one group's lag per queue, its online clients and subscriptions.
func (s *Server) group(ctx context.Context, r *http.Request) (any, error) {
	g, err := required(r, "group")
	if err != nil {
		return nil, err
	}
	p, err := s.admin.ConsumerProgress(ctx, g, "")
	if err != nil && (p == nil || len(p.Queues) == 0) {
		return nil, err
	}
	type queueRow struct {
		Topic          string `json:"topic"`
		BrokerName     string `json:"brokerName"`
		QueueID        int32  `json:"queueId"`
		BrokerOffset   int64  `json:"brokerOffset"`
		ConsumerOffset int64  `json:"consumerOffset"`
		Lag            int64  `json:"lag"`
		LastTimestamp  int64  `json:"lastTimestamp"`
	}
	queues := make([]queueRow, 0, len(p.Queues))
	for _, q := range p.Queues {
		queues = append(queues, queueRow{q.Queue.Topic, q.Queue.BrokerName, q.Queue.QueueID, q.BrokerOffset, q.ConsumerOffset, q.Lag, q.LastTimestamp})
	}
	out := map[string]any{"group": g, "queues": queues, "lag": p.TotalLag, "consumeTps": p.ConsumeTPS,
		"connections": []body.Connection{}, "subscriptions": []body.SubscriptionData{}}
	if err != nil {
		out["partialError"] = err.Error()
	}
	cc, cerr := s.admin.ConsumerConnection(ctx, g, "")
	var be *client.BrokerError
	if errors.As(cerr, &be) && be.Code == code.ConsumerNotOnline {
		return out, nil // no client online: empty lists
	}
	if cerr != nil {
		out["connectionError"] = cerr.Error()
	} else {
		out["connections"] = cc.ConnectionSet
		subs := make([]body.SubscriptionData, 0, len(cc.SubscriptionTable))
		for _, sd := range cc.SubscriptionTable {
			subs = append(subs, sd)
		}
		slices.SortFunc(subs, func(x, y body.SubscriptionData) int { return strings.Compare(x.Topic, y.Topic) })
		out["subscriptions"], out["consumeType"], out["messageModel"] = subs, cc.ConsumeType, cc.MessageModel
	}
	return out, nil
}

// resetGroup moves a group's committed offsets to the first message stored at or after
// timestamp (ms) — or, with skip, to now, skipping everything accumulated — on one
// topic, or on every non-retry topic the group has progress on.
func (s *Server) resetGroup(ctx context.Context, r *http.Request) (any, error) {
	var f struct {
		Group     string `json:"group"`
		Topic     string `json:"topic"`
		Timestamp int64  `json:"timestamp"`
		Skip      bool   `json:"skip"`
	}
	if err := decode(r, &f); err != nil {
		return nil, err
	}
	if f.Group == "" {
		return nil, bad("group is required")
	}
	ts := time.UnixMilli(f.Timestamp)
	switch {
	case f.Skip:
		ts = time.Now()
	case f.Timestamp <= 0:
		return nil, bad("timestamp (ms since the epoch) is required unless skip is set")
	}
	topics := []string{f.Topic}
	if f.Topic == "" {
		p, err := s.admin.ConsumerProgress(ctx, f.Group, "")
		if err != nil && (p == nil || len(p.Queues) == 0) {
			return nil, err
		}
		topics = nil
		for _, q := range p.Queues {
			if !strings.HasPrefix(q.Queue.Topic, client.RetryTopicPrefix) && !slices.Contains(topics, q.Queue.Topic) {
				topics = append(topics, q.Queue.Topic)
			}
		}
		if len(topics) == 0 {
			return nil, bad("group %s has no topic to reset", f.Group)
		}
	}
	type reset struct {
		Topic      string `json:"topic"`
		BrokerName string `json:"brokerName"`
		QueueID    int32  `json:"queueId"`
		Offset     int64  `json:"offset"`
	}
	out := []reset{}
	var errs []error
	for _, t := range topics {
		res, err := s.admin.ResetOffsetByTimestamp(ctx, f.Group, t, ts)
		errs = append(errs, err)
		for mq, off := range res {
			out = append(out, reset{mq.Topic, mq.BrokerName, mq.QueueID, off})
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(x, y reset) int {
		if c := strings.Compare(x.Topic+"/"+x.BrokerName, y.Topic+"/"+y.BrokerName); c != 0 {
			return c
		}
		return int(x.QueueID - y.QueueID)
	})
	return map[string]any{"group": f.Group, "timestamp": ts.UnixMilli(), "queues": out}, nil
}
