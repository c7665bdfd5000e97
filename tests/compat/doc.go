// Package compat holds the compatibility suite: tests that drive a rocketgo NameServer
// and broker with the official Apache RocketMQ Go client,
// github.com/apache/rocketmq-client-go/v2 v2.1.2, used exactly as an application would
// use it. It is a separate module so the client and its dependencies stay out of the
// main module's go.mod; `replace github.com/rocketgo/rocketgo => ../..` builds it
// against the working tree.
//
// Every test starts its own cluster (tests/cluster) on 127.0.0.1 with kernel-chosen
// ports, uses topic and group names of its own, runs in parallel with the others, waits
// by polling against deadlines, and checks exact message contents, queues and offsets.
//
// What the client needs, and therefore what the suite pins down (docs/protocol.md §2.9):
//
//	send_test.go     SEND_MESSAGE (10) sync, async and oneway; SEND_BATCH_MESSAGE (320)
//	consume_test.go  push consumer: HEART_BEAT (34), GET_CONSUMER_LIST_BY_GROUP (38),
//	                 PULL_MESSAGE (11) with long polling, offsets (14, 15),
//	                 NOTIFY_CONSUMER_IDS_CHANGED (40), tag filtering, consumer and
//	                 broker restarts, CONSUMER_SEND_MSG_BACK (36) and redelivery
//	offset_test.go   CONSUME_FROM_FIRST / LAST / TIMESTAMP: GET_MAX_OFFSET (30),
//	                 SEARCH_OFFSET_BY_TIMESTAMP (29), QUERY_CONSUMER_OFFSET (14) answers
//	pull_test.go     the v2.1.2 pull consumer: Poll/ACK and PullFrom
//	admin_test.go    admin CreateTopic (17), DeleteTopic (215, 216), topic list (206)
//	bench_test.go    sync and async send and push consumption through the client
//
// The client's own quirks that shape the tests are noted where they matter: it keys
// client instances by ClientID process-wide (so every producer and consumer here gets a
// unique instance name), it accepts only IP literals as NameServer addresses, and a
// consumer's Start fails unless its topics already have routes.
package compat
