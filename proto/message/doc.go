// Package message is the RocketMQ 4.x message model and its byte formats: the v1
// CommitLog record, the property string, the SEND_BATCH_MESSAGE body, offset and unique
// message ids, the tags hash and zlib bodies. It does no I/O, so every decoder here can be
// fuzzed; each one is bounded by its input and never panics on bad bytes.
//
// # The v1 record
//
// Every stored message is one v1 record, all integers big-endian. The same bytes are the
// CommitLog on disk, the PULL_MESSAGE response body (records back to back, no padding)
// and the HA stream, so a record is encoded once and never re-encoded.
//
//	offset (IPv4 hosts)        offset (IPv6 hosts)
//	  0  +------------------+    0
//	     | TOTALSIZE     4  |         whole record, this field included
//	  4  +------------------+    4
//	     | MAGICCODE     4  |         0xDAA320A7 (blank: 0xCBD43194)
//	  8  +------------------+    8
//	     | BODYCRC       4  |         CRC32 IEEE of BODY & 0x7FFFFFFF (Java's UtilAll.crc32)
//	 12  +------------------+   12
//	     | QUEUEID       4  |
//	 16  +------------------+   16
//	     | FLAG          4  |         user flag
//	 20  +------------------+   20
//	     | QUEUEOFFSET   8  |         logical offset, assigned at append (PatchRecord)
//	 28  +------------------+   28
//	     | PHYSICALOFFSET 8 |         CommitLog offset, assigned at append (PatchRecord)
//	 36  +------------------+   36
//	     | SYSFLAG       4  |         0x10 / 0x20 select the IPv6 host forms
//	 40  +------------------+   40
//	     | BORNTIMESTAMP 8  |         ms
//	 48  +------------------+   48
//	     | BORNHOST   8|20  |         IPv4 4 + port int32, or IPv6 16 + port int32
//	 56  +------------------+   68
//	     | STORETIMESTAMP 8 |         ms, assigned at append (PatchRecord)
//	 64  +------------------+   76
//	     | STOREHOST  8|20  |
//	 72  +------------------+   96
//	     | RECONSUMETIMES 4 |
//	 76  +------------------+  100
//	     | PREPARED TX OFF 8|         half message offset of a committed transaction
//	 84  +------------------+  108
//	     | BODYLENGTH    4  |         n
//	 88  +------------------+  112
//	     | BODY          n  |
//	88+n +------------------+  112+n
//	     | TOPICLENGTH   1  |         t <= 127
//	89+n +------------------+  113+n
//	     | TOPIC         t  |
//	89+n+t +----------------+  113+n+t
//	     | PROPERTIESLEN 2  |         p <= 32767 (signed int16)
//	91+n+t +----------------+  115+n+t
//	     | PROPERTIES    p  |
//	     +------------------+
//	total 91+n+t+p             115+n+t+p   (one IPv6 host: 103+n+t+p)
//
// An end-of-file blank is TOTALSIZE (the rest of the segment, at least 8) followed by
// MAGICCODE 0xCBD43194; the bytes after it are ignored and the reader rolls to the next
// segment. VerifyRecord and DecodeRecord report it as ErrBlank with its size.
//
// # Properties
//
// Properties are "key 0x01 value" pairs separated by 0x02. Java writes no trailing 0x02,
// the Go client writes one; both forms are read. Java's parser, followed here, skips an
// item with an empty key or value and splits a pair at its first 0x01.
//
//	T A G S 01 t a g A 02 K E Y S 01 k 1 20 k 2          (Java form)
//	T A G S 01 t a g A 02 K E Y S 01 k 1 20 k 2 02       (Go client form)
//
// # Batch body
//
// A SEND_BATCH_MESSAGE body is a run of entries; topic, queue, sysflag, born time and
// hosts come from the request header.
//
//	+-----------+-----------+---------+------+---------+------+---------+-------+
//	| TOTALSIZE | MAGICCODE | BODYCRC | FLAG | BODYLEN | BODY | PROPLEN | PROPS |
//	|     4     |  4 (0)    |  4 (0)  |  4   |    4    |  n   |    2    |   p   |
//	+-----------+-----------+---------+------+---------+------+---------+-------+
//	TOTALSIZE = 22 + n + p, checked exactly for every entry.
//
// # Message ids
//
// The offset message id is the upper-case hex of store IP (4 or 16 bytes), store port
// (int32) and physical offset (int64): 32 characters for IPv4, 56 for IPv6. The client
// unique id (UNIQ_KEY) is the upper-case hex of IP, pid (int16), a per-process int32,
// the milliseconds since the start of the local month (int32) and a counter (int16): 32
// characters for IPv4. The broker treats UNIQ_KEY as an opaque string.
package message
