// Package namesrv is rocketgo's NameServer: the route table that brokers register
// with and that producers, consumers and admin tools ask where a topic lives. It
// speaks RocketMQ 4.x's namesrv protocol, so Java and Go RocketMQ clients and brokers
// can use it unmodified.
//
// # State
//
// The route table is in memory and rebuilt from registrations; the only file a
// NameServer keeps is its KV table (Options.KvConfigPath, Apache's kvConfig.json), and it
// talks to no other NameServer. A broker registers with every NameServer it is
// configured with, every 30 s and whenever its topics change:
//
//	brokers   brokerName  → {cluster, brokerId → "ip:port"}   (0 is the master)
//	clusters  clusterName → {brokerName}
//	topics    topic       → brokerName → queue data (read/write queues, perm, sysflag)
//	live      "ip:port"   → last registration time, DataVersion, connection, HA address
//
// Queue data comes only from masters, and is rebuilt only when a master registers
// with a DataVersion the table has not seen for that address, or for the first time.
// A slave's registration is answered with its master's address and HA address when
// the master is registered.
//
// # Liveness
//
// A broker leaves the table when it unregisters (UNREGISTER_BROKER), when the
// connection its latest registration came on closes, or when it has not registered
// for Options.BrokerExpiry (120 s), checked every Options.ScanInterval against the
// injectable clock Options.Now. When the last address of a broker group goes, the
// group leaves its cluster and its queue data leaves every topic; a topic with no
// queue data left is gone, and GET_ROUTEINFO_BY_TOPIC answers TOPIC_NOT_EXIST (17).
//
// # Requests served
//
//	103 REGISTER_BROKER            JSON or zlib body (proto/body), bodyCrc32 checked
//	104 UNREGISTER_BROKER
//	105 GET_ROUTEINFO_BY_TOPIC     TopicRouteData, compact JSON with quoted brokerIds
//	106 GET_BROKER_CLUSTER_INFO    ClusterInfo
//	206 GET_ALL_TOPIC_LIST_FROM_NAMESERVER   TopicList
//	216 DELETE_TOPIC_IN_NAMESRV    optional clusterName limits it to that cluster
//	224 GET_TOPICS_BY_CLUSTER      TopicList
//	322 QUERY_DATA_VERSION         for Java brokers running with forceRegister=false
//	100 PUT_KV_CONFIG, 101 GET_KV_CONFIG, 102 DELETE_KV_CONFIG, 219 GET_KVLIST_BY_NAMESPACE
//	                               the persisted KV table (kv.go); ORDER_TOPIC_CONFIG feeds
//	                               orderTopicConf when orderMessageEnable is on
//	205 WIPE_WRITE_PERM_OF_BROKER, 327 ADD_WRITE_PERM_OF_BROKER
//	                               a broker group's queue perms in the route table
//	318 UPDATE_NAMESRV_CONFIG, 319 GET_NAMESRV_CONFIG   settings as properties (config.go)
//
// A request this server cannot carry out (a header missing a key, a body that does
// not decode, a CRC mismatch) is answered SYSTEM_ERROR (1) with a remark saying what
// was wrong, and the connection keeps being served. Other request codes get
// REQUEST_CODE_NOT_SUPPORTED (3) from the remoting layer; among them the rest of
// Java's namesrv: the system and unit topic lists (304, 311-313).
package namesrv
