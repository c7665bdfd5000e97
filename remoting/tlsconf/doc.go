// Package tlsconf holds TLS for the remoting protocol: the `tls` configuration section
// (Apache RocketMQ's tls.server.* and tls.client.* settings), the server and client
// crypto/tls configurations built from it, and how a listener tells a TLS connection
// from a plain one.
//
// A connection is told apart by its first byte, read with MSG_PEEK so that nothing is
// consumed: 0x16 opens a TLS handshake record (RFC 8446 §5.1, ContentType handshake),
// while a RocketMQ frame opens with the high byte of its 4-byte big-endian length, which
// is 0x16 only for a frame of at least 0x16000000 bytes (352 MiB), far above any frame
// limit. So `permissive` serves both on one port without ambiguity.
//
// Modes (tls.server.mode):
//
//	disabled    plain only; the listener is exactly what it is without TLS
//	permissive  TLS and plain on the same port
//	enforcing   TLS only; a plain connection is closed before a byte of it is read
//
// docs/tls.md describes the configuration, the design and its cost.
package tlsconf
