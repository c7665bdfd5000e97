// Package transport is the calling side of the remoting protocol: the Client that the
// SDK, the broker's NameServer registration and the tests use. Frames are encoded and
// decoded by remoting/codec (see its package documentation for the byte layout).
//
// A Client keeps one TCP connection per address, dialled on first use and again on the
// next call after it failed. Requests are matched to responses by opaque; calls are
// sync (Invoke), async (InvokeAsync) or oneway (InvokeOneway), each bounded by its
// context. Callers encode their frames and the first caller to find the writer idle
// writes everything queued in one writev; one reader goroutine per connection decodes
// frames and completes calls. A connection that dies fails its in-flight calls at once
// with codec.ErrClosed, and the next call dials again. Requests the server starts
// (CHECK_TRANSACTION_STATE, ...) go to the handlers registered with Handle.
//
// With ClientOptions.TLS set every connection is a TLS connection (remoting/tlsconf).
//
// The package uses only the standard library, zerolog, remoting/codec and
// remoting/tlsconf: a program that
// only calls brokers does not link the server's event-loop engine.
package transport
