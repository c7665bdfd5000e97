// Package compat5 runs Apache RocketMQ's official 5.x Go SDK
// (github.com/apache/rocketmq-clients/golang/v5, exactly v5.1.2) against rocketgo's gRPC
// endpoint. The broker runs as its own process (bin/mqbroker -standalone): the SDK
// registers its own copy of the apache.rocketmq.v2 protobuf types, which would clash
// with the broker's in one process. It is a nested module so that the SDK stays a test
// dependency only.
package compat5
