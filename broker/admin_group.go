package broker

import (
	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// handleDeleteSubGroup serves DELETE_SUBSCRIPTIONGROUP (207) as
// AdminBrokerProcessor.deleteSubscriptionGroup: forget the group's config and, with
// removeOffset, its committed offsets. Deleting an unknown group succeeds, so the admin
// tool can retry. The group's retry and dead-letter topics are the tool's to delete.
func (b *Broker) handleDeleteSubGroup(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.DeleteSubscriptionGroupRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	if err := meta.CheckGroupName(h.GroupName); err != nil {
		return errorResponse(req, err)
	}
	existed, err := b.groups.Delete(h.GroupName)
	if err != nil {
		return errorResponse(req, err)
	}
	dropped := 0
	if h.RemoveOffset {
		if dropped, err = b.offsets.DeleteGroup(h.GroupName); err != nil {
			return errorResponse(req, err)
		}
		if err := b.pop.Reset(h.GroupName, ""); err != nil { // pop.go
			return errorResponse(req, err)
		}
	}
	b.log.Info().Str("group", h.GroupName).Bool("existed", existed).Int("offsets_dropped", dropped).Msg("subscription group deleted")
	return req.NewResponse(code.Success, "")
}
