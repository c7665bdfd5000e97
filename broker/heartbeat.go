package broker

import (
	"errors"

	"github.com/rocketgo/rocketgo/broker/clients"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// newClientTable builds the broker's client registry: expiry after ClientExpiry on the
// broker's clock, NOTIFY_CONSUMER_IDS_CHANGED sent oneway, and the group config deciding
// whether a group wants notifications.
func newClientTable(b *Broker) *clients.Table {
	log := b.log.With().Str("component", "clients").Logger()
	return clients.New(clients.Deps{
		Now:    b.now,
		Expiry: b.opts.ClientExpiry,
		Log:    log,
		Notify: func(group string, conns []*server.Conn) {
			ext := (&header.NotifyConsumerIDsChangedRequest{ConsumerGroup: group}).Encode()
			for _, conn := range conns {
				// One command per connection: InvokeOneway assigns the opaque.
				req := codec.NewRequest(code.NotifyConsumerIDsChanged, ext, nil)
				if err := conn.InvokeOneway(req); err != nil {
					log.Debug().Err(err).Str("group", group).Uint64("conn", conn.ID()).Msg("notify consumer ids changed")
				}
			}
		},
		NotifyEnabled: func(group string) bool {
			g, ok := b.groups.Get(group)
			return !ok || g.GetNotifyConsumerIdsChangedEnable()
		},
		CloseConn: func(conn *server.Conn) { conn.Close() },
		OnSweep: func() {
			b.locks.PurgeExpired()
			b.sampleStats()
		},
	})
}

// clientChannelOf describes the client behind conn as a heartbeat or unregister names it.
func clientChannelOf(conn *server.Conn, req *codec.Command, clientID string) clients.Channel {
	return clients.Channel{
		ClientID: clientID,
		Language: req.Language,
		Version:  req.Version,
		Addr:     conn.RemoteAddr().String(),
	}
}

// handleHeartbeat serves HEART_BEAT (34): it registers every producer and consumer group
// of the client, makes sure each consumer group exists with its retry topic
// %RETRY%<group> (whose creation re-registers with the NameServers), and answers 0.
//
// A body that does not parse is answered SYSTEM_ERROR with the parse error as the
// remark; nothing is registered and the connection stays open.
func (b *Broker) handleHeartbeat(conn *server.Conn, req *codec.Command) *codec.Command {
	hb, err := body.DecodeHeartbeat(req.Body)
	if err != nil {
		return errorResponse(req, reject(errBadRequest, "%v", err))
	}
	ch := clientChannelOf(conn, req, hb.ClientID)
	var firstErr error
	for i := range hb.ConsumerDataSet {
		cd := &hb.ConsumerDataSet[i]
		if err := b.ensureRetryTopic(cd.GroupName); err != nil && firstErr == nil {
			firstErr = err
		}
		// Register even when the retry topic could not be made: the client must still
		// get its queues, and its next heartbeat retries the creation.
		b.clients.RegisterConsumer(conn, cd, ch)
	}
	for _, p := range hb.ProducerDataSet {
		b.clients.RegisterProducer(conn, p.GroupName, ch)
	}
	if firstErr != nil {
		return errorResponse(req, firstErr)
	}
	return req.NewResponse(code.Success, "")
}

// ensureRetryTopic creates group's subscription group config (if auto-creation allows)
// and its retry topic with the group's retryQueueNums queues. An unknown group with
// auto-creation off gets no retry topic, as in Java; that is not an error.
func (b *Broker) ensureRetryTopic(group string) error {
	sg, err := b.groups.Ensure(group)
	if err != nil {
		if errors.Is(err, errGroupNotExist) {
			return nil
		}
		return err
	}
	// retryQueueNums 0 means the group wants no retries: send-back drops its messages.
	if n := sg.GetRetryQueueNums(); n > 0 {
		if _, err := b.topics.EnsureRetry(group, n); err != nil {
			return err
		}
	}
	return nil
}

// handleUnregisterClient serves UNREGISTER_CLIENT (35). The Go client never sends it;
// Java clients do on shutdown.
func (b *Broker) handleUnregisterClient(conn *server.Conn, req *codec.Command) *codec.Command {
	var h header.UnregisterClientRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	if h.ProducerGroup != "" {
		b.clients.UnregisterProducer(conn, h.ProducerGroup)
	}
	if h.ConsumerGroup != "" {
		b.clients.UnregisterConsumer(conn, h.ConsumerGroup)
	}
	return req.NewResponse(code.Success, "")
}

// handleGetConsumerList serves GET_CONSUMER_LIST_BY_GROUP (38). The body is always sent:
// the Go client ignores the code and reads only the list. An empty group answers
// SYSTEM_ERROR "no consumer for this group" like Java, with an empty list.
func (b *Broker) handleGetConsumerList(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.GetConsumerListByGroupRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	ids := b.clients.ConsumerIDs(h.ConsumerGroup)
	var resp *codec.Command
	if len(ids) == 0 {
		resp = req.NewResponse(code.SystemError, "no consumer for this group, "+h.ConsumerGroup)
	} else {
		resp = req.NewResponse(code.Success, "")
	}
	resp.Body = (&body.GetConsumerListByGroupResponseBody{ConsumerIDList: ids}).Encode()
	return resp
}

// handleCheckClientConfig serves CHECK_CLIENT_CONFIG (46): a TAG subscription (or none)
// is fine; any other expression type is refused, because rocketgo filters by tag only
// (Java answers the same when enablePropertyFilter is off).
func (b *Broker) handleCheckClientConfig(_ *server.Conn, req *codec.Command) *codec.Command {
	r, err := body.DecodeCheckClientRequest(req.Body)
	if err != nil {
		return errorResponse(req, reject(errBadRequest, "%v", err))
	}
	if s := r.SubscriptionData; s != nil {
		if err := b.checkSubscriptionExpr(s); err != nil { // propfilter.go
			return errorResponse(req, err)
		}
	}
	return req.NewResponse(code.Success, "")
}
