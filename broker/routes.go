package broker

import (
	"github.com/rocketgo/rocketgo/broker/acl"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// route is one request code the broker serves.
type route struct {
	code    int32
	handler server.Handler
	// async runs the handler on the server's worker pool instead of an event loop.
	async bool
}

// routes lists every request code the broker serves, its handler and where it runs.
// Subsystems expose handlers; this table is the one place that registers them.
//
// Handlers that only read memory or answer later through the connection run on the
// event loops. Those that write the metadata database with fsync (admin requests; a
// heartbeat can create a group and its retry topic), may delete queue files, read
// records that may sit in a cold segment (queries, dead letters), walk every queue of a
// topic (stats), or wait for the scheduler or the half-message set run on the worker
// pool.
func (b *Broker) routes() []route {
	return []route{
		// Data path: send.go, pull.go, offsets.go.
		{code.SendMessage, b.handleSend, false},
		{code.SendMessageV2, b.handleSend, false},
		{code.SendBatchMessage, b.handleSend, false},
		{code.PullMessage, b.handlePull, false},
		{code.QueryConsumerOffset, b.handleQueryConsumerOffset, false},
		{code.UpdateConsumerOffset, b.handleUpdateConsumerOffset, false},
		{code.SearchOffsetByTimestamp, b.handleSearchOffset, false},
		{code.GetMaxOffset, b.handleGetMaxOffset, false},
		{code.GetMinOffset, b.handleGetMinOffset, false},
		{code.GetEarliestMsgStoretime, b.handleGetEarliestMsgStoretime, false},

		// POP consumption (RocketMQ 5): pop.go. POP_MESSAGE answers from its own
		// goroutine when it waits; acks may wait for a SYNC_FLUSH or a slave.
		{code.PopMessage, b.handlePopMessage, false},
		{code.AckMessage, b.handleAckMessage, true},
		{code.BatchAckMessage, b.handleBatchAckMessage, true},
		{code.ChangeMessageInvisibleTime, b.handleChangeInvisibleTime, true},

		// Request/reply: reply.go. The push to the requester runs off the event loop.
		{code.SendReplyMessage, b.handleSendReply, false},
		{code.SendReplyMessageV2, b.handleSendReply, false},

		// Topics and groups: admin_topic.go.
		// A change is answered once the slaves have it (toSlaves, slaveread.go).
		{code.UpdateAndCreateTopic, b.toSlaves(b.handleUpdateAndCreateTopic), true},
		{code.DeleteTopicInBroker, b.toSlaves(b.handleDeleteTopic), true},
		{code.GetAllTopicConfig, b.handleGetAllTopicConfig, false},
		{code.UpdateAndCreateSubGroup, b.toSlaves(b.handleUpdateAndCreateSubGroup), true},
		{code.GetAllSubscriptionGroupConfig, b.handleGetAllSubscriptionGroupConfig, false},
		{code.DeleteSubscriptionGroup, b.toSlaves(b.handleDeleteSubGroup), true}, // admin_group.go

		// Broker configuration: admin_config.go.
		{code.GetBrokerConfig, b.handleGetBrokerConfig, false},
		{code.UpdateBrokerConfig, b.handleUpdateBrokerConfig, false},

		// Client registry, queue locks, queries and statistics.
		{code.HeartBeat, b.handleHeartbeat, true},
		{code.UnregisterClient, b.handleUnregisterClient, false},
		{code.GetConsumerListByGroup, b.handleGetConsumerList, false},
		{code.CheckClientConfig, b.handleCheckClientConfig, false},
		{code.LockBatchMQ, b.handleLockBatch, false},
		{code.UnlockBatchMQ, b.handleUnlockBatch, false},
		{code.QueryMessage, b.handleQueryMessage, true},
		{code.ViewMessageByID, b.handleViewMessage, true},
		{code.GetBrokerRuntimeInfo, b.handleRuntimeInfo, true},
		{code.GetTopicStatsInfo, b.handleTopicStats, true},
		{code.GetConsumeStats, b.handleConsumeStats, true},
		{code.GetConsumerConnectionList, b.handleConsumerConnections, false},
		{code.GetProducerConnectionList, b.handleProducerConnections, false},
		{code.QueryTopicConsumeByWho, b.handleQueryTopicConsumeByWho, false}, // admin_consumer.go
		{code.GetConsumerRunningInfo, b.handleGetConsumerRunningInfo, true},
		{code.ConsumeMessageDirectly, b.handleConsumeMessageDirectly, true},

		// Broker administration through the consumers, and of the store: admin_offsets.go,
		// admin_store.go, admin_stats.go. 222 and 223 wait for clients; the rest walk
		// queues or delete files.
		{code.InvokeBrokerToResetOffset, b.handleInvokeResetOffset, true},
		{code.InvokeBrokerToGetConsumerStatus, b.handleInvokeGetConsumerStatus, true},
		{code.CloneGroupOffset, b.handleCloneGroupOffset, true},
		{code.ViewBrokerStatsData, b.handleViewBrokerStatsData, false},
		{code.GetBrokerConsumeStats, b.handleBrokerConsumeStats, true},
		{code.QueryConsumeQueue, b.handleQueryConsumeQueue, true},
		{code.CleanExpiredConsumeQueue, b.handleCleanExpiredConsumeQueue, true},
		{code.CleanUnusedTopic, b.handleCleanUnusedTopic, true},

		// Master/Slave: the request a slave asks its master (slave.go).
		{code.GetAllConsumerOffset, b.handleGetAllConsumerOffset, false},
		{code.SlaveMetadataVersion, b.handleSlaveMetadataVersion, false}, // slaveread.go
		{code.RelayConsumerOffsets, b.handleRelayConsumerOffsets, true},
		// Controller mode: controlled.go.
		{code.GetBrokerEpochCache, b.handleGetBrokerEpochCache, false},
		{code.NotifyBrokerRoleChanged, b.handleNotifyBrokerRoleChanged, false},

		// Transactions: endtx.go.
		{code.EndTransaction, b.handleEndTransaction, true},
		{code.ListPendingTransactions, b.handleListPendingTransactions, true},
		{code.ResolvePendingTransaction, b.handleResolvePendingTransaction, true},

		// Retry, dead letters and timers: sendback.go, dlq.go, delay.go.
		{code.ConsumerSendMsgBack, b.handleSendBack, false},
		{code.ListDLQMessages, b.handleListDLQ, true},
		{code.ResendDLQMessages, b.handleResendDLQ, true},
		{code.CancelScheduledMessage, b.handleCancelScheduled, true},

		// ACL administration: admin_acl.go. They write plain_acl.yml with fsync.
		{acl.UpdateAndCreateACLConfig, b.handleUpdateACLConfig, true},
		{acl.DeleteACLConfig, b.handleDeleteACLConfig, true},
		{acl.GetBrokerClusterACLInfo, b.handleGetACLInfo, true},
		{acl.UpdateGlobalWhiteAddrsConfig, b.handleUpdateGlobalWhite, true},
		{acl.GetBrokerClusterACLConfig, b.handleGetACLConfig, true},

		{code.ListTimerMessages, b.handleListTimerMessages, true}, // timerlist.go
	}
}

// registerRoutes registers every route with srv but those skip names (nil: none), each
// behind the ACL check (aclguard.go) and observed for rocketmq_rpc_latency
// (observe_rpc.go).
func (b *Broker) registerRoutes(srv *server.Server, skip func(code int32) bool) {
	for _, r := range b.routes() {
		if skip != nil && skip(r.code) {
			continue
		}
		if bh := b.batchRoute(r.code); bh != nil {
			srv.HandleBatchRaw(r.code, bh) // the send header is read from the frame (send.go)
			continue
		}
		h := b.observed(r.code, b.guarded(r.handler))
		if r.async {
			srv.HandleAsync(r.code, h)
		} else {
			srv.Handle(r.code, h)
		}
	}
}
