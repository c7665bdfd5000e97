// Package transport is the calling side of the remoting protocol: the Client that the
// SDK, the broker's NameServer registration and the tests use. Frames are encoded and
// decoded by remoting/codec (see its package documentation for the byte layout).
//
// A Client keeps one TCP connection per address, dialled on first use and again on the
// next call after it failed. Requests are matched to responses by opaque; calls are
// sync (Invoke), async (InvokeAsync) or oneway (InvokeOneway), each bounded by its
// context. Callers encode their frames into the connection's write buffer (reused 64
// KiB chunks). A synchronous call that finds no write in progress writes at once on its
// own goroutine, so a lone request is never delayed; asynchronous and oneway calls leave
// the write to the connection's writer goroutine, so a burst of them goes out in a few
// writev calls instead of a syscall each (callers wait once 4 MiB are queued behind the
// write in progress). Asynchronous calls sharing a context share one context.AfterFunc
// per connection for their timeout. One reader goroutine per connection decodes frames
// from a 64 KiB buffer and completes calls; async callbacks run on it. A synchronous
// caller that finds nobody reading reads its own answer instead, saving the handoff
// from the reader (read.go); it leaves an async call's answer it meets on the way to the
// reader goroutine, with the reading. A connection that dies fails its in-flight calls
// at once with codec.ErrClosed, and the next call dials again. Requests the server starts
// (CHECK_TRANSACTION_STATE, ...) go to the handlers registered with Handle.
//
// With ClientOptions.TLS set every connection is a TLS connection (remoting/tlsconf).
//
// The package uses only the standard library, zerolog, remoting/codec and
// remoting/tlsconf: a program that
// only calls brokers does not link the server's event-loop engine.
package transport
