package metapb

// The files are compiled from the module root so that each registers under its
// module-relative path ("proto/metapb/topic.proto"): the protobuf registry is global to a
// binary and panics on two files of the same path, and a bare "topic.proto" is a likely
// name for someone else's schema.
//
//go:generate protoc -I ../.. --go_out=../.. --go_opt=paths=source_relative proto/metapb/topic.proto proto/metapb/group.proto proto/metapb/store.proto proto/metapb/version.proto
