package body

import (
	"encoding/json"
	"fmt"
)

// Bodies of the controller requests (docs/failover.md §3), JSON with Apache RocketMQ 5's
// field names (SyncStateSet.java, BrokerReplicasInfo.java, EpochEntryCache.java). A
// group's members are named by brokerId.

// SyncStateSet is the body of CONTROLLER_ALTER_SYNC_STATE_SET and of the replica-info
// answers: the brokerIds that hold every acknowledged message, and the set's epoch.
type SyncStateSet struct {
	SyncStateSet      []int64 `json:"syncStateSet"`
	SyncStateSetEpoch int32   `json:"syncStateSetEpoch"`
}

// ReplicaIdentity is one member of a group in BrokerReplicasInfo.
type ReplicaIdentity struct {
	BrokerAddress string `json:"brokerAddress"`
	BrokerID      int64  `json:"brokerId"`
	BrokerName    string `json:"brokerName"`
	Alive         bool   `json:"alive"`
}

// ReplicasInfo is one group's state in BrokerReplicasInfo.
type ReplicasInfo struct {
	InSyncReplicas    []ReplicaIdentity `json:"inSyncReplicas"`
	MasterAddress     string            `json:"masterAddress"`
	MasterBrokerID    int64             `json:"masterBrokerId"`
	MasterEpoch       int32             `json:"masterEpoch"`
	NotInSyncReplicas []ReplicaIdentity `json:"notInSyncReplicas"`
	SyncStateSetEpoch int32             `json:"syncStateSetEpoch"`
}

// BrokerReplicasInfo is the answer body of CONTROLLER_GET_SYNC_STATE_DATA (1006).
type BrokerReplicasInfo struct {
	ReplicasInfoTable map[string]ReplicasInfo `json:"replicasInfoTable"`
}

// EpochEntry is one epoch of a broker's CommitLog: the records from StartOffset to
// EndOffset were written by the master of Epoch.
type EpochEntry struct {
	EndOffset   int64 `json:"endOffset"`
	Epoch       int32 `json:"epoch"`
	StartOffset int64 `json:"startOffset"`
}

// EpochEntryCache is the answer body of GET_BROKER_EPOCH_CACHE (1007).
type EpochEntryCache struct {
	BrokerID    int64        `json:"brokerId"`
	BrokerName  string       `json:"brokerName"`
	ClusterName string       `json:"clusterName"`
	EpochList   []EpochEntry `json:"epochList"`
	MaxOffset   int64        `json:"maxOffset"`
}

// BrokerMemberGroup is the answer body of CONTROLLER_ELECT_MASTER: the group's members
// by brokerId (the master under 0, as the NameServer lists it).
type BrokerMemberGroup struct {
	BrokerAddrs map[int64]string `json:"brokerAddrs"`
	BrokerName  string           `json:"brokerName"`
	Cluster     string           `json:"cluster"`
}

// EncodeJSON encodes one of the controller bodies.
func EncodeJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("body: encode %T: %v", v, err)) // only fixed types reach here
	}
	return b
}

// DecodeJSON decodes a controller body into v, refusing one over MaxBodyBytes.
func DecodeJSON(b []byte, v any) error {
	if len(b) > MaxBodyBytes {
		return fmt.Errorf("body: %T of %d bytes exceeds %d", v, len(b), MaxBodyBytes)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("body: decode %T: %w", v, err)
	}
	return nil
}
