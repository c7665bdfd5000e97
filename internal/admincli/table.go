package admincli

// commands is the command table, in the order of Apache's MQAdminStartup.initCommand
// for the commands implemented here, then rocketgo's own.
var commands = []*Command{
	updateTopicCmd,
	deleteTopicCmd,
	updateSubGroupCmd,
	deleteSubGroupCmd,
	updateBrokerConfigCmd,
	updateTopicPermCmd,
	topicRouteCmd,
	topicStatusCmd,
	topicClusterListCmd,
	brokerStatusCmd,
	queryMsgByIdCmd,
	queryMsgByKeyCmd,
	queryMsgByUniqueKeyCmd,
	queryMsgTraceByIdCmd,
	producerConnectionCmd,
	consumerConnectionCmd,
	consumerProgressCmd,
	clusterListCmd,
	topicListCmd,
	resetOffsetByTimeCmd,
	getBrokerConfigCmd,
	sendMessageCmd,
	consumeMessageCmd,
	// NameServer administration and queue reading (namesrv.go, message_print.go).
	wipeWritePermCmd,
	addWritePermCmd,
	getNamesrvConfigCmd,
	updateNamesrvConfigCmd,
	updateOrderConfCmd,
	queryMsgByOffsetCmd,
	printMsgCmd,
	printMsgByQueueCmd,
	pendingTransactionsCmd,
	resolveTransactionCmd,
	listDLQCmd,
	resendDLQCmd,
	cancelTimerCmd,

	// Broker-side admin codes (222, 223, 314–317, 321, 306): offsets through live
	// consumers, broker statistics and maintenance.
	brokerConsumeStatsCmd,
	consumerStatusCmd,
	cloneGroupOffsetCmd,
	skipAccumulatedMessageCmd,
	getConsumerStatusCmd,
	cleanExpiredCQCmd,
	cleanUnusedTopicCmd,
	statsAllCmd,
	queryCqCmd,
	// Controller mode (controller.go, docs/failover.md).
	getControllerMetaDataCmd,
	getSyncStateSetCmd,
	getBrokerEpochCmd,
	electMasterCmd,
	// ACL 1.0 administration (acl.go).
	updateAclConfigCmd,
	deleteAclConfigCmd,
	updateGlobalWhiteAddrCmd,
	clusterAclConfigVersionCmd,
	getAclConfigCmd,
}

// Pending scheduled messages (timer.go), after the command table.
func init() {
	commands = append(commands, listTimersCmd)
}
