package server_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/remotingtest"
	"github.com/rocketgo/rocketgo/remoting/server"
)

func TestServerUnknownCode(t *testing.T) {
	s := remotingtest.StartServer(t, nil)
	c := remotingtest.NewClient(t)
	for _, typ := range []byte{codec.SerializeJSON, codec.SerializeRocketMQ} {
		req := codec.NewRequest(999, nil, nil)
		req.Serialize = typ
		resp, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), s.Addr().String(), req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Code != code.RequestCodeNotSupported || resp.Remark != "request code 999 not supported" {
			t.Fatalf("unknown code: got code %d remark %q", resp.Code, resp.Remark)
		}
		if resp.Serialize != typ || resp.Opaque != req.Opaque || !resp.IsResponse() {
			t.Fatalf("unknown code response: serialize %d opaque %d flag %d; want %d %d response",
				resp.Serialize, resp.Opaque, resp.Flag, typ, req.Opaque)
		}
	}
}

func TestServerAddrResolvesPort(t *testing.T) {
	s := remotingtest.StartServer(t, nil)
	a := s.Addr()
	if !a.IsValid() || a.Port() == 0 || a.Addr().String() != "127.0.0.1" {
		t.Fatalf("Addr: got %v, want 127.0.0.1 with a real port", a)
	}
	nc, err := net.DialTimeout("tcp", a.String(), time.Second)
	if err != nil {
		t.Fatalf("dial the reported address: %v", err)
	}
	_ = nc.Close()
	if err := s.Start(remotingtest.Timeout(t, time.Second)); err == nil {
		t.Fatal("second Start succeeded")
	}
}

// rawBinaryFrame encodes c with the ROCKETMQ header.
func rawFrame(t *testing.T, c *codec.Command) []byte {
	t.Helper()
	f, err := codec.AppendFrame(nil, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// readRawFrame reads one frame from a raw connection.
func readRawFrame(t *testing.T, nc net.Conn) *codec.Command {
	t.Helper()
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var prefix [4]byte
	if _, err := io.ReadFull(nc, prefix[:]); err != nil {
		t.Fatalf("read prefix: %v", err)
	}
	n, err := codec.FrameLength(prefix[:], 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(nc, buf); err != nil {
		t.Fatalf("read frame: %v", err)
	}
	c, err := codec.DecodeFrame(buf)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestServerBinaryRequestGetsBinaryResponse(t *testing.T) {
	s := remotingtest.StartServer(t, func(s *server.Server) { s.Handle(100, remotingtest.Echo) })
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	req := &codec.Command{Code: 100, Language: "JAVA", Version: 407, Opaque: 41, ExtFields: map[string]string{"k": "bin"}, Serialize: codec.SerializeRocketMQ}
	if _, err := nc.Write(rawFrame(t, req)); err != nil {
		t.Fatal(err)
	}
	resp := readRawFrame(t, nc)
	if resp.Serialize != codec.SerializeRocketMQ || resp.Opaque != 41 || resp.ExtFields["k"] != "bin" || !resp.IsResponse() {
		t.Fatalf("binary response: got %+v", resp)
	}
}

func TestServerPipelinedRequestsAnsweredInOrder(t *testing.T) {
	s := remotingtest.StartServer(t, func(s *server.Server) { s.Handle(100, remotingtest.Echo) })
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var burst []byte
	const n = 200
	for i := range n {
		req := codec.NewRequest(100, map[string]string{"k": string(rune('a' + i%26))}, bytes.Repeat([]byte{byte(i)}, i))
		req.Opaque = int32(i + 1)
		burst = append(burst, rawFrame(t, req)...)
	}
	if _, err := nc.Write(burst); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		resp := readRawFrame(t, nc)
		if resp.Opaque != int32(i+1) || len(resp.Body) != i || resp.ExtFields["k"] != string(rune('a'+i%26)) {
			t.Fatalf("response %d: got opaque %d body %d ext %q", i, resp.Opaque, len(resp.Body), resp.ExtFields["k"])
		}
	}
}

func TestServerBodyPartsWritev(t *testing.T) {
	parts := [][]byte{bytes.Repeat([]byte("A"), 100), bytes.Repeat([]byte("B"), 70000), []byte("C")}
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(11, func(_ *server.Conn, req *codec.Command) *codec.Command {
			resp := req.NewResponse(0, "")
			resp.Body = []byte("head:")
			resp.BodyParts = parts
			return resp
		})
		s.HandleAsync(12, func(_ *server.Conn, req *codec.Command) *codec.Command {
			resp := req.NewResponse(0, "")
			resp.BodyParts = parts
			return resp
		})
	})
	c := remotingtest.NewClient(t)
	want := append([]byte("head:"), bytes.Join(parts, nil)...)
	for i := range 3 {
		resp, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), s.Addr().String(), codec.NewRequest(11, nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resp.Body, want) {
			t.Fatalf("call %d: body of %d bytes, want %d", i, len(resp.Body), len(want))
		}
		resp, err = c.Invoke(remotingtest.Timeout(t, 5*time.Second), s.Addr().String(), codec.NewRequest(12, nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(resp.Body, want[5:]) {
			t.Fatalf("async call %d: body of %d bytes, want %d", i, len(resp.Body), len(want)-5)
		}
	}
}

func TestServerLateReplyAndAsync(t *testing.T) {
	held := make(chan *codec.Command, 1)
	var conn atomic.Pointer[server.Conn]
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(20, parkLate(held, &conn))
		s.HandleAsync(21, func(_ *server.Conn, req *codec.Command) *codec.Command {
			resp := req.NewResponse(0, "async")
			return resp
		})
	})
	c := remotingtest.NewClient(t)
	addr := s.Addr().String()
	done := make(chan error, 1)
	go func() {
		resp, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(20, map[string]string{"x": "1"}, nil))
		if err == nil && (resp.Remark != "late" || resp.Code != 0) {
			err = errors.New("late reply: wrong response " + resp.Remark)
		}
		done <- err
	}()
	req := <-held
	resp, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(21, nil, nil))
	if err != nil || resp.Remark != "async" {
		t.Fatalf("async handler: %v %+v", err, resp)
	}
	go func() { _ = conn.Load().Reply(req.NewResponse(0, "late")) }()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestServerHandlerPanicAnswersSystemError(t *testing.T) {
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(30, func(*server.Conn, *codec.Command) *codec.Command { panic("boom") })
		s.HandleAsync(31, func(*server.Conn, *codec.Command) *codec.Command { panic("boom async") })
	})
	c := remotingtest.NewClient(t)
	for _, rc := range []int32{30, 31} {
		resp, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), s.Addr().String(), codec.NewRequest(rc, nil, nil))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Code != code.SystemError {
			t.Fatalf("code %d: got response code %d, want SYSTEM_ERROR", rc, resp.Code)
		}
	}
}

func TestServerWorkerQueueFullIsBusy(t *testing.T) {
	entered := make(chan struct{}, 4)
	release := make(chan struct{})
	s := server.NewServer(server.ServerOptions{Addr: "127.0.0.1:0", Workers: 1, WorkerQueue: 1, Logger: remotingtest.Logger(t)})
	s.HandleAsync(50, func(_ *server.Conn, req *codec.Command) *codec.Command {
		entered <- struct{}{}
		<-release
		return req.NewResponse(0, "")
	})
	if err := s.Start(remotingtest.Timeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	defer close(release)
	c := remotingtest.NewClient(t)
	addr := s.Addr().String()
	results := make(chan *codec.Command, 2)
	go func() {
		r, _ := c.Invoke(remotingtest.Timeout(t, 10*time.Second), addr, codec.NewRequest(50, nil, nil))
		results <- r
	}()
	<-entered // the only worker is busy
	go func() {
		r, _ := c.Invoke(remotingtest.Timeout(t, 10*time.Second), addr, codec.NewRequest(50, nil, nil))
		results <- r
	}()
	testutil.Eventually(t, 5*time.Second, "queued request", func() bool { return s.Queued() == 1 })
	resp, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(50, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code != code.SystemBusy {
		t.Fatalf("third request: got code %d, want SYSTEM_BUSY", resp.Code)
	}
}

func TestServerInvokeReachesClientHandler(t *testing.T) {
	var tr *remotingtest.ConnTracker
	s := remotingtest.StartServer(t, func(s *server.Server) {
		tr = remotingtest.TrackConns(s)
		s.Handle(100, remotingtest.Echo)
	})
	c := remotingtest.NewClient(t)
	oneway := make(chan *codec.Command, 1)
	c.Handle(code.CheckTransactionState, func(addr string, req *codec.Command) *codec.Command {
		resp := req.NewResponse(0, "checked")
		resp.ExtFields["tx"] = req.ExtFields["tx"] + "-answer"
		return resp
	})
	c.Handle(code.NotifyConsumerIDsChanged, func(addr string, req *codec.Command) *codec.Command {
		oneway <- req
		return nil
	})
	c.Handle(77, func(string, *codec.Command) *codec.Command { return nil }) // never answers
	addr := s.Addr().String()
	if _, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(100, nil, nil)); err != nil {
		t.Fatal(err)
	}
	sc := tr.Next(t)

	resp, err := sc.Invoke(remotingtest.Timeout(t, 5*time.Second), codec.NewRequest(code.CheckTransactionState, map[string]string{"tx": "t1"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Remark != "checked" || resp.ExtFields["tx"] != "t1-answer" {
		t.Fatalf("server-started request: got %+v", resp)
	}

	if err := sc.InvokeOneway(codec.NewRequest(code.NotifyConsumerIDsChanged, map[string]string{"consumerGroup": "g"}, nil)); err != nil {
		t.Fatal(err)
	}
	select {
	case req := <-oneway:
		if req.ExtFields["consumerGroup"] != "g" || !req.IsOneway() {
			t.Fatalf("oneway request: got %+v", req)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("oneway request did not arrive")
	}

	// A code the client has no handler for is answered REQUEST_CODE_NOT_SUPPORTED.
	resp, err = sc.Invoke(remotingtest.Timeout(t, 5*time.Second), codec.NewRequest(4242, nil, nil))
	if err != nil || resp.Code != code.RequestCodeNotSupported {
		t.Fatalf("unknown client code: got %v %+v", err, resp)
	}

	// A client that never answers: timeout, and nothing left pending.
	start := time.Now()
	_, err = sc.Invoke(remotingtest.Timeout(t, 100*time.Millisecond), codec.NewRequest(77, nil, nil))
	if !errors.Is(err, codec.ErrTimeout) {
		t.Fatalf("unanswered server request: got %v, want codec.ErrTimeout", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("timeout took %v", d)
	}
	if n := sc.Pending(); n != 0 {
		t.Fatalf("pending after timeout: %d", n)
	}

	// The client going away fails a pending server-started call promptly.
	errc := make(chan error, 1)
	go func() {
		_, err := sc.Invoke(remotingtest.Timeout(t, 30*time.Second), codec.NewRequest(77, nil, nil))
		errc <- err
	}()
	testutil.Eventually(t, 5*time.Second, "pending server call", func() bool { return sc.Pending() == 1 })
	c.CloseAddr(addr)
	select {
	case err := <-errc:
		if !errors.Is(err, codec.ErrClosed) {
			t.Fatalf("invoke on closed conn: got %v, want codec.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("pending server call not failed after the client closed")
	}
	testutil.Eventually(t, 5*time.Second, "OnClose", func() bool { return tr.IsClosed(sc.ID()) })
	if !sc.Closed() {
		t.Fatal("Closed() false after OnClose")
	}
	if err := sc.InvokeOneway(codec.NewRequest(40, nil, nil)); !errors.Is(err, codec.ErrClosed) {
		t.Fatalf("oneway on closed conn: got %v, want codec.ErrClosed", err)
	}
	if err := sc.Reply(codec.NewRequest(0, nil, nil)); !errors.Is(err, codec.ErrClosed) {
		t.Fatalf("reply on closed conn: got %v, want codec.ErrClosed", err)
	}
}

func TestConnValueAndRemoteAddr(t *testing.T) {
	var tr *remotingtest.ConnTracker
	s := remotingtest.StartServer(t, func(s *server.Server) { tr = remotingtest.TrackConns(s) })
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sc := tr.Next(t)
	if got, want := sc.RemoteAddr().String(), nc.LocalAddr().String(); got != want {
		t.Fatalf("RemoteAddr: got %s, want %s", got, want)
	}
	if sc.Value() != nil {
		t.Fatal("Value before SetValue is not nil")
	}
	sc.SetValue("client-1")
	if sc.Value() != "client-1" {
		t.Fatalf("Value: got %v", sc.Value())
	}
	sc.SetValue(nil)
	if sc.Value() != nil {
		t.Fatalf("Value after SetValue(nil): got %v", sc.Value())
	}
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	testutil.Eventually(t, 5*time.Second, "OnClose after server.Conn.Close", func() bool { return tr.IsClosed(sc.ID()) })
}

// badInputs are byte sequences each of which must make the server close the connection.
func badInputs() map[string][]byte {
	jsonHdr := []byte(`{"code":105,"language":"GO","version":317,"opaque":2,"flag":0,"remark":"","extFields":{"topic":"T"}}`)
	tooLongHeader := remotingtest.RawFrame(codec.SerializeJSON, jsonHdr, nil)
	binary.BigEndian.PutUint32(tooLongHeader[4:], uint32(len(jsonHdr)+10))
	return map[string][]byte{
		"2 GiB length prefix":      {0x80, 0, 0, 0, 0, 0, 0, 0},
		"length under 4":           {0, 0, 0, 2, 0, 0},
		"header longer than frame": tooLongHeader,
		"serialize type 7":         remotingtest.RawFrame(7, jsonHdr, nil),
		"invalid json header":      remotingtest.RawFrame(codec.SerializeJSON, []byte(`{"code":"105"`), nil),
		"truncated binary header":  remotingtest.RawFrame(codec.SerializeRocketMQ, []byte{0, 105, 9, 1, 61, 0, 0, 0}, nil),
	}
}

func TestServerBadInputClosesOnlyThatConnection(t *testing.T) {
	var tr *remotingtest.ConnTracker
	s := remotingtest.StartServer(t, func(s *server.Server) {
		tr = remotingtest.TrackConns(s)
		s.Handle(100, remotingtest.Echo)
	})
	addr := s.Addr().String()
	good := remotingtest.NewClient(t)
	call := func(i int) {
		t.Helper()
		k := string(rune('a' + i%26))
		resp, err := good.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(100, map[string]string{"k": k}, nil))
		if err != nil || resp.ExtFields["k"] != k {
			t.Fatalf("good connection call %d: %v %+v", i, err, resp)
		}
	}
	call(0)
	goodConn := tr.Next(t)

	// The good connection keeps calling while the bad ones come and go.
	stop := make(chan struct{})
	bgErr := make(chan error, 1)
	go func() {
		defer close(bgErr)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := good.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(100, map[string]string{"k": "bg"}, nil))
			if err != nil || resp.ExtFields["k"] != "bg" {
				bgErr <- err
				return
			}
		}
	}()

	for name, input := range badInputs() {
		t.Run(name, func(t *testing.T) {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			bad := tr.Next(t)
			if _, err := nc.Write(input); err != nil {
				t.Fatal(err)
			}
			_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := nc.Read(make([]byte, 64))
			var ne net.Error
			if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
				t.Fatalf("server did not close the bad connection: read %d, %v", n, err)
			}
			testutil.Eventually(t, 5*time.Second, "OnClose of the bad connection", func() bool { return tr.IsClosed(bad.ID()) })
		})
	}

	t.Run("body cut mid-frame then peer closes", func(t *testing.T) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		bad := tr.Next(t)
		f := rawFrame(t, codec.NewRequest(100, map[string]string{"k": "cut"}, bytes.Repeat([]byte("x"), 1000)))
		if _, err := nc.Write(f[:len(f)/2]); err != nil {
			t.Fatal(err)
		}
		_ = nc.Close()
		testutil.Eventually(t, 5*time.Second, "OnClose of the cut connection", func() bool { return tr.IsClosed(bad.ID()) })
	})

	t.Run("oversized frame under a small limit", func(t *testing.T) {
		// A frame that is well formed but over the configured limit.
		small := server.NewServer(server.ServerOptions{Addr: "127.0.0.1:0", MaxFrameBytes: 1024, Logger: remotingtest.Logger(t)})
		small.Handle(100, remotingtest.Echo)
		if err := small.Start(remotingtest.Timeout(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
		defer small.Close()
		c := remotingtest.NewClient(t)
		_, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), small.Addr().String(), codec.NewRequest(100, nil, make([]byte, 2048)))
		if !errors.Is(err, codec.ErrClosed) {
			t.Fatalf("oversized request: got %v, want codec.ErrClosed", err)
		}
		if _, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), small.Addr().String(), codec.NewRequest(100, nil, make([]byte, 100))); err != nil {
			t.Fatalf("call after reconnect: %v", err)
		}
	})

	close(stop)
	if err, ok := <-bgErr; ok {
		t.Fatalf("good connection failed during bad input: %v", err)
	}
	if tr.IsClosed(goodConn.ID()) {
		t.Fatal("good connection was closed")
	}
	call(1)
}

func TestServerCloseFailsClientCalls(t *testing.T) {
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(100, remotingtest.Echo)
		s.Handle(60, func(*server.Conn, *codec.Command) *codec.Command { return nil })
	})
	c := remotingtest.NewClient(t)
	addr := s.Addr().String()
	if _, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), addr, codec.NewRequest(100, nil, nil)); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Invoke(remotingtest.Timeout(t, 30*time.Second), addr, codec.NewRequest(60, nil, nil))
		errc <- err
	}()
	testutil.Eventually(t, 5*time.Second, "pending call", func() bool { return c.Pending() == 1 })
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("server Close took %v", d)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, codec.ErrClosed) {
			t.Fatalf("in-flight call: got %v, want codec.ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("in-flight call not failed after server Close")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestServerStartBindError(t *testing.T) {
	s := remotingtest.StartServer(t, nil)
	s2 := server.NewServer(server.ServerOptions{Addr: s.Addr().String(), Logger: remotingtest.Logger(t)})
	if err := s2.Start(remotingtest.Timeout(t, 5*time.Second)); err == nil {
		_ = s2.Close()
		t.Fatal("second server on the same port started")
	}
	if err := s2.Close(); err != nil {
		t.Fatalf("Close after failed Start: %v", err)
	}
}

func TestServerDropsPeerThatDoesNotRead(t *testing.T) {
	body := make([]byte, 64<<10)
	var tr *remotingtest.ConnTracker
	s := server.NewServer(server.ServerOptions{Addr: "127.0.0.1:0", MaxOutboundBytes: 256 << 10, Logger: remotingtest.Logger(t)})
	tr = remotingtest.TrackConns(s)
	s.Handle(11, func(_ *server.Conn, req *codec.Command) *codec.Command {
		resp := req.NewResponse(0, "")
		resp.BodyParts = [][]byte{body}
		return resp
	})
	if err := s.Start(remotingtest.Timeout(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.(*net.TCPConn).SetReadBuffer(4096)
	bad := tr.Next(t)
	req := rawFrame(t, codec.NewRequest(11, nil, nil))
	// Keep asking, never read: the answers (64 MiB in all) cannot fit in socket buffers.
	go func() {
		for range 1024 {
			if _, err := nc.Write(req); err != nil {
				return
			}
		}
	}()
	testutil.Eventually(t, 20*time.Second, "server to drop the non-reading peer", func() bool { return tr.IsClosed(bad.ID()) })

	// Others are unaffected.
	c := remotingtest.NewClient(t)
	if _, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), s.Addr().String(), codec.NewRequest(11, nil, nil)); err != nil {
		t.Fatalf("reading client: %v", err)
	}
}

func TestServerManySlicesPerWrite(t *testing.T) {
	parts := make([][]byte, 2000)
	var want []byte
	for i := range parts {
		parts[i] = []byte{byte(i), byte(i >> 8)}
		want = append(want, parts[i]...)
	}
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(11, func(_ *server.Conn, req *codec.Command) *codec.Command {
			resp := req.NewResponse(0, "")
			resp.BodyParts = [][]byte{[]byte("a"), []byte("b")}
			return resp
		})
		s.Handle(12, func(c *server.Conn, req *codec.Command) *codec.Command {
			go func() {
				resp := req.NewResponse(0, "")
				resp.BodyParts = parts
				_ = c.Reply(resp)
			}()
			return nil
		})
	})
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// Pipelined answers of 3 slices each: one read holds hundreds of requests, more
	// answers than one writev can take.
	var burst []byte
	const n = 2000
	for i := range n {
		req := codec.NewRequest(11, nil, nil)
		req.Opaque = int32(i)
		burst = append(burst, rawFrame(t, req)...)
	}
	go func() { _, _ = nc.Write(burst) }()
	for i := range n {
		resp := readRawFrame(t, nc)
		if resp.Opaque != int32(i) || string(resp.Body) != "ab" {
			t.Fatalf("answer %d: opaque %d body %q", i, resp.Opaque, resp.Body)
		}
	}
	// A late reply made of 2000 slices.
	c := remotingtest.NewClient(t)
	resp, err := c.Invoke(remotingtest.Timeout(t, 5*time.Second), s.Addr().String(), codec.NewRequest(12, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(resp.Body, want) {
		t.Fatalf("2000-part reply: got %d bytes, want %d", len(resp.Body), len(want))
	}
}

// TestServerAnswersGoClientFrameOnTheWire sends the official Go client's exact request
// bytes and checks the exact response bytes.
func TestServerAnswersGoClientFrameOnTheWire(t *testing.T) {
	s := remotingtest.StartServer(t, func(s *server.Server) {
		s.Handle(105, func(_ *server.Conn, req *codec.Command) *codec.Command {
			resp := req.NewResponse(0, "")
			resp.ExtFields["topic"] = req.ExtFields["topic"]
			resp.Body = []byte(`{"brokerDatas":[],"queueDatas":[]}`)
			return resp
		})
	})
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// The header bytes are the codec package's golden file of the official Go client.
	header, err := os.ReadFile("../codec/testdata/go_client_route_request.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write(remotingtest.RawFrame(codec.SerializeJSON, header, nil)); err != nil {
		t.Fatal(err)
	}
	wantHeader := `{"code":0,"language":"GO","version":317,"opaque":2,"flag":1,"remark":"","extFields":{"topic":"T"}}`
	want := remotingtest.RawFrame(codec.SerializeJSON, []byte(wantHeader), []byte(`{"brokerDatas":[],"queueDatas":[]}`))
	got := make([]byte, len(want))
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(nc, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("response bytes:\n got %q\nwant %q", got, want)
	}
	if strings.ContainsAny(string(got[8:8+len(wantHeader)]), " \n\t") {
		t.Fatal("response header is not compact")
	}
}
