package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/acl"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// instance is the client state shared by every producer, consumer and admin client of a
// process that uses the same client id and NameServers: one transport.Client (so one
// connection per broker), the route cache, the broker address table, the producer and
// consumer groups announced by heartbeat, and the handlers of requests brokers start.
// Users get one with acquireInstance and give it back with release; the last release
// stops its goroutines and closes its connections.
type instance struct {
	key      string
	o        clientOptions
	log      zerolog.Logger
	rc       *transport.Client
	clientID string

	nsNext atomic.Uint32 // index of the NameServer to try first

	routes struct {
		sync.RWMutex
		m map[string]*routeEntry // wrapped topic → route
	}
	brokers struct {
		sync.RWMutex
		addrs map[string]map[int64]string // brokerName → brokerId → addr
	}
	groups struct {
		sync.Mutex
		producers map[string]int                      // group → number of producers
		consumers map[string]func() body.ConsumerData // group → heartbeat data
	}
	handlers struct {
		sync.Mutex
		m map[int32][]*handlerEntry
	}
	requests  requestTable // requests waiting for their reply (request.go)
	listeners struct {
		sync.Mutex
		next int
		m    map[int]func(topic string, r *body.TopicRouteData)
	}

	hbMu      sync.Mutex  // one heartbeat round at a time
	hbPending atomic.Bool // a heartbeatSoon round is queued and has not taken hbMu yet
	bgMu      sync.Mutex  // orders spawn against close, so no goroutine starts after it
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closed    atomic.Bool
	refs      int // guarded by registry.Mutex
}

// handlerEntry is one registered handler of a server-started request code.
type handlerEntry struct {
	fn func(addr string, req *codec.Command) *codec.Command
}

// registry holds the live instances by key.
var registry struct {
	sync.Mutex
	m map[string]*instance
}

// clientIDOf returns "ip@instance[@unit]", the instance name DEFAULT replaced by the
// pid (docs/protocol.md §5.3).
func clientIDOf(o *clientOptions) string {
	ip := o.clientIP
	if ip == "" {
		ip = message.HostIPv4().String()
	}
	name := o.instanceName
	if name == "" || name == DefaultInstanceName {
		name = strconv.Itoa(os.Getpid())
	}
	id := ip + "@" + name
	if o.unitName != "" {
		id += "@" + o.unitName
	}
	return id
}

// acquireInstance returns the instance for o, creating and starting it if no live
// instance has the same client id, NameServers, access key and header form, and counts
// one more user of it. The other options (logger, timers) are those of the user that
// created the instance.
func acquireInstance(o clientOptions) (*instance, error) {
	if len(o.nameServers) == 0 {
		return nil, ErrNoNameServer
	}
	id := clientIDOf(&o)
	key := fmt.Sprintf("%s|%s|%s|%d|%p", id, strings.Join(o.nameServers, ";"), o.credentials.AccessKey, o.serialize, o.tls)
	registry.Lock()
	defer registry.Unlock()
	if c := registry.m[key]; c != nil {
		c.refs++
		return c, nil
	}
	c := newInstance(key, id, o)
	if registry.m == nil {
		registry.m = make(map[string]*instance)
	}
	registry.m[key] = c
	c.refs = 1
	c.start()
	return c, nil
}

// release counts one user less; the last one closes the instance.
func (c *instance) release() {
	registry.Lock()
	c.refs--
	last := c.refs <= 0
	if last && registry.m[c.key] == c {
		delete(registry.m, c.key)
	}
	registry.Unlock()
	if last {
		c.close()
	}
}

// newInstance builds an instance; start launches its loops.
func newInstance(key, id string, o clientOptions) *instance {
	log := o.logger.With().Str("component", "client").Str("client_id", id).Logger()
	c := &instance{
		key:      key,
		o:        o,
		log:      log,
		clientID: id,
		rc:       transport.NewClient(transport.ClientOptions{Logger: log, TLS: o.tls}),
	}
	c.routes.m = make(map[string]*routeEntry)
	c.brokers.addrs = make(map[string]map[int64]string)
	c.groups.producers = make(map[string]int)
	c.groups.consumers = make(map[string]func() body.ConsumerData)
	c.handlers.m = make(map[int32][]*handlerEntry)
	c.listeners.m = make(map[int]func(string, *body.TopicRouteData))
	c.handle(code.PushReplyMessageToClient, c.onReplyPush)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	return c
}

// start launches the background loops: route refresh and heartbeat.
func (c *instance) start() {
	c.loop("route_refresh", c.o.routeRefresh, func(ctx context.Context) { c.refreshRoutes(ctx) })
	c.loop("heartbeat", c.o.heartbeat, func(ctx context.Context) {
		if err := c.sendHeartbeat(ctx); err != nil {
			c.log.Warn().Err(err).Msg("heartbeat")
		}
	})
}

// loop runs fn every interval until the instance closes. One goroutine per loop,
// tracked by the WaitGroup that close waits for.
func (c *instance) loop(name string, every time.Duration, fn func(context.Context)) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-c.ctx.Done():
				return
			case <-t.C:
				fn(c.ctx)
			}
		}
	}()
}

// close stops the loops, waits for them and for every goroutine of the transport, and
// closes the connections. Calls after close fail with ErrClosed.
func (c *instance) close() {
	c.bgMu.Lock()
	if !c.closed.CompareAndSwap(false, true) {
		c.bgMu.Unlock()
		return
	}
	c.bgMu.Unlock()
	c.cancel()
	c.wg.Wait()
	_ = c.rc.Close() // always nil; it waits for the transport's goroutines
}

// spawn runs fn on a goroutine tracked by the instance (close waits for it) with the
// instance's context, which ends when the instance closes. It reports false, and does
// not run fn, once the instance is closed.
func (c *instance) spawn(fn func(ctx context.Context)) bool {
	c.bgMu.Lock()
	defer c.bgMu.Unlock()
	if c.closed.Load() {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		fn(c.ctx)
	}()
	return true
}

// heartbeatSoon sends a heartbeat in the background now, unless one is already queued:
// on a new broker, a new consumer, a changed subscription.
//
// The queued round stays pending until it holds hbMu, and only then reads the groups:
// requests made while it waits behind a running round are merged into it (it will send
// the newest groups anyway), and a request made once it has started reading queues a
// new round, so no change goes unannounced. It also means that once hbPending is false
// and hbMu has been free, every round asked for so far has been sent.
func (c *instance) heartbeatSoon() {
	if !c.hbPending.CompareAndSwap(false, true) {
		return
	}
	if !c.spawn(func(ctx context.Context) {
		c.hbMu.Lock()
		defer c.hbMu.Unlock()
		c.hbPending.Store(false)
		if err := c.sendHeartbeatLocked(ctx); err != nil {
			c.log.Debug().Err(err).Msg("heartbeat")
		}
	}) {
		c.hbPending.Store(false)
	}
}

// handle registers fn for requests a broker starts with code (39, 40, 220, 307, ...) and
// returns a function that removes it. Several handlers may share a code — one per
// consumer group, say: they run in registration order and the first non-nil response
// is sent back; a handler returns nil for a request that is not its business (a group
// it does not own). When every handler returns nil, nothing is sent, which is what
// codes 39, 40 and 220 expect.
func (c *instance) handle(code int32, fn func(addr string, req *codec.Command) *codec.Command) (remove func()) {
	e := &handlerEntry{fn: fn}
	c.handlers.Lock()
	first := len(c.handlers.m[code]) == 0
	c.handlers.m[code] = append(c.handlers.m[code], e)
	c.handlers.Unlock()
	if first {
		c.rc.Handle(code, func(addr string, req *codec.Command) *codec.Command {
			return c.dispatch(code, addr, req)
		})
	}
	return func() {
		c.handlers.Lock()
		defer c.handlers.Unlock()
		c.handlers.m[code] = slices.DeleteFunc(c.handlers.m[code], func(x *handlerEntry) bool { return x == e })
	}
}

// dispatch runs the handlers of code until one answers.
func (c *instance) dispatch(code int32, addr string, req *codec.Command) *codec.Command {
	c.handlers.Lock()
	hs := slices.Clone(c.handlers.m[code])
	c.handlers.Unlock()
	for _, h := range hs {
		if resp := h.fn(addr, req); resp != nil {
			return resp
		}
	}
	return nil
}

// withTimeout gives ctx the default deadline d when it has none.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, d)
}

// invoke sends req to addr and waits for the answer, signing it when credentials are
// set. A context without deadline gets the call timeout. Transport errors are wrapped
// with the address.
func (c *instance) invoke(ctx context.Context, addr string, req *codec.Command) (*codec.Command, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	ctx, cancel := withTimeout(ctx, c.o.callTimeout)
	defer cancel()
	c.sign(req)
	resp, err := c.rc.Invoke(ctx, addr, req)
	if err != nil {
		return nil, fmt.Errorf("request %d to %s: %w", req.Code, addr, err)
	}
	return resp, nil
}

// invokeAsync sends req to addr; cb gets the answer or the error and must not block.
func (c *instance) invokeAsync(ctx context.Context, addr string, req *codec.Command, cb func(*codec.Command, error)) error {
	if c.closed.Load() {
		return ErrClosed
	}
	c.sign(req)
	if err := c.rc.InvokeAsync(ctx, addr, req, cb); err != nil {
		return fmt.Errorf("request %d to %s: %w", req.Code, addr, err)
	}
	return nil
}

// invokeAsyncCall is invokeAsync with the call's state in call and the answer's
// extFields going to ext (transport.Client.InvokeAsyncCall): for a caller that makes
// one call after another and reuses both.
func (c *instance) invokeAsyncCall(ctx context.Context, addr string, req *codec.Command, call *transport.AsyncCall, ext codec.ExtReader, cb func(*codec.Command, error)) error {
	if c.closed.Load() {
		return ErrClosed
	}
	c.sign(req)
	if err := c.rc.InvokeAsyncCall(ctx, addr, req, call, ext, cb); err != nil {
		return fmt.Errorf("request %d to %s: %w", req.Code, addr, err)
	}
	return nil
}

// invokeOneway sends req to addr without waiting for an answer, with the oneway flag
// set so the broker does not answer (the official client leaves the flag clear and
// drops the answer; docs/protocol.md §1.4).
func (c *instance) invokeOneway(addr string, req *codec.Command) error {
	if c.closed.Load() {
		return ErrClosed
	}
	c.sign(req)
	if err := c.rc.InvokeOneway(addr, req); err != nil {
		return fmt.Errorf("request %d to %s: %w", req.Code, addr, err)
	}
	return nil
}

// invokeNamesrv sends the request newReq builds to the NameServers, starting with the
// one that last answered and moving on after a transport error. The first answer (any
// code) is returned. A fresh command is built for each try: a command is not reused
// after it was written.
func (c *instance) invokeNamesrv(ctx context.Context, timeout time.Duration, newReq func() *codec.Command) (*codec.Command, error) {
	addrs := c.o.nameServers
	if len(addrs) == 0 {
		return nil, ErrNoNameServer
	}
	start := int(c.nsNext.Load())
	var errs []error
	for i := range addrs {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		idx := (start + i) % len(addrs)
		cctx, cancel := withTimeout(ctx, timeout)
		resp, err := c.invoke(cctx, addrs[idx], newReq())
		cancel()
		if err == nil {
			c.nsNext.Store(uint32(idx))
			return resp, nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("name servers %v: %w", addrs, errors.Join(errs...))
}

// sign sets req's header serialization and adds the ACL keys and signature to req when
// credentials are configured.
func (c *instance) sign(req *codec.Command) {
	req.Serialize = c.o.serialize
	cr := c.o.credentials
	if cr.AccessKey == "" {
		return
	}
	if req.Ext != nil {
		// The signature covers every extField, so the fields go through a map here.
		req.ExtFields, req.Ext = codec.ExtMap(req.Ext), nil
	}
	if req.ExtFields == nil {
		req.ExtFields = map[string]string{}
	}
	delete(req.ExtFields, acl.Signature)
	req.ExtFields[acl.AccessKey] = cr.AccessKey
	if cr.SecurityToken != "" {
		req.ExtFields[acl.SecurityToken] = cr.SecurityToken
	}
	req.ExtFields[acl.Signature] = acl.Sign(req.ExtFields, req.Body, cr.SecretKey)
}
