// Package codec encodes and decodes RocketMQ 4.x remoting frames: the Command type, the
// frame layout, and the two header serializations (JSON and ROCKETMQ binary). It does no
// I/O and imports nothing outside the standard library and this module, so everything
// that speaks the protocol — the gnet server (remoting/server), the client transport
// (remoting/transport), the SDK — shares it without pulling in the other's
// dependencies. It knows nothing about topics or storage.
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
// A decoder checks L against the frame limit (DefaultMaxFrameBytes, 16 MiB: Java's frameMaxLength)
// before reading or allocating anything of that size, and H against L.
//
// # JSON header (type 0)
//
// What the official Go client sends, and what AppendFrame writes (compact, keys in this
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
// # Errors
//
// ErrTimeout and ErrClosed are not codec failures but live here with ErrFrameTooLarge and
// ErrBadFrame so that the server and the transport fail calls with the same values:
// callers test them with errors.Is whichever end they hold.
package codec
