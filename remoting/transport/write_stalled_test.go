package transport_test

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/remotingtest"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// TestClientAsyncNeverWaitsForStalledPeer: asynchronous calls only queue their frame,
// even when the connection is idle between them (the caller then writes a lone frame
// itself) and the peer has stopped reading: no call waits for the socket, and none
// sees its callback run before it returns. Before, the caller's own write of a lone
// frame blocked for the whole write timeout once the socket's buffers were full, then
// failed the connection on the caller's goroutine, running every pending callback
// there.
func TestClientAsyncNeverWaitsForStalledPeer(t *testing.T) {
	// A peer that accepts and never reads, with a small receive buffer so that the
	// socket's buffers fill after a few hundred KiB.
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); err != nil {
			return err
		}
		return serr
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			accepted <- nc
		}
	}()
	const writeTimeout = 10 * time.Second
	c := transport.NewClient(transport.ClientOptions{DialTimeout: 2 * time.Second, WriteTimeout: writeTimeout, Logger: remotingtest.Logger(t)})
	defer c.Close()
	defer func() {
		select {
		case nc := <-accepted:
			_ = nc.Close()
		default:
		}
	}()

	addr := ln.Addr().String()
	body := make([]byte, 60<<10) // under loneMaxBytes: written by an idle caller
	const calls = 56             // 3.4 MiB: past the socket buffers, under maxQueuedBytes
	ctx := context.Background()
	for i := range calls {
		time.Sleep(time.Millisecond) // idle past idleGap, as a slow stream is: not a wait for anything
		returned := make(chan struct{})
		early := make(chan struct{}, 1)
		begin := time.Now()
		err := c.InvokeAsync(ctx, addr, codec.NewRequest(100, nil, body), func(*codec.Command, error) {
			select {
			case <-returned:
			default:
				early <- struct{}{}
			}
		})
		took := time.Since(begin)
		close(returned)
		if err != nil {
			t.Fatalf("call %d: %v after %v", i, err, took)
		}
		if took > writeTimeout/4 {
			t.Fatalf("call %d took %v: an asynchronous call waited for a peer that does not read", i, took)
		}
		select {
		case <-early:
			t.Fatalf("call %d: its callback ran before InvokeAsync returned", i)
		default:
		}
	}
}
