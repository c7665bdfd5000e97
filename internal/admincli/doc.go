// Package admincli implements the mqadmin command line: Apache RocketMQ 4.9's mqadmin
// commands with the same names, flags and output (each command cites the
// tools/src/main/java/org/apache/rocketmq/tools/command/ source it follows), on top of
// client.Admin.
//
// Beyond Apache: every listing command takes -o json, and every failure exits non-zero
// with its reason on stderr (Apache prints a stack trace and exits 0). A request the
// broker does not serve (REQUEST_CODE_NOT_SUPPORTED) is reported as "not supported by
// this broker", never papered over.
//
// One file per command family (topic.go, cluster.go, consumer.go, message.go,
// rocketgo.go); table.go lists them all in Apache's order.
package admincli
