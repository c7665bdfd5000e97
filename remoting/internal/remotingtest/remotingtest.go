// Package remotingtest holds what the server and transport tests share: a server on
// 127.0.0.1:0 and a client that are closed when the test ends, a connection tracker,
// an echo handler, raw frames, and a poll-until-deadline helper. The tests of both
// packages use each other's side, so the helpers live here once rather than in
// either.
package remotingtest

import (
	"bytes"
	"context"
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// StartServer starts a server on 127.0.0.1:0 with handlers installed by setup, and
// closes it when the test ends.
func StartServer(t testing.TB, setup func(*server.Server)) *server.Server {
	t.Helper()
	s := server.NewServer(server.ServerOptions{Addr: "127.0.0.1:0", Logger: Logger(t), EventLoops: 2})
	if setup != nil {
		setup(s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Start(ctx); err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// NewClient returns a client closed when the test ends.
func NewClient(t testing.TB) *transport.Client {
	t.Helper()
	c := transport.NewClient(transport.ClientOptions{DialTimeout: 2 * time.Second, Logger: Logger(t)})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Logger routes logs to the test output (shown only on failure).
func Logger(t testing.TB) zerolog.Logger {
	if tt, ok := t.(*testing.T); ok {
		return zerolog.New(zerolog.NewTestWriter(tt)).Level(zerolog.WarnLevel)
	}
	return zerolog.Nop()
}

// Echo answers with the request's "k" ext field and body.
func Echo(_ *server.Conn, req *codec.Command) *codec.Command {
	resp := req.NewResponse(0, "")
	resp.ExtFields["k"] = req.ExtFields["k"]
	resp.Body = req.Body
	return resp
}

// Timeout returns a context that ends after d or when the test ends.
func Timeout(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// RawFrame wraps a header (serialize type typ) and body into a whole frame, prefix
// included, without going through the encoder.
func RawFrame(typ byte, header, body []byte) []byte {
	f := binary.BigEndian.AppendUint32(nil, uint32(4+len(header)+len(body)))
	f = binary.BigEndian.AppendUint32(f, uint32(typ)<<24|uint32(len(header)))
	f = append(f, header...)
	return append(f, body...)
}

// ConnTracker records a server's connections by id.
type ConnTracker struct {
	mu     sync.Mutex
	open   map[uint64]*server.Conn
	closed map[uint64]bool
	// Opened receives each connection as it opens (up to 64 unread).
	Opened chan *server.Conn
}

// TrackConns installs s's OnOpen and OnClose hooks to record its connections.
func TrackConns(s *server.Server) *ConnTracker {
	tr := &ConnTracker{open: map[uint64]*server.Conn{}, closed: map[uint64]bool{}, Opened: make(chan *server.Conn, 64)}
	s.OnOpen(func(c *server.Conn) {
		tr.mu.Lock()
		tr.open[c.ID()] = c
		tr.mu.Unlock()
		select {
		case tr.Opened <- c:
		default:
		}
	})
	s.OnClose(func(c *server.Conn) {
		tr.mu.Lock()
		tr.closed[c.ID()] = true
		tr.mu.Unlock()
	})
	return tr
}

// Count returns the number of connections opened so far.
func (tr *ConnTracker) Count() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.open)
}

// IsClosed reports whether the connection with id has closed.
func (tr *ConnTracker) IsClosed(id uint64) bool {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return tr.closed[id]
}

// Next returns the next connection to open, failing the test after 5 s.
func (tr *ConnTracker) Next(t *testing.T) *server.Conn {
	t.Helper()
	select {
	case c := <-tr.Opened:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("no connection opened")
		return nil
	}
}

// SendRequest builds a SEND_MESSAGE request shaped like the Go client's, with a body of
// n bytes. (remoting/codec's tests build the same one: they cannot import this package,
// which imports codec.)
func SendRequest(n int) *codec.Command {
	ext := map[string]string{
		"producerGroup":         "please_rename_unique_group_name",
		"topic":                 "TopicTest",
		"queueId":               "3",
		"sysFlag":               "0",
		"bornTimestamp":         "1726731935123",
		"flag":                  "0",
		"reconsumeTimes":        "0",
		"unitMode":              "false",
		"maxReconsumeTimes":     "0",
		"defaultTopic":          "TBW102",
		"defaultTopicQueueNums": "4",
		"batch":                 "false",
		"properties":            "KEYS\x01order-42\x02TAGS\x01TagA\x02UNIQ_KEY\x01C0A8000100002A9F0000000000000001\x02WAIT\x01true\x02",
	}
	c := codec.NewRequest(10, ext, bytes.Repeat([]byte{'m'}, n))
	c.Opaque = 12345
	return c
}
