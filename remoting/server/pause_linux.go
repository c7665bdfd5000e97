//go:build linux && !poll_opt

package server

import (
	"errors"
	"reflect"
	"sync"

	"github.com/panjf2000/gnet/v2"
	"github.com/panjf2000/gnet/v2/pkg/netpoll"
	"golang.org/x/sys/unix"
)

// gnet has no call to stop reading one connection: on every readiness event it reads
// the socket and keeps what OnTraffic leaves in the connection's inbound buffer, so a
// peer that is not served would still fill memory. Pausing therefore changes the
// connection's epoll registration directly: without EPOLLIN the kernel keeps the bytes
// in the socket buffer, and TCP flow control stops the peer once that is full.
//
// The event loop's epoll descriptor is not exported; it is read by reflection from
// gnet's eventloop.poller.fd (gnet v2.9, default poller). The registration carries the
// descriptor as its data word, as gnet's default Linux poller does; the poll_opt
// build, which stores a pointer there instead, gets pause_other.go. gnet re-arms
// EPOLLIN itself after flushing a connection's outbound buffer; OnTraffic then pauses
// again, so what a paused connection can add is one read (ReadBufferBytes) per flush.
//
// TestBudgetPausesFramesThatDoNotFit fails if a gnet upgrade moves the field.

// errNoPause is returned when the epoll descriptor cannot be found.
var errNoPause = errors.New("remoting: pausing reads is not supported with this gnet build")

// epollFDs caches each event loop's epoll descriptor.
var epollFDs sync.Map // gnet.EventLoop → int

func epollFD(gc gnet.Conn) (int, error) {
	el := gc.EventLoop()
	if fd, ok := epollFDs.Load(el); ok {
		return fd.(int), nil
	}
	v := reflect.ValueOf(el)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return 0, errNoPause
	}
	p := v.Elem().FieldByName("poller")
	if p.Kind() != reflect.Pointer || p.IsNil() || p.Type().Elem() != reflect.TypeOf(netpoll.Poller{}) {
		return 0, errNoPause
	}
	f := p.Elem().FieldByName("fd")
	if f.Kind() != reflect.Int || f.Int() <= 0 {
		return 0, errNoPause
	}
	fd := int(f.Int())
	epollFDs.Store(el, fd)
	return fd, nil
}

// setReading arms or disarms EPOLLIN on gc's socket; EPOLLOUT stays armed while
// responses wait in its outbound buffer. It must run on gc's event loop.
func setReading(gc gnet.Conn, on bool) error {
	epfd, err := epollFD(gc)
	if err != nil {
		return err
	}
	// While paused, EPOLLRDHUP still reports a peer that went away, so its
	// connection closes now rather than at its frame deadline (gnet closes on an
	// EPOLLRDHUP without EPOLLIN). A peer that half-closes while paused is closed too:
	// RocketMQ clients never half-close.
	var ev uint32 = unix.EPOLLRDHUP
	if on {
		ev = netpoll.ReadEvents
	}
	if gc.OutboundBuffered() > 0 {
		ev |= netpoll.WriteEvents
	}
	fd := gc.Fd()
	return unix.EpollCtl(epfd, unix.EPOLL_CTL_MOD, fd, &unix.EpollEvent{Fd: int32(fd), Events: ev})
}
