package broker

import (
	"github.com/rocketgo/rocketgo/broker/epoch"
	"github.com/rocketgo/rocketgo/broker/ha"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// Controller mode (docs/failover.md): a controller group elects the master, and the
// broker/ctrlmode runner opens this broker in the role it was given. What the broker
// itself does for it is here: it serves its epoch file, passes a controller's
// notification on, and keeps the master's SyncStateSet.

// errInSyncReplicasNotEnough: the SyncStateSet is smaller than minInSyncReplicas;
// answered SYSTEM_ERROR, as Apache answers IN_SYNC_REPLICAS_NOT_ENOUGH.
var errInSyncReplicasNotEnough = ha.ErrInSyncReplicasNotEnough

// ControllerHooks connect a broker to its controller-mode runner.
type ControllerHooks struct {
	// Epochs is the broker's epoch file, served by GET_BROKER_EPOCH_CACHE.
	Epochs *epoch.File
	// OnRoleNotice runs when a controller sends NOTIFY_BROKER_ROLE_CHANGED: the runner
	// asks the controller for the group's state at once. It must not block.
	OnRoleNotice func()
}

// SetControllerHooks connects the broker to its runner; before Start.
func (b *Broker) SetControllerHooks(h ControllerHooks) { b.ctl.Store(&h) }

// handleGetBrokerEpochCache serves GET_BROKER_EPOCH_CACHE (1007): the epoch entries,
// each with its end (the next entry's start, the log's end for the last).
func (b *Broker) handleGetBrokerEpochCache(_ *server.Conn, req *codec.Command) *codec.Command {
	h := b.ctl.Load()
	if h == nil || h.Epochs == nil {
		return req.NewResponse(code.SystemError, "GET_BROKER_EPOCH_CACHE is not supported: the broker does not run in controller mode (enableControllerMode)")
	}
	maxOff := b.store.MaxPhysicalOffset()
	es := h.Epochs.Entries()
	out := body.EpochEntryCache{ClusterName: b.opts.ClusterName, BrokerName: b.opts.BrokerName, BrokerID: b.opts.BrokerID,
		MaxOffset: maxOff, EpochList: make([]body.EpochEntry, len(es))}
	for i, e := range es {
		end := maxOff
		if i+1 < len(es) {
			end = es[i+1].Start
		}
		out.EpochList[i] = body.EpochEntry{Epoch: e.Epoch, StartOffset: e.Start, EndOffset: end}
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = body.EncodeJSON(out)
	// A rocketgo addition: where a master's slaves replicate from, so that a broker
	// following this master needs no second request.
	if ha := b.haServerAddr(); ha != "" {
		resp.ExtFields["haServerAddr"] = ha
	}
	return resp
}

// handleNotifyBrokerRoleChanged serves NOTIFY_BROKER_ROLE_CHANGED (1008).
func (b *Broker) handleNotifyBrokerRoleChanged(_ *server.Conn, req *codec.Command) *codec.Command {
	h := b.ctl.Load()
	if h == nil || h.OnRoleNotice == nil {
		return req.NewResponse(code.SystemError, "NOTIFY_BROKER_ROLE_CHANGED is not supported: the broker does not run in controller mode (enableControllerMode)")
	}
	h.OnRoleNotice()
	return req.NewResponse(code.Success, "")
}

// SetSyncStateSet gives a master its SyncStateSet's slaves (the master's own id left
// out); a slave ignores it.
func (b *Broker) SetSyncStateSet(slaves []int64) {
	if b.repl.server != nil {
		b.repl.server.SetSyncStateSet(slaves)
	}
}

// SlaveProgress reports, on a master, what it knows of each slave; nil on a slave.
func (b *Broker) SlaveProgress() []ha.SlaveProgress {
	if b.repl.server == nil {
		return nil
	}
	return b.repl.server.Progress()
}

// HAMasterAddr returns, on a slave, the master's HA address it replicates from.
func (b *Broker) HAMasterAddr() string {
	if b.repl.client == nil {
		return ""
	}
	return b.repl.client.Status().MasterAddr
}

// HAServerAddr returns, on a master, the address its slaves replicate from.
func (b *Broker) HAServerAddr() string { return b.haServerAddr() }

// FollowMaster points a slave's metadata copy at its master's remoting address.
func (b *Broker) FollowMaster(addr string) {
	if b.repl.meta != nil {
		b.repl.meta.SetMasterAddr(addr)
	}
}

// SetHAMasterAddr points a slave's replication at its master's HA address (a master
// that restarted listens on a new one).
func (b *Broker) SetHAMasterAddr(addr string) {
	if b.repl.client != nil {
		b.repl.client.SetMasterAddr(addr)
	}
}
