// Package code holds the RocketMQ 4.x remoting request and response codes.
//
// The numbers are fixed by the protocol (RequestCode.java, ResponseCode.java and
// RemotingSysResponseCode.java in apache/rocketmq); names follow Go style. Every code
// below 400 fits in the ROCKETMQ header's 16-bit code field; Command.Code is an int32 because
// the 5.x codes (POP_MESSAGE is 200050) do not (docs/protocol.md §1).
package code

// Request codes sent by clients (producers, consumers, admin tools) to a broker.
const (
	SendMessage                   = 10  // SEND_MESSAGE: one message, long (v1) header.
	PullMessage                   = 11  // PULL_MESSAGE: read a queue from a logical offset, optionally long-polled.
	QueryMessage                  = 12  // QUERY_MESSAGE: messages of a topic by key within a time range.
	QueryConsumerOffset           = 14  // QUERY_CONSUMER_OFFSET: the committed offset of (group, topic, queue).
	UpdateConsumerOffset          = 15  // UPDATE_CONSUMER_OFFSET: commit an offset; the Go client sends it "oneway" with flag 0.
	UpdateAndCreateTopic          = 17  // UPDATE_AND_CREATE_TOPIC: create or change a topic on one broker.
	GetAllTopicConfig             = 21  // GET_ALL_TOPIC_CONFIG: every topic configuration of a broker (also slave sync).
	GetTopicConfigList            = 22  // GET_TOPIC_CONFIG_LIST: legacy topic list of a broker.
	GetTopicNameList              = 23  // GET_TOPIC_NAME_LIST: legacy topic names of a broker.
	UpdateBrokerConfig            = 25  // UPDATE_BROKER_CONFIG: change runtime broker settings.
	GetBrokerConfig               = 26  // GET_BROKER_CONFIG: the broker's settings as properties text.
	GetBrokerRuntimeInfo          = 28  // GET_BROKER_RUNTIME_INFO: runtime figures as a KV table.
	SearchOffsetByTimestamp       = 29  // SEARCH_OFFSET_BY_TIMESTAMP: queue offset of the first message stored at or after a time.
	GetMaxOffset                  = 30  // GET_MAX_OFFSET: the next logical offset of a queue.
	GetMinOffset                  = 31  // GET_MIN_OFFSET: the smallest logical offset still stored.
	GetEarliestMsgStoretime       = 32  // GET_EARLIEST_MSG_STORETIME: store time of a queue's oldest message.
	ViewMessageByID               = 33  // VIEW_MESSAGE_BY_ID: one stored message by its commitlog offset.
	HeartBeat                     = 34  // HEART_BEAT: client registration of producer and consumer groups.
	UnregisterClient              = 35  // UNREGISTER_CLIENT: a client leaves its groups.
	ConsumerSendMsgBack           = 36  // CONSUMER_SEND_MSG_BACK: a failed message goes to the retry topic or the DLQ.
	EndTransaction                = 37  // END_TRANSACTION: commit or roll back a half message.
	GetConsumerListByGroup        = 38  // GET_CONSUMER_LIST_BY_GROUP: the client ids of a consumer group.
	CheckTransactionState         = 39  // CHECK_TRANSACTION_STATE: broker → producer, ask the local transaction outcome.
	NotifyConsumerIDsChanged      = 40  // NOTIFY_CONSUMER_IDS_CHANGED: broker → consumer, group membership changed.
	LockBatchMQ                   = 41  // LOCK_BATCH_MQ: lease queues for orderly consumption.
	UnlockBatchMQ                 = 42  // UNLOCK_BATCH_MQ: release leased queues.
	GetAllConsumerOffset          = 43  // GET_ALL_CONSUMER_OFFSET: every committed offset (slave sync).
	GetAllDelayOffset             = 45  // GET_ALL_DELAY_OFFSET: schedule progress per delay level (slave sync).
	CheckClientConfig             = 46  // CHECK_CLIENT_CONFIG: validate a client's subscription settings.
	RegisterBroker                = 103 // REGISTER_BROKER: broker → namesrv, announce the broker and its topics.
	UnregisterBroker              = 104 // UNREGISTER_BROKER: broker → namesrv, the broker leaves.
	GetRouteInfoByTopic           = 105 // GET_ROUTEINFO_BY_TOPIC: namesrv, the route data of a topic.
	GetBrokerClusterInfo          = 106 // GET_BROKER_CLUSTER_INFO: namesrv, every broker and cluster.
	UpdateAndCreateSubGroup       = 200 // UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: create or change a consumer group's config.
	GetAllSubscriptionGroupConfig = 201 // GET_ALL_SUBSCRIPTIONGROUP_CONFIG: every consumer group config of a broker.
	GetTopicStatsInfo             = 202 // GET_TOPIC_STATS_INFO: min, max and last-update time of each queue of a topic.
	GetConsumerConnectionList     = 203 // GET_CONSUMER_CONNECTION_LIST: the live connections of a consumer group.
	GetProducerConnectionList     = 204 // GET_PRODUCER_CONNECTION_LIST: the live connections of a producer group.
	WipeWritePermOfBroker         = 205 // WIPE_WRITE_PERM_OF_BROKER: namesrv, remove write permission of a broker.
	GetAllTopicListFromNameserver = 206 // GET_ALL_TOPIC_LIST_FROM_NAMESERVER: every topic the namesrv knows.
	DeleteSubscriptionGroup       = 207 // DELETE_SUBSCRIPTIONGROUP: remove a consumer group's config.
	GetConsumeStats               = 208 // GET_CONSUME_STATS: per-queue broker, consumer and lag offsets of a group.
	DeleteTopicInBroker           = 215 // DELETE_TOPIC_IN_BROKER: drop a topic and its queues from one broker.
	DeleteTopicInNamesrv          = 216 // DELETE_TOPIC_IN_NAMESRV: drop a topic from the namesrv route table.
	ResetConsumerClientOffset     = 220 // RESET_CONSUMER_CLIENT_OFFSET: broker → consumer, jump to new offsets.
	GetConsumerStatusFromClient   = 221 // GET_CONSUMER_STATUS_FROM_CLIENT: broker → consumer, report offsets.
	InvokeBrokerToResetOffset     = 222 // INVOKE_BROKER_TO_RESET_OFFSET: admin, reset a group's offsets by timestamp.
	QueryTopicConsumeByWho        = 300 // QUERY_TOPIC_CONSUME_BY_WHO: groups consuming a topic.
	GetTopicsByCluster            = 224 // GET_TOPICS_BY_CLUSTER: namesrv, topics served by a cluster.
	GetConsumerRunningInfo        = 307 // GET_CONSUMER_RUNNING_INFO: broker → consumer (admin-initiated), runtime state.
	ConsumeMessageDirectly        = 309 // CONSUME_MESSAGE_DIRECTLY: broker → consumer (admin-initiated), consume one message now.
	SendMessageV2                 = 310 // SEND_MESSAGE_V2: one message, short a..n header (Java clients).
	SendBatchMessage              = 320 // SEND_BATCH_MESSAGE: several messages to one queue, short header with m=true.
	SendReplyMessage              = 324 // SEND_REPLY_MESSAGE: request/reply, the reply side.
	SendReplyMessageV2            = 325 // SEND_REPLY_MESSAGE_V2: request/reply with the short header.
	PushReplyMessageToClient      = 326 // PUSH_REPLY_MESSAGE_TO_CLIENT: broker → requester, deliver a reply.
)

// RocketMQ 5 POP consumption codes (docs/pop.md): the broker keeps each group's
// progress; the client receives, then acknowledges each message.
const (
	PopMessage                 = 200050 // POP_MESSAGE: receive messages that stay invisible until acknowledged.
	AckMessage                 = 200051 // ACK_MESSAGE: acknowledge one popped message by its extraInfo.
	ChangeMessageInvisibleTime = 200053 // CHANGE_MESSAGE_INVISIBLETIME: extend or shorten a popped message's invisible time.
	BatchAckMessage            = 200151 // BATCH_ACK_MESSAGE: acknowledge several popped messages (JSON body).
)

// Response codes (RemotingSysResponseCode and ResponseCode).
const (
	Success                    = 0   // SUCCESS.
	SystemError                = 1   // SYSTEM_ERROR: the request could not be carried out; the remark says why.
	SystemBusy                 = 2   // SYSTEM_BUSY: overloaded, retry later.
	RequestCodeNotSupported    = 3   // REQUEST_CODE_NOT_SUPPORTED: no handler for the request code.
	TransactionFailed          = 4   // TRANSACTION_FAILED.
	FlushDiskTimeout           = 10  // FLUSH_DISK_TIMEOUT: stored, but the sync flush did not finish in time.
	SlaveNotAvailable          = 11  // SLAVE_NOT_AVAILABLE: stored on the master, no slave to replicate to.
	FlushSlaveTimeout          = 12  // FLUSH_SLAVE_TIMEOUT: stored on the master, the slave did not ack in time.
	MessageIllegal             = 13  // MESSAGE_ILLEGAL: the message breaks a size or format rule.
	ServiceNotAvailable        = 14  // SERVICE_NOT_AVAILABLE: the broker cannot accept writes now (disk full, slave role).
	VersionNotSupported        = 15  // VERSION_NOT_SUPPORTED.
	NoPermission               = 16  // NO_PERMISSION: the topic or broker forbids the operation.
	TopicNotExist              = 17  // TOPIC_NOT_EXIST.
	TopicExistAlready          = 18  // TOPIC_EXIST_ALREADY.
	PullNotFound               = 19  // PULL_NOT_FOUND: no new message at the offset.
	PullRetryImmediately       = 20  // PULL_RETRY_IMMEDIATELY: nothing matched the filter; pull again from nextBeginOffset.
	PullOffsetMoved            = 21  // PULL_OFFSET_MOVED: the offset is outside the queue; use nextBeginOffset.
	QueryNotFound              = 22  // QUERY_NOT_FOUND: no stored value (e.g. no committed offset).
	SubscriptionParseFailed    = 23  // SUBSCRIPTION_PARSE_FAILED: the subscription expression is invalid.
	SubscriptionNotExist       = 24  // SUBSCRIPTION_NOT_EXIST: no subscription for the group and topic.
	SubscriptionNotLatest      = 25  // SUBSCRIPTION_NOT_LATEST: the registered subscription is older than the request's.
	SubscriptionGroupNotExist  = 26  // SUBSCRIPTION_GROUP_NOT_EXIST: unknown consumer group.
	FilterDataNotExist         = 27  // FILTER_DATA_NOT_EXIST.
	FilterDataNotLatest        = 28  // FILTER_DATA_NOT_LATEST.
	TransactionShouldCommit    = 200 // TRANSACTION_SHOULD_COMMIT.
	TransactionShouldRollback  = 201 // TRANSACTION_SHOULD_ROLLBACK.
	TransactionStateUnknow     = 202 // TRANSACTION_STATE_UNKNOW (sic).
	TransactionStateGroupWrong = 203 // TRANSACTION_STATE_GROUP_WRONG.
	NoBuyerID                  = 204 // NO_BUYER_ID.
	NotInCurrentUnit           = 205 // NOT_IN_CURRENT_UNIT.
	ConsumerNotOnline          = 206 // CONSUMER_NOT_ONLINE: no live connection of the consumer group.
	ConsumeMsgTimeout          = 207 // CONSUME_MSG_TIMEOUT.
	NoMessage                  = 208 // NO_MESSAGE.
	PollingFull                = 209 // POLLING_FULL: too many POP requests are waiting.
	PollingTimeout             = 210 // POLLING_TIMEOUT: a POP found nothing within its poll time.
	InvalidParameter           = 29  // INVALID_PARAMETER: a request field is out of range.
	FlowControl                = 215 // FLOW_CONTROL.
)

// Flag bits of a RemotingCommand header.
const (
	FlagResponse = 1 << 0 // RPC_TYPE: the frame is a response.
	FlagOneway   = 1 << 1 // RPC_ONEWAY: no response expected (the Go client never sets it).
)
