// Package metapb holds the protobuf schemas of rocketgo's durable metadata: topic
// configs, consumer group configs, committed consumer offsets, the store's format record
// and checkpoint, and the data version of the metadata tables.
//
// The .proto files sit next to the generated Go and are the source of truth; the
// *.pb.go files are generated and committed. Regenerate with
//
//	go generate ./proto/metapb
//
// which needs protoc and protoc-gen-go at the version of google.golang.org/protobuf in
// go.mod (go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12).
//
// Schema evolution follows the protobuf rules: never reuse or renumber a field, add new
// fields with new numbers, and read an absent field as its zero value. Values written by
// an older version therefore stay readable.
//
// The records are stored as values (in pebble or small files) under keys their owners
// choose; these messages do not carry their own keys except where a name is part of the
// record (TopicConfig.topic_name, SubscriptionGroup.group_name).
package metapb
