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
}

// Pending scheduled messages (timer.go), after the command table.
func init() {
	commands = append(commands, listTimersCmd)
}
