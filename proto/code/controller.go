package code

// Request and response codes of Apache RocketMQ 5's controller mode (RequestCode.java,
// ResponseCode.java): a broker group's master is elected by a Raft group of controllers
// (docs/failover.md).
const (
	// BrokerHeartbeat (904) broker → controller: the broker is alive; carries its epoch
	// and CommitLog end so that an election can pick the most advanced candidate.
	BrokerHeartbeat = 904
	// ControllerAlterSyncStateSet (1001) master → controller: replace the group's
	// SyncStateSet (body: SyncStateSet JSON).
	ControllerAlterSyncStateSet = 1001
	// ControllerElectMaster (1002) elects a master for a broker group, optionally a
	// designated one (mqadmin electMaster).
	ControllerElectMaster = 1002
	// ControllerRegisterBroker (1003) broker → controller: join a group; the answer
	// names the master and the broker's controller-assigned brokerId.
	ControllerRegisterBroker = 1003
	// ControllerGetReplicaInfo (1004): the group's master, master epoch and SyncStateSet.
	ControllerGetReplicaInfo = 1004
	// ControllerGetMetadataInfo (1005): the controller group, its leader and peers.
	ControllerGetMetadataInfo = 1005
	// ControllerGetSyncStateData (1006): the replica state of the named groups (body:
	// JSON list of brokerNames).
	ControllerGetSyncStateData = 1006
	// GetBrokerEpochCache (1007) → broker: the broker's epoch entries.
	GetBrokerEpochCache = 1007
	// NotifyBrokerRoleChanged (1008) controller → broker: the group's master changed.
	NotifyBrokerRoleChanged = 1008
)

// Controller response codes (ResponseCode.java).
const (
	ControllerFencedMasterEpoch       = 2000 // CONTROLLER_FENCED_MASTER_EPOCH
	ControllerFencedSyncStateSetEpoch = 2001 // CONTROLLER_FENCED_SYNC_STATE_SET_EPOCH
	ControllerInvalidMaster           = 2002 // CONTROLLER_INVALID_MASTER
	ControllerInvalidReplicas         = 2003 // CONTROLLER_INVALID_REPLICAS
	ControllerMasterNotAvailable      = 2004 // CONTROLLER_MASTER_NOT_AVAILABLE
	ControllerInvalidRequest          = 2005 // CONTROLLER_INVALID_REQUEST
	ControllerBrokerNotAlive          = 2006 // CONTROLLER_BROKER_NOT_ALIVE
	ControllerNotLeader               = 2007 // CONTROLLER_NOT_LEADER: remark and leaderAddress name the leader
	ControllerBrokerMetadataNotExist  = 2008 // CONTROLLER_BROKER_METADATA_NOT_EXIST
	ControllerElectMasterFailed       = 2012 // CONTROLLER_ELECT_MASTER_FAILED
)
