package code

// Broker administration request codes served by the broker (RequestCode.java of
// apache/rocketmq 4.9; AdminBrokerProcessor.java serves them). INVOKE_BROKER_TO_RESET_OFFSET
// (222) and the broker → consumer codes 220 and 221 it and 223 use are in code.go.
const (
	InvokeBrokerToGetConsumerStatus = 223 // INVOKE_BROKER_TO_GET_CONSUMER_STATUS: admin, the consumers' offsets through 221.
	CleanExpiredConsumeQueue        = 306 // CLEAN_EXPIRED_CONSUMEQUEUE: admin, delete ConsumeQueue files behind the CommitLog.
	CloneGroupOffset                = 314 // CLONE_GROUP_OFFSET: admin, copy one group's committed offsets to another.
	ViewBrokerStatsData             = 315 // VIEW_BROKER_STATS_DATA: admin, one statistic's minute/hour/day figures.
	CleanUnusedTopic                = 316 // CLEAN_UNUSED_TOPIC: admin, delete queues of topics that have no config.
	GetBrokerConsumeStats           = 317 // GET_BROKER_CONSUME_STATS: admin, ConsumeStats of every group of the broker.
	QueryConsumeQueue               = 321 // QUERY_CONSUME_QUEUE: admin, raw ConsumeQueue units of one queue.
)
