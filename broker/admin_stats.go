package broker

import (
	"fmt"

	"github.com/rocketgo/rocketgo/broker/internal/brokerstats"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

// openBrokerStats starts the counters of VIEW_BROKER_STATS_DATA: every dispatched
// message counts once for its topic's TOPIC_PUT_NUMS; pulls count GROUP_GET_NUMS
// (pull.go); the housekeeping tick samples them (stats.go).
func (b *Broker) openBrokerStats() {
	b.bstats = brokerstats.New(b.now)
	b.store.Subscribe(func(a store.Arrival) {
		b.bstats.Add(brokerstats.Key{Name: brokerstats.TopicPutNums, Topic: a.Topic}, 1)
	})
}

// handleViewBrokerStatsData serves VIEW_BROKER_STATS_DATA (315) as
// AdminBrokerProcessor.ViewBrokerStatsData: the minute, hour and day figures of one
// statistic as a BrokerStatsData, or SYSTEM_ERROR with Apache's remark for a statistic
// never counted (package brokerstats lists the names rocketgo keeps).
func (b *Broker) handleViewBrokerStatsData(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.ViewBrokerStatsDataRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	d, ok := b.bstats.Get(h.StatsName, h.StatsKey)
	if !ok {
		return req.NewResponse(code.SystemError, fmt.Sprintf("The stats <%s> <%s> not exist", h.StatsName, h.StatsKey))
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = d.Encode()
	return resp
}
