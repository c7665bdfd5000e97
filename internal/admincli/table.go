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
	pendingTransactionsCmd,
	resolveTransactionCmd,
	listDLQCmd,
	resendDLQCmd,
	cancelTimerCmd,

	// ACL 1.0 administration (acl.go).
	updateAclConfigCmd,
	deleteAclConfigCmd,
	updateGlobalWhiteAddrCmd,
	clusterAclConfigVersionCmd,
	getAclConfigCmd,
}
