// Package remoting moves RocketMQ 4.x remoting frames: the frame codec (JSON and ROCKETMQ
// binary headers), a server on a gnet event-loop engine, and a client transport with
// opaque correlation, sync/async/oneway calls, timeouts and reconnects. It knows nothing
// about topics or storage; request codes only select handlers.
//
// # Frame
//
// Everything is big-endian. The length prefix counts every byte after itself.
//
//	0          4          8                  8+H               4+L
//	+----------+----------+------------------+------------------+
//	| length L | T | H    | header (H bytes) | body (L-4-H)     |
//	+----------+----------+------------------+------------------+
//	  uint32     |   \ low 24 bits: header length H
//	             \ high byte: serialize type T (0 JSON, 1 ROCKETMQ)
//
// A decoder checks L against MaxFrameBytes (16 MiB by default, Java's frameMaxLength)
// before reading or allocating anything of that size, and H against L.
//
// # JSON header (type 0)
//
// What the official Go client sends, and what this package writes (compact, keys in this
// order, extFields values always strings):
//
//	{"code":105,"language":"GO","version":317,"opaque":2,"flag":0,"remark":"","extFields":{"topic":"T"}}
//
// Java writes the keys alphabetically, adds "serializeTypeCurrentRPC" and omits a null
// remark; the decoder accepts both shapes, skips unknown keys and takes null as absent.
//
// # ROCKETMQ binary header (type 1)
//
//	+--------+------+---------+--------+------+-----------+--------+-----------+---------+
//	| code   | lang | version | opaque | flag | remarkLen | remark | extLen E  | ext ... |
//	| int16  | byte | int16   | int32  | int32| int32     | bytes  | int32     | E bytes |
//	+--------+------+---------+--------+------+-----------+--------+-----------+---------+
//	                                      fixed part: 21 bytes
//
//	ext entry:  | keyLen int16 | key | valueLen int32 | value |
//
// Language bytes: JAVA 0, CPP 1, DOTNET 2, PYTHON 3, DELPHI 4, ERLANG 5, RUBY 6, OTHER 7,
// HTTP 8, GO 9, PHP 10, OMS 11, RUST 12.
//
// # Flags and matching
//
// Flag bit 0 marks a response, bit 1 a oneway request. A response carries its request's
// opaque and uses its request's header serialization. Both sides match responses by
// opaque only; a response nobody waits for (late, after a timeout) is dropped.
//
// # Server
//
// Server runs gnet event loops. OnTraffic peeks for whole frames, decodes them and
// dispatches by code: handlers registered with Handle run right there (they must not
// block), those registered with HandleAsync on a bounded worker pool. The responses
// produced during one OnTraffic call go out in one write; BodyParts are spliced in by
// writev without a copy. A handler that returns nil answers later with Conn.Reply from
// any goroutine. An oversized or malformed frame closes only its connection.
//
// # Client
//
// Client keeps one connection per address. Callers encode their frames and the first
// caller to find the writer idle writes everything queued in one writev; one reader
// goroutine per connection decodes frames and completes calls. A connection that dies
// fails its in-flight calls at once with ErrClosed, and the next call dials again.
package remoting
