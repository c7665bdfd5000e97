package transport_test

import (
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/remotingtest"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// extEntries is a codec.ExtReader keeping every entry.
type extEntries struct {
	mu sync.Mutex
	m  map[string]string
}

func (e *extEntries) ReadExt(k, v string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil {
		e.m = map[string]string{}
	}
	e.m[k] = v
}

// InvokeAsyncExt hands the answer's extFields to the reader, with either header
// serialization (the server answers in the request's), large answers included; a binary
// answer comes without a map.
func TestClientInvokeAsyncExt(t *testing.T) {
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(100, func(_ *server.Conn, req *codec.Command) *codec.Command {
			resp := req.NewResponse(0, "")
			resp.ExtFields = req.ExtFields
			resp.Body = req.Body
			return resp
		})
	})
	c := remotingtest.NewClient(t)
	addr := s.Addr().String()
	for _, tc := range []struct {
		ser  byte
		body int
	}{{codec.SerializeRocketMQ, 10}, {codec.SerializeJSON, 10}, {codec.SerializeRocketMQ, 200 << 10}} {
		req := codec.NewRequest(100, map[string]string{"queueId": "3", "msgId": "abc"}, make([]byte, tc.body))
		req.Serialize = tc.ser
		var ext extEntries
		type answer struct {
			resp *codec.Command
			err  error
		}
		got := make(chan answer, 1)
		if err := c.InvokeAsyncExt(remotingtest.Timeout(t, 10*time.Second), addr, req, &ext, func(r *codec.Command, err error) {
			got <- answer{r, err}
		}); err != nil {
			t.Fatal(err)
		}
		var a answer
		select {
		case a = <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("no answer")
		}
		if a.err != nil {
			t.Fatalf("serialize %d: %v", tc.ser, a.err)
		}
		ext.mu.Lock()
		if ext.m["queueId"] != "3" || ext.m["msgId"] != "abc" || len(ext.m) != 2 {
			t.Fatalf("serialize %d, body %d: reader got %v", tc.ser, tc.body, ext.m)
		}
		ext.mu.Unlock()
		if len(a.resp.Body) != tc.body || !a.resp.IsResponse() {
			t.Fatalf("serialize %d: answer %+v", tc.ser, a.resp)
		}
		if tc.ser == codec.SerializeRocketMQ && tc.body < 64<<10 && a.resp.ExtFields != nil {
			t.Fatalf("binary answer came with a map: %v", a.resp.ExtFields)
		}
	}
}
