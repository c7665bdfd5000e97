package rmqpb

// The .proto files under apache/rocketmq/v2 are Apache RocketMQ's gRPC API
// (apache/rocketmq-apis, Apache License 2.0, headers kept), copied unchanged; only the
// Go package is chosen here, with protoc's M options, since the files name none.
// Regenerate with
//
//	go generate ./proto/rmqpb
//
// which needs protoc, protoc-gen-go at the version of google.golang.org/protobuf in
// go.mod and protoc-gen-go-grpc v1.6.2 (go install
// google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2). TestGeneratedCodeIsCurrent
// regenerates into a temporary folder and fails when the committed code differs.

//go:generate protoc -I apache/.. --go_out=. --go_opt=module=github.com/rocketgo/rocketgo/proto/rmqpb --go_opt=Mapache/rocketmq/v2/definition.proto=github.com/rocketgo/rocketgo/proto/rmqpb;rmqpb --go_opt=Mapache/rocketmq/v2/service.proto=github.com/rocketgo/rocketgo/proto/rmqpb;rmqpb --go-grpc_out=. --go-grpc_opt=module=github.com/rocketgo/rocketgo/proto/rmqpb --go-grpc_opt=Mapache/rocketmq/v2/definition.proto=github.com/rocketgo/rocketgo/proto/rmqpb;rmqpb --go-grpc_opt=Mapache/rocketmq/v2/service.proto=github.com/rocketgo/rocketgo/proto/rmqpb;rmqpb apache/rocketmq/v2/definition.proto apache/rocketmq/v2/service.proto
