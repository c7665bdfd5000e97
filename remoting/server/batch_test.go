package server_test

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/remotingtest"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// TestServerBatchRoute: a burst of pipelined requests of a batched code, with a
// request of an ordinary code and one of another batched code in the middle, reaches
// the batch handler in runs that keep the connection's order (the ordinary request is
// served between the runs), more than one request per run; every answer comes back in
// request order, done runs once per run, and a panicking run answers SYSTEM_ERROR for
// each of its requests only.
func TestServerBatchRoute(t *testing.T) {
	var (
		mu    sync.Mutex
		seen  []string // the order requests were served in
		runs  []int    // the size of every run
		dones int
	)
	batch := func(conn *server.Conn, reqs, resps []*codec.Command) func() {
		mu.Lock()
		defer mu.Unlock()
		runs = append(runs, len(reqs))
		for i, req := range reqs {
			if req.ExtFields["panic"] == "yes" {
				panic("boom")
			}
			seen = append(seen, req.ExtFields["k"])
			resps[i] = req.NewResponse(code.Success, "batched "+req.ExtFields["k"])
		}
		return func() {
			mu.Lock()
			dones++
			mu.Unlock()
		}
	}
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.HandleBatch(100, batch)
		s.HandleBatch(101, batch)
		s.Handle(200, func(_ *server.Conn, req *codec.Command) *codec.Command {
			mu.Lock()
			seen = append(seen, req.ExtFields["k"])
			mu.Unlock()
			return req.NewResponse(code.Success, "single "+req.ExtFields["k"])
		})
	})
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	const n = 120
	var burst []byte
	want := make([]string, n)
	for i := range n {
		c, k := int32(100), fmt.Sprint(i)
		switch {
		case i == 40:
			c = 200
		case i >= 80 && i < 83:
			c = 101
		}
		ext := map[string]string{"k": k}
		if i == 100 {
			ext["panic"] = "yes"
		}
		req := codec.NewRequest(c, ext, nil)
		req.Opaque = int32(i + 1)
		req.Serialize = byte(i % 2)
		burst = append(burst, rawFrame(t, req)...)
		want[i] = "batched " + k
		if c == 200 {
			want[i] = "single " + k
		}
	}
	if _, err := nc.Write(burst); err != nil {
		t.Fatal(err)
	}
	panicked := 0
	for i := range n {
		resp := readRawFrame(t, nc)
		if resp.Opaque != int32(i+1) {
			t.Fatalf("answer %d: opaque %d", i, resp.Opaque)
		}
		if resp.Code == code.SystemError {
			panicked++
			continue
		}
		if resp.Code != code.Success || resp.Remark != want[i] {
			t.Fatalf("answer %d: code %d remark %q, want %q", i, resp.Code, resp.Remark, want[i])
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if panicked == 0 || panicked > n-100 {
		t.Fatalf("%d answers are SYSTEM_ERROR; want the panicked run's only", panicked)
	}
	prev := -1
	for _, k := range seen {
		var i int
		fmt.Sscan(k, &i)
		if i <= prev {
			t.Fatalf("served out of order: %v", seen)
		}
		prev = i
	}
	most, total := 0, 0
	for _, r := range runs {
		most, total = max(most, r), total+r
	}
	if total != n-1 || most < 2 {
		t.Fatalf("runs %v: %d requests batched, want %d, some run of more than one", runs, total, n-1)
	}
	if dones != len(runs)-1 {
		t.Fatalf("done ran %d times for %d runs (one panicked)", dones, len(runs))
	}
}

// TestServerBatchDeferredSurvivesPanic: a request whose slot the handler marked
// Deferred (it answers it later itself) gets that one answer only, even when a later
// request of the same run panics; the panicking request gets SYSTEM_ERROR.
func TestServerBatchDeferredSurvivesPanic(t *testing.T) {
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.HandleBatch(100, func(conn *server.Conn, reqs, resps []*codec.Command) func() {
			for i, req := range reqs {
				if req.ExtFields["panic"] == "yes" {
					panic("boom")
				}
				resps[i] = server.Deferred
				late := req.NewResponse(code.Success, "late")
				go func() { _ = conn.Reply(late) }()
			}
			return nil
		})
		s.Handle(200, func(_ *server.Conn, req *codec.Command) *codec.Command {
			return req.NewResponse(code.Success, "single")
		})
	})
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var burst []byte
	for i, c := range []int32{100, 100, 200} {
		ext := map[string]string{}
		if i == 1 {
			ext["panic"] = "yes"
		}
		req := codec.NewRequest(c, ext, nil)
		req.Opaque = int32(i + 1)
		burst = append(burst, rawFrame(t, req)...)
	}
	if _, err := nc.Write(burst); err != nil {
		t.Fatal(err)
	}
	// Any wrong answer to request 1 would be queued before request 3's, so once both
	// request 3's answer and request 1's late one are in, every answer has been seen.
	got := map[int32][]string{}
	for len(got[1]) == 0 || len(got[3]) == 0 {
		resp := readRawFrame(t, nc)
		got[resp.Opaque] = append(got[resp.Opaque], fmt.Sprintf("%d %s", resp.Code, resp.Remark))
	}
	if len(got[1]) != 1 || got[1][0] != fmt.Sprintf("%d late", code.Success) {
		t.Fatalf("answers to the deferred request: %q, want only its late one", got[1])
	}
	if len(got[2]) != 1 || !strings.HasPrefix(got[2][0], fmt.Sprint(code.SystemError)+" ") {
		t.Fatalf("answers to the panicking request: %q, want one SYSTEM_ERROR", got[2])
	}
}

// TestServerBatchRawRoute: the requests of a HandleBatchRaw route reach the handler with
// their extFields unparsed (no map; RangeExt gives the entries, LoadExt the map), in
// both serializations, while an ordinary route on the same connection gets its map.
func TestServerBatchRawRoute(t *testing.T) {
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.HandleBatchRaw(100, func(_ *server.Conn, reqs, resps []*codec.Command) func() {
			for i, req := range reqs {
				if !req.HasRawExt() || req.ExtFields != nil {
					resps[i] = req.NewResponse(code.SystemError, "extFields were parsed")
					continue
				}
				var got []string
				req.RangeExt(func(k, v string, _ bool) { got = append(got, k+"="+v) })
				req.LoadExt()
				resps[i] = req.NewResponse(code.Success, strings.Join(got, ",")+" "+req.ExtFields["k"])
			}
			return nil
		})
		s.Handle(200, func(_ *server.Conn, req *codec.Command) *codec.Command {
			if req.HasRawExt() {
				return req.NewResponse(code.SystemError, "extFields left unparsed")
			}
			return req.NewResponse(code.Success, "single "+req.ExtFields["k"])
		})
	})
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var burst []byte
	var want []string
	for i := range 6 {
		c, k := int32(100), fmt.Sprint(i)
		w := "k=" + k + " " + k
		if i == 3 {
			c, w = 200, "single "+k
		}
		req := codec.NewRequest(c, map[string]string{"k": k}, nil)
		req.Opaque = int32(i + 1)
		req.Serialize = byte(i % 2)
		burst = append(burst, rawFrame(t, req)...)
		want = append(want, w)
	}
	if _, err := nc.Write(burst); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		resp := readRawFrame(t, nc)
		if resp.Opaque != int32(i+1) || resp.Code != code.Success || resp.Remark != want[i] {
			t.Fatalf("answer %d: opaque %d code %d remark %q, want %q", i, resp.Opaque, resp.Code, resp.Remark, want[i])
		}
	}
}
