// Package body holds the bodies of RocketMQ remoting commands whose payload is a
// structure rather than messages: route and cluster data served by the namesrv, the
// broker's registration, topic lists, heartbeats, queue locks and statistics. Each
// type encodes to the bytes Apache RocketMQ 4.x puts on the wire and decodes both
// that and what Java's fastjson emits. The package does no I/O; every decoder is
// bounded (MaxBodyBytes, a nesting limit) and fuzzed.
//
// # JSON as fastjson writes it
//
// Java serialises bodies with fastjson: compact, keys in alphabetical order, null
// fields left out, and — by default — Map<Long, …> keys written as bare numbers,
// which is not standard JSON:
//
//	{"brokerAddrs":{0:"10.0.0.1:10911",1:"10.0.0.2:10911"},"brokerName":"broker-a","cluster":"C"}
//
// Decoders here accept bare integer keys as well as quoted ones. Encoders write
// quoted keys, which every Java and Go client reads.
//
// # Route (GET_ROUTEINFO_BY_TOPIC, 105)
//
//	{"brokerDatas":[{"brokerAddrs":{"0":"127.0.0.1:10911"},"brokerName":"broker-a","cluster":"DefaultCluster"}],
//	 "filterServerTable":{},
//	 "queueDatas":[{"brokerName":"broker-a","perm":6,"readQueueNums":4,"topicSysFlag":0,"writeQueueNums":4}]}
//
// (shown wrapped; the real body is one line). The official Go client does not parse
// brokerAddrs as JSON: it takes the object's raw text, drops its first and last
// byte, splits on ',' and then each piece at its first ':', strips '"' and parses
// the id. So the route encoder never writes whitespace, always writes brokerAddrs
// (an empty object is fine, a missing one panics the client) and always writes
// queueDatas as an array (null makes the client drop the route).
//
// # REGISTER_BROKER body (103)
//
// As JSON:
//
//	{"filterServerList":[],"topicConfigSerializeWrapper":{"dataVersion":{"counter":3,"timestamp":1690000000000},
//	 "topicConfigTable":{"T":{"order":false,"perm":6,"readQueueNums":4,"topicFilterType":"SINGLE_TAG",
//	 "topicName":"T","topicSysFlag":0,"writeQueueNums":4}}}}
//
// When the request's compressed extField is "true" the body is one zlib stream
// (RFC 1950, as java.util.zip.Deflater writes it) that inflates to length-prefixed
// records, all integers big-endian int32:
//
//	+--------+----------------------------------------+
//	| len    | DataVersion JSON {"counter":…,"timestamp":…}
//	+--------+----------------------------------------+
//	| count  | number of topic records that follow     |
//	+--------+----------------------------------------+
//	| len    | TopicConfig text  "T 4 4 6 SINGLE_TAG"  |  × count
//	+--------+----------------------------------------+
//	| len    | filter server list JSON  []             |
//	+--------+----------------------------------------+
//
// A topic record is Java's TopicConfig.encode(), not JSON: name, read queues, write
// queues, perm and filter type separated by single spaces. topicSysFlag and order are
// not carried, so they arrive as zero, and a topic name containing a space cannot be
// sent in this form. The decoder charges every record against MaxBodyBytes of
// inflated data before reading it.
package body
