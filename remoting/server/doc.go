// Package server is the accepting side of the remoting protocol, on gnet event loops.
// Frames are encoded and decoded by remoting/codec (see its package documentation for
// the byte layout); this package owns connections, dispatch and write batching.
//
// OnTraffic peeks for whole frames, decodes them and dispatches by code: handlers
// registered with Handle run right there (they must not block), those registered with
// HandleAsync on a bounded worker pool. The responses produced during one OnTraffic call
// go out in one write; BodyParts are spliced in by writev without a copy. A handler that
// returns nil answers later with Conn.Reply from any goroutine. An oversized or malformed
// frame closes only its connection.
//
// What peers make the server hold is budgeted (budget.go, docs/operations.md §1.5):
// unfinished frames and queued requests count against a server-wide and a
// per-connection limit; a large frame that does not fit pauses its connection (its
// socket is not read, pause_linux.go) until room is released; a frame that stops
// arriving closes its connection at FrameReadTimeout.
//
// The server also starts requests of its own on a connection (Conn.Invoke,
// Conn.InvokeOneway: CHECK_TRANSACTION_STATE, NOTIFY_CONSUMER_IDS_CHANGED); their
// responses are matched by opaque like the client transport's.
//
// With ServerOptions.TLS in permissive or enforcing mode a Go listener owns the port and
// hands each connection to the event loops, plain sockets as they are and TLS ones
// through a socketpair (tls.go, docs/tls.md §2); the handlers see no difference.
package server
