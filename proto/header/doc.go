// Package header converts the typed request and response headers of the RocketMQ 4.x
// remoting protocol to and from a frame's extFields, the string→string map that carries
// a command's "custom header".
//
// Every header is a struct with two methods (the Header interface):
//
//	Encode() map[string]string        // a fresh map, ready for Command.ExtFields
//	Decode(ext map[string]string) error
//
// Keys are the exact, case-sensitive field names of the Java header classes
// (SendMessageRequestHeader.java and the rest of the common/protocol/header package of
// apache/rocketmq 4.9.7); struct field comments name them. Every value is a decimal string, booleans are
// "true" or "false". Whatever Java marks @CFNotNull is required here: Decode fails with a
// *KeyError wrapping ErrMissingKey that names the key. A value that is not a decimal
// number of the field's width (int32 for Java Integer, int64 for Long), or not a boolean,
// fails with ErrBadValue, naming the key and the (truncated) value. Unknown keys are
// ignored, as Java ignores them.
//
// Optional keys read as the zero value when absent, except where Java gives absence its
// own meaning (SendMessageRequest.MaxReconsumeTimes, for one): those fields are pointers,
// nil when the key is absent. Encode writes every required key and every non-pointer
// optional number or boolean, and omits empty optional strings and nil pointers, the way
// Java omits null fields.
//
// Headers by request code (responses without a listed header carry none):
//
//	10, 324 SEND_MESSAGE, SEND_REPLY_MESSAGE      SendMessageRequest → SendMessageResponse
//	310, 320, 325 (short a..n keys)               SendMessageRequestV2 → SendMessageResponse
//	                                              (DecodeSend picks the form by code)
//	11  PULL_MESSAGE                              PullMessageRequest → PullMessageResponse
//	12  QUERY_MESSAGE                             QueryMessageRequest → QueryMessageResponse
//	14  QUERY_CONSUMER_OFFSET                     QueryConsumerOffsetRequest → OffsetResponse
//	15  UPDATE_CONSUMER_OFFSET                    UpdateConsumerOffsetRequest
//	17  UPDATE_AND_CREATE_TOPIC                   CreateTopicRequest
//	29  SEARCH_OFFSET_BY_TIMESTAMP                SearchOffsetRequest → OffsetResponse
//	30, 31 GET_MAX_OFFSET, GET_MIN_OFFSET         QueueRequest → OffsetResponse
//	32  GET_EARLIEST_MSG_STORETIME                QueueRequest → GetEarliestMsgStoretimeResponse
//	33  VIEW_MESSAGE_BY_ID                        ViewMessageRequest
//	35  UNREGISTER_CLIENT                         UnregisterClientRequest
//	36  CONSUMER_SEND_MSG_BACK                    ConsumerSendMsgBackRequest
//	37  END_TRANSACTION                           EndTransactionRequest
//	38, 40, 203 (consumer group only)             ConsumerGroupRequest
//	39  CHECK_TRANSACTION_STATE (to producer)     CheckTransactionStateRequest
//	103 REGISTER_BROKER                           RegisterBrokerRequest → RegisterBrokerResponse
//	104 UNREGISTER_BROKER                         UnregisterBrokerRequest
//	105 GET_ROUTEINFO_BY_TOPIC                    GetRouteInfoRequest
//	202, 300 (topic only)                         TopicRequest
//	204 GET_PRODUCER_CONNECTION_LIST              GetProducerConnectionListRequest
//	207 DELETE_SUBSCRIPTIONGROUP                  DeleteSubscriptionGroupRequest
//	208 GET_CONSUME_STATS                         GetConsumeStatsRequest
//	215, 216 DELETE_TOPIC_IN_BROKER / _NAMESRV    DeleteTopicRequest
//	220, 222 RESET_CONSUMER_CLIENT_OFFSET, INVOKE_BROKER_TO_RESET_OFFSET  ResetOffsetRequest
//	221, 223 GET_CONSUMER_STATUS_FROM_CLIENT, INVOKE_BROKER_TO_GET_CONSUMER_STATUS  GetConsumerStatusRequest
//	224 GET_TOPICS_BY_CLUSTER                     GetTopicsByClusterRequest
//	307 GET_CONSUMER_RUNNING_INFO (to consumer)   GetConsumerRunningInfoRequest
//	309 CONSUME_MESSAGE_DIRECTLY (to consumer)    ConsumeMessageDirectlyRequest
//	314 CLONE_GROUP_OFFSET                        CloneGroupOffsetRequest
//	315 VIEW_BROKER_STATS_DATA                    ViewBrokerStatsDataRequest
//	317 GET_BROKER_CONSUME_STATS                  GetConsumeStatsInBrokerRequest
//	321 QUERY_CONSUME_QUEUE                       QueryConsumeQueueRequest
//	326 PUSH_REPLY_MESSAGE_TO_CLIENT              ReplyMessageRequest
//
// Type aliases name the shared shapes per request (GetMaxOffsetRequest = QueueRequest,
// NotifyConsumerIDsChangedRequest = ConsumerGroupRequest, and so on).
//
// The package does no I/O and keeps no reference to the maps it is given, so decoders
// can be fuzzed and called from any goroutine.
package header
