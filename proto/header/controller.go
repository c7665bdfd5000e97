package header

// Headers of the controller requests (docs/failover.md §3). Keys are Apache RocketMQ
// 5's (RegisterBrokerToControllerRequestHeader.java and its siblings); rocketgo keeps
// the group's members by brokerId, as Apache 5.1 does, so a SyncStateSet is a set of
// brokerIds.

// ControllerRegisterRequest is CONTROLLER_REGISTER_BROKER (1003) and, with the same keys,
// BROKER_HEARTBEAT (904) — broker → controller.
type ControllerRegisterRequest struct {
	ClusterName            string // clusterName
	BrokerName             string // brokerName
	BrokerAddr             string // brokerAddress (brokerAddr in a heartbeat)
	BrokerID               int64  // brokerId: 0 until the controller assigned one
	Epoch                  int32  // epoch: the broker's last master epoch
	MaxOffset              int64  // maxOffset: where its CommitLog ends
	HeartbeatTimeoutMillis int64  // heartbeatTimeoutMillis: how long it counts as alive
}

// Encode implements Header.
func (h *ControllerRegisterRequest) Encode() map[string]string {
	return map[string]string{
		"clusterName":            h.ClusterName,
		"brokerName":             h.BrokerName,
		"brokerAddress":          h.BrokerAddr,
		"brokerAddr":             h.BrokerAddr,
		"brokerId":               itoa64(h.BrokerID),
		"epoch":                  itoa32(h.Epoch),
		"maxOffset":              itoa64(h.MaxOffset),
		"heartbeatTimeoutMillis": itoa64(h.HeartbeatTimeoutMillis),
	}
}

// Decode implements Header.
func (h *ControllerRegisterRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	addr := r.optStr("brokerAddress")
	if addr == "" {
		addr = r.str("brokerAddr")
	}
	*h = ControllerRegisterRequest{
		ClusterName:            r.optStr("clusterName"),
		BrokerName:             r.str("brokerName"),
		BrokerAddr:             addr,
		BrokerID:               r.optI64("brokerId"),
		Epoch:                  r.optI32("epoch"),
		MaxOffset:              r.optI64("maxOffset"),
		HeartbeatTimeoutMillis: r.optI64("heartbeatTimeoutMillis"),
	}
	return r.err
}

// ReplicaInfo is the answer header of CONTROLLER_REGISTER_BROKER and
// CONTROLLER_GET_REPLICA_INFO (GetReplicaInfoResponseHeader.java).
type ReplicaInfo struct {
	MasterAddr        string // masterAddress: "" while the group has no master
	MasterBrokerID    int64  // masterBrokerId
	MasterEpoch       int32  // masterEpoch
	SyncStateSetEpoch int32  // syncStateSetEpoch
	BrokerID          int64  // brokerId: the asking broker's id in the group
}

// Encode implements Header.
func (h *ReplicaInfo) Encode() map[string]string {
	m := map[string]string{
		"masterBrokerId":    itoa64(h.MasterBrokerID),
		"masterEpoch":       itoa32(h.MasterEpoch),
		"syncStateSetEpoch": itoa32(h.SyncStateSetEpoch),
		"brokerId":          itoa64(h.BrokerID),
	}
	putOpt(m, "masterAddress", h.MasterAddr)
	return m
}

// Decode implements Header.
func (h *ReplicaInfo) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = ReplicaInfo{
		MasterAddr:        r.optStr("masterAddress"),
		MasterBrokerID:    r.optI64("masterBrokerId"),
		MasterEpoch:       r.optI32("masterEpoch"),
		SyncStateSetEpoch: r.optI32("syncStateSetEpoch"),
		BrokerID:          r.optI64("brokerId"),
	}
	return r.err
}

// BrokerNameRequest is CONTROLLER_GET_REPLICA_INFO (1004) and CONTROLLER_ELECT_MASTER
// (1002): the group, and for an election the designated broker (brokerId, 0 for the
// controller's choice).
type BrokerNameRequest struct {
	ClusterName string // clusterName (optional)
	BrokerName  string // brokerName
	BrokerAddr  string // brokerAddress (optional): the asking broker
	BrokerID    int64  // brokerId (optional)
}

// Encode implements Header.
func (h *BrokerNameRequest) Encode() map[string]string {
	m := map[string]string{"brokerName": h.BrokerName, "brokerId": itoa64(h.BrokerID)}
	putOpt(m, "clusterName", h.ClusterName)
	putOpt(m, "brokerAddress", h.BrokerAddr)
	return m
}

// Decode implements Header.
func (h *BrokerNameRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = BrokerNameRequest{
		ClusterName: r.optStr("clusterName"),
		BrokerName:  r.str("brokerName"),
		BrokerAddr:  r.optStr("brokerAddress"),
		BrokerID:    r.optI64("brokerId"),
	}
	return r.err
}

// AlterSyncStateSetRequest is CONTROLLER_ALTER_SYNC_STATE_SET (1001), master →
// controller (AlterSyncStateSetRequestHeader.java); the body is the new SyncStateSet.
type AlterSyncStateSetRequest struct {
	BrokerName     string // brokerName
	MasterBrokerID int64  // masterBrokerId
	MasterEpoch    int32  // masterEpoch
}

// Encode implements Header.
func (h *AlterSyncStateSetRequest) Encode() map[string]string {
	return map[string]string{
		"brokerName":     h.BrokerName,
		"masterBrokerId": itoa64(h.MasterBrokerID),
		"masterEpoch":    itoa32(h.MasterEpoch),
	}
}

// Decode implements Header.
func (h *AlterSyncStateSetRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = AlterSyncStateSetRequest{
		BrokerName:     r.str("brokerName"),
		MasterBrokerID: r.i64("masterBrokerId"),
		MasterEpoch:    r.i32("masterEpoch"),
	}
	return r.err
}

// ControllerMetadata is the answer header of CONTROLLER_GET_METADATA_INFO (1005) —
// GetMetaDataResponseHeader.java.
type ControllerMetadata struct {
	Group                   string // group
	ControllerLeaderID      string // controllerLeaderId
	ControllerLeaderAddress string // controllerLeaderAddress
	IsLeader                bool   // isLeader
	Peers                   string // peers, as controllerDLegerPeers
}

// Encode implements Header.
func (h *ControllerMetadata) Encode() map[string]string {
	m := map[string]string{"isLeader": boolStr(h.IsLeader)}
	putOpt(m, "group", h.Group)
	putOpt(m, "controllerLeaderId", h.ControllerLeaderID)
	putOpt(m, "controllerLeaderAddress", h.ControllerLeaderAddress)
	putOpt(m, "peers", h.Peers)
	return m
}

// Decode implements Header.
func (h *ControllerMetadata) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = ControllerMetadata{
		Group:                   r.optStr("group"),
		ControllerLeaderID:      r.optStr("controllerLeaderId"),
		ControllerLeaderAddress: r.optStr("controllerLeaderAddress"),
		IsLeader:                r.optBool("isLeader"),
		Peers:                   r.optStr("peers"),
	}
	return r.err
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
