package controller

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// registerRoutes puts the controller request handlers on s. Every handler may wait for
// a Raft commit, so all run on the worker pool.
func (c *Controller) registerRoutes(s *server.Server) {
	s.HandleAsync(code.ControllerRegisterBroker, c.handleRegister)
	s.HandleAsync(code.BrokerHeartbeat, c.handleHeartbeat)
	s.HandleAsync(code.ControllerGetReplicaInfo, c.handleGetReplicaInfo)
	s.HandleAsync(code.ControllerAlterSyncStateSet, c.handleAlterSyncStateSet)
	s.HandleAsync(code.ControllerElectMaster, c.handleElectMaster)
	s.HandleAsync(code.ControllerGetMetadataInfo, c.handleGetMetadata)
	s.HandleAsync(code.ControllerGetSyncStateData, c.handleGetSyncStateData)
}

// notLeader answers a request that only the leader serves: CONTROLLER_NOT_LEADER, the
// leader's remoting address in the remark and in leaderAddress.
func (c *Controller) notLeader(req *codec.Command) *codec.Command {
	id, addr := c.leader()
	resp := req.NewResponse(code.ControllerNotLeader,
		fmt.Sprintf("controller %s is not the leader; the leader is %q at %q", c.o.SelfID, id, addr))
	if addr != "" {
		resp.ExtFields["leaderAddress"] = addr
	}
	return resp
}

// fail answers err with the code of the FSM error it wraps.
func fail(req *codec.Command, err error) *codec.Command {
	c := int32(code.SystemError)
	switch {
	case errors.Is(err, errFencedMaster):
		c = code.ControllerFencedMasterEpoch
	case errors.Is(err, errFencedSyncSet):
		c = code.ControllerFencedSyncStateSetEpoch
	case errors.Is(err, errInvalidMaster):
		c = code.ControllerInvalidMaster
	case errors.Is(err, errInvalidSet):
		c = code.ControllerInvalidReplicas
	case errors.Is(err, errNoGroup):
		c = code.ControllerBrokerMetadataNotExist
	}
	return req.NewResponse(c, err.Error())
}

func badRequest(req *codec.Command, err error) *codec.Command {
	return req.NewResponse(code.ControllerInvalidRequest, err.Error())
}

// replicaResponse answers with a group's replica info and SyncStateSet.
func replicaResponse(req *codec.Command, g *group, id int64) *codec.Command {
	resp := req.NewResponse(code.Success, "")
	h := header.ReplicaInfo{MasterAddr: g.addr(g.MasterID), MasterBrokerID: g.MasterID,
		MasterEpoch: g.MasterEpoch, SyncStateSetEpoch: g.SyncEpoch, BrokerID: id}
	resp.ExtFields = h.Encode()
	resp.Body = body.EncodeJSON(body.SyncStateSet{SyncStateSet: nonNil(g.SyncSet), SyncStateSetEpoch: g.SyncEpoch})
	return resp
}

func nonNil(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}

func (c *Controller) beat(h *header.ControllerRegisterRequest, id int64) {
	to := time.Duration(h.HeartbeatTimeoutMillis) * time.Millisecond
	if to <= 0 {
		to = c.o.DefaultHeartbeatTimeout
	}
	c.live.beat(h.BrokerName, id, liveInfo{last: time.Now(), timeout: to, epoch: h.Epoch, maxOffset: h.MaxOffset})
}

// handleRegister serves CONTROLLER_REGISTER_BROKER: the broker joins its group (the
// first broker of a new group becomes its master) and learns its brokerId and master.
func (c *Controller) handleRegister(_ *server.Conn, req *codec.Command) *codec.Command {
	if !c.isLeader() {
		return c.notLeader(req)
	}
	var h header.ControllerRegisterRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return badRequest(req, err)
	}
	if h.BrokerAddr == "" || h.BrokerName == "" {
		return badRequest(req, errors.New("brokerName and brokerAddress are required"))
	}
	// A broker's first heartbeat may race its registration: note it alive first, so
	// that registering never looks like a dead master.
	if g := c.fsm.group(h.BrokerName); g != nil {
		if id := g.idOf(h.BrokerAddr); id != 0 {
			c.beat(&h, id)
		}
	}
	r := c.propose(command{Op: opRegister, Cluster: h.ClusterName, Group: h.BrokerName, Addr: h.BrokerAddr})
	if r.err != nil {
		return fail(req, r.err)
	}
	c.beat(&h, r.id)
	return replicaResponse(req, r.g, r.id)
}

// handleHeartbeat serves BROKER_HEARTBEAT: the broker is alive, at this epoch and
// offset. A broker the controller does not know is told to register.
func (c *Controller) handleHeartbeat(_ *server.Conn, req *codec.Command) *codec.Command {
	if !c.isLeader() {
		return c.notLeader(req)
	}
	var h header.ControllerRegisterRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return badRequest(req, err)
	}
	g := c.fsm.group(h.BrokerName)
	id := int64(0)
	if g != nil {
		id = g.idOf(h.BrokerAddr)
	}
	if id == 0 {
		return req.NewResponse(code.ControllerBrokerMetadataNotExist,
			fmt.Sprintf("broker %s of group %s is not registered; register first", h.BrokerAddr, h.BrokerName))
	}
	c.beat(&h, id)
	return replicaResponse(req, g, id)
}

// handleGetReplicaInfo serves CONTROLLER_GET_REPLICA_INFO.
func (c *Controller) handleGetReplicaInfo(_ *server.Conn, req *codec.Command) *codec.Command {
	if !c.isLeader() {
		return c.notLeader(req)
	}
	var h header.BrokerNameRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return badRequest(req, err)
	}
	g := c.fsm.group(h.BrokerName)
	if g == nil {
		return req.NewResponse(code.ControllerBrokerMetadataNotExist, fmt.Sprintf("broker group %q unknown", h.BrokerName))
	}
	return replicaResponse(req, g, g.idOf(h.BrokerAddr))
}

// handleAlterSyncStateSet serves CONTROLLER_ALTER_SYNC_STATE_SET from a master: the new
// set must come from the current master at the current epochs, hold the master, and
// name only members; a new member must be alive.
func (c *Controller) handleAlterSyncStateSet(_ *server.Conn, req *codec.Command) *codec.Command {
	if !c.isLeader() {
		return c.notLeader(req)
	}
	var h header.AlterSyncStateSetRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return badRequest(req, err)
	}
	var set body.SyncStateSet
	if err := body.DecodeJSON(req.Body, &set); err != nil {
		return badRequest(req, err)
	}
	if g := c.fsm.group(h.BrokerName); g != nil {
		now := time.Now()
		for _, id := range set.SyncStateSet {
			if _, alive := c.live.get(g.Name, id, now); !alive && !slices.Contains(g.SyncSet, id) {
				return req.NewResponse(code.ControllerBrokerNotAlive, fmt.Sprintf("broker %d of %s is not alive; it cannot join the SyncStateSet", id, g.Name))
			}
		}
	}
	r := c.propose(command{Op: opAlter, Group: h.BrokerName, ID: h.MasterBrokerID, Epoch: h.MasterEpoch,
		Set: set.SyncStateSet, SetEpoc: set.SyncStateSetEpoch})
	if r.err != nil {
		return fail(req, r.err)
	}
	c.log.Info().Str("group", h.BrokerName).Ints64("sync_state_set", r.g.SyncSet).Int32("epoch", r.g.SyncEpoch).Msg("SyncStateSet altered")
	return replicaResponse(req, r.g, h.MasterBrokerID)
}

// handleElectMaster serves CONTROLLER_ELECT_MASTER (mqadmin electMaster): elects the
// designated broker (brokerId) or the rule's choice, even while the master lives.
func (c *Controller) handleElectMaster(_ *server.Conn, req *codec.Command) *codec.Command {
	if !c.isLeader() {
		return c.notLeader(req)
	}
	var h header.BrokerNameRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return badRequest(req, err)
	}
	g := c.fsm.group(h.BrokerName)
	if g == nil {
		return req.NewResponse(code.ControllerBrokerMetadataNotExist, fmt.Sprintf("broker group %q unknown", h.BrokerName))
	}
	id, err := c.choose(g, h.BrokerID, time.Now())
	if err != nil {
		return req.NewResponse(code.ControllerElectMasterFailed, err.Error())
	}
	if id == 0 {
		return req.NewResponse(code.ControllerMasterNotAvailable, fmt.Sprintf("no live broker of %s qualifies (SyncStateSet %v)", g.Name, g.SyncSet))
	}
	r := c.propose(command{Op: opElect, Group: g.Name, ID: id, Epoch: g.MasterEpoch})
	if r.err != nil {
		return fail(req, r.err)
	}
	c.notifyGroup(r.g)
	resp := replicaResponse(req, r.g, id)
	resp.ExtFields["newMasterAddress"] = r.g.addr(id)
	addrs := map[int64]string{}
	for _, m := range r.g.Members {
		addrs[m.ID] = m.Addr
	}
	resp.Body = body.EncodeJSON(body.BrokerMemberGroup{BrokerAddrs: addrs, BrokerName: g.Name, Cluster: g.Cluster})
	return resp
}

// handleGetMetadata serves CONTROLLER_GET_METADATA_INFO; any controller answers.
func (c *Controller) handleGetMetadata(_ *server.Conn, req *codec.Command) *codec.Command {
	id, addr := c.leader()
	h := header.ControllerMetadata{Group: c.o.Group, ControllerLeaderID: id, ControllerLeaderAddress: addr,
		IsLeader: c.isLeader(), Peers: c.o.Peers}
	resp := req.NewResponse(code.Success, "")
	resp.ExtFields = h.Encode()
	return resp
}

// handleGetSyncStateData serves CONTROLLER_GET_SYNC_STATE_DATA for the groups named in
// the body (a JSON list of brokerNames; empty for all).
func (c *Controller) handleGetSyncStateData(_ *server.Conn, req *codec.Command) *codec.Command {
	if !c.isLeader() {
		return c.notLeader(req)
	}
	var names []string
	if len(req.Body) > 0 {
		if err := body.DecodeJSON(req.Body, &names); err != nil {
			return badRequest(req, err)
		}
	}
	now := time.Now()
	out := body.BrokerReplicasInfo{ReplicasInfoTable: map[string]body.ReplicasInfo{}}
	for _, g := range c.fsm.groups() {
		if len(names) > 0 && !slices.Contains(names, g.Name) {
			continue
		}
		ri := body.ReplicasInfo{MasterAddress: g.addr(g.MasterID), MasterBrokerID: g.MasterID, MasterEpoch: g.MasterEpoch,
			SyncStateSetEpoch: g.SyncEpoch, InSyncReplicas: []body.ReplicaIdentity{}, NotInSyncReplicas: []body.ReplicaIdentity{}}
		for _, m := range g.Members {
			_, alive := c.live.get(g.Name, m.ID, now)
			r := body.ReplicaIdentity{BrokerAddress: m.Addr, BrokerID: m.ID, BrokerName: g.Name, Alive: alive}
			if slices.Contains(g.SyncSet, m.ID) {
				ri.InSyncReplicas = append(ri.InSyncReplicas, r)
			} else {
				ri.NotInSyncReplicas = append(ri.NotInSyncReplicas, r)
			}
		}
		out.ReplicasInfoTable[g.Name] = ri
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = body.EncodeJSON(out)
	return resp
}
