// Package registrar keeps every NameServer informed of the broker and its topics
// (REGISTER_BROKER and UNREGISTER_BROKER, docs/protocol.md). It knows the broker only
// through Options: its names, its address and topic table as functions, and what to do
// with a NameServer's answer.
package registrar

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/proto/acl"

	"github.com/rs/zerolog"

	"crypto/tls"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

const (
	// registerTimeout bounds one registration round with every NameServer
	// (BrokerOuterAPI's 6 s).
	registerTimeout = 6 * time.Second
	// unregisterTimeout bounds the UNREGISTER_BROKER round at shutdown: a NameServer
	// that is down must not hold up the broker's exit.
	unregisterTimeout = 3 * time.Second
	// registerWarnEvery rate-limits the warning for a NameServer that keeps failing.
	registerWarnEvery = time.Minute
)

// Options are what a Registrar needs of the broker.
type Options struct {
	// Addrs lists the NameServers ("ip:port"); empty means the Registrar does nothing.
	Addrs []string
	// Period is the time between rounds (registerNameServerPeriod, already clamped).
	Period time.Duration
	// MaxFrameBytes bounds one remoting frame.
	MaxFrameBytes int
	// BrokerName, ClusterName and BrokerID name the broker in every request.
	BrokerName  string
	ClusterName string
	BrokerID    int64
	// Addr returns the advertised "ip:port", "" while the broker is not listening.
	Addr func() string
	// HAServerAddr returns the address slaves replicate from ("" on a slave).
	HAServerAddr func() string
	// Topics returns the topic table to register.
	Topics func() *body.TopicConfigSerializeWrapper
	// OnRegistered receives every successful answer (a slave learns its master).
	OnRegistered func(resp *codec.Command)
	// TLS, when set, makes registrations go over TLS (tls.enable).
	TLS *tls.Config
	// Credentials sign REGISTER_BROKER and UNREGISTER_BROKER
	// (innerClientAuthenticationCredentials), for NameServers that check them.
	Credentials acl.Credentials
	// Logger receives the registrar's logs.
	Logger zerolog.Logger
}

// Registrar keeps every NameServer informed of this broker and its topics: it sends
// REGISTER_BROKER (103) at start, every Period, and at once when the topic table
// changes (Trigger), and UNREGISTER_BROKER (104) on Close. Registration goes to all
// NameServers in parallel; a failure is logged (at most once a minute per NameServer)
// and retried on the next round, which keeps the broker's route alive as long as any
// round succeeds within the NameServer's 120 s expiry.
type Registrar struct {
	o       Options
	timeout time.Duration
	log     zerolog.Logger
	client  *transport.Client

	// trigger holds at most one pending request: a burst of topic changes while a round
	// is in flight coalesces into a single follow-up round, which sends the newest
	// table anyway.
	trigger chan struct{}
	// registered is whether the last round reached at least one NameServer (/readyz).
	registered atomic.Bool

	mu struct {
		sync.Mutex
		lastWarn map[string]time.Time
		// next is closed when the round that starts after it was handed out ends: a
		// caller that takes it after changing the topic table knows, once it closes,
		// that a round carrying the change has been sent.
		next chan struct{}
	}

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds the registrar for o's NameServers. It sends nothing until Start.
func New(o Options) *Registrar {
	o.Addrs = append([]string(nil), o.Addrs...)
	log := o.Logger.With().Str("component", "registrar").Logger()
	r := &Registrar{
		o:       o,
		timeout: registerTimeout,
		log:     log,
		trigger: make(chan struct{}, 1),
	}
	r.mu.lastWarn = make(map[string]time.Time)
	r.mu.next = make(chan struct{})
	if len(o.Addrs) > 0 {
		r.client = transport.NewClient(transport.ClientOptions{
			MaxFrameBytes: o.MaxFrameBytes,
			DialTimeout:   registerTimeout,
			TLS:           o.TLS,
			Logger:        log,
		})
	}
	return r
}

// Registered reports whether the last round reached at least one NameServer.
func (r *Registrar) Registered() bool { return r.registered.Load() }

// Trigger asks for a registration round now. It never blocks: a request made while one
// is pending is merged into it.
func (r *Registrar) Trigger() {
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// Sync asks for a registration round and waits until one that started after the call
// has been answered by every NameServer (or timed out), as Apache 4.7.1+ registers a
// created or deleted topic before answering the request. It returns an error when ctx
// ends first or no NameServer took the round; with no NameServer configured it returns
// nil at once.
func (r *Registrar) Sync(ctx context.Context) error {
	if r.client == nil {
		return nil
	}
	r.mu.Lock()
	done := r.mu.next
	r.mu.Unlock()
	r.Trigger()
	select {
	case <-done:
		if !r.Registered() {
			return errors.New("no NameServer accepted the registration")
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Start registers with every NameServer right away (in the background, so a NameServer
// that is down does not delay the broker), then every period and on Trigger, until
// Close. With no NameServer configured it does nothing.
func (r *Registrar) Start(ctx context.Context) {
	if r.client == nil {
		return
	}
	ctx, r.cancel = context.WithCancel(ctx)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.loop(ctx)
	}()
}

func (r *Registrar) loop(ctx context.Context) {
	t := time.NewTimer(0) // the first round goes at once
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.trigger:
			if !t.Stop() {
				select {
				case <-t.C:
				default:
				}
			}
		}
		r.mu.Lock()
		done := r.mu.next
		r.mu.next = make(chan struct{})
		r.mu.Unlock()
		r.registerAll(ctx)
		close(done)
		t.Reset(r.o.Period)
	}
}

// registerRequest builds one REGISTER_BROKER request carrying the whole topic table. The
// body is the JSON form: it is what the NameServer parses most simply, and at a few
// hundred bytes per topic it stays small.
func (r *Registrar) registerRequest() *codec.Command {
	rb := &body.RegisterBrokerBody{
		TopicConfigSerializeWrapper: *r.o.Topics(),
		FilterServerList:            []string{},
	}
	payload := rb.AppendJSON(nil)
	h := &header.RegisterBrokerRequest{
		BrokerName:   r.o.BrokerName,
		BrokerAddr:   r.o.Addr(),
		ClusterName:  r.o.ClusterName,
		HAServerAddr: r.o.HAServerAddr(),
		BrokerID:     r.o.BrokerID,
		BodyCRC32:    bodyCRC32(payload),
	}
	return codec.NewRequest(code.RegisterBroker, r.o.Credentials.SignExt(h.Encode(), payload), payload)
}

// bodyCRC32 is the checksum REGISTER_BROKER carries: CRC32 (IEEE) of the body with the
// top bit cleared, as Java's UtilAll.crc32 computes it; the NameServer compares the two
// as ints and refuses the registration on a mismatch.
func bodyCRC32(b []byte) int32 {
	return int32(crc32.ChecksumIEEE(b) & 0x7FFFFFFF)
}

// registerAll sends one registration to every NameServer in parallel and waits for all
// of them (each bounded by the timeout).
func (r *Registrar) registerAll(ctx context.Context) {
	if r.o.Addr() == "" {
		return // not listening yet: the address to register is unknown
	}
	req := r.registerRequest()
	var wg sync.WaitGroup
	var ok atomic.Bool
	defer func() { r.registered.Store(ok.Load()) }()
	for _, addr := range r.o.Addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each NameServer gets its own command: the transport assigns the opaque.
			one := codec.NewRequest(req.Code, req.ExtFields, req.Body)
			cctx, cancel := context.WithTimeout(ctx, r.timeout)
			defer cancel()
			resp, err := r.client.Invoke(cctx, addr, one)
			switch {
			case err != nil:
				r.warn(addr, err)
			case resp.Code != code.Success:
				r.warn(addr, fmt.Errorf("answered code %d: %s", resp.Code, resp.Remark))
			default:
				r.recovered(addr)
				ok.Store(true)
				r.o.OnRegistered(resp)
			}
		}()
	}
	wg.Wait()
}

// warn logs a failed registration, at most once per registerWarnEvery per NameServer.
func (r *Registrar) warn(addr string, err error) {
	now := time.Now()
	r.mu.Lock()
	last, ok := r.mu.lastWarn[addr]
	quiet := ok && now.Sub(last) < registerWarnEvery
	if !quiet {
		r.mu.lastWarn[addr] = now
	}
	r.mu.Unlock()
	if !quiet {
		r.log.Warn().Err(err).Str("addr", addr).Msg("register with namesrv failed")
	}
}

// recovered notes a successful registration, logging it if the NameServer had failed.
func (r *Registrar) recovered(addr string) {
	r.mu.Lock()
	_, failed := r.mu.lastWarn[addr]
	delete(r.mu.lastWarn, addr)
	r.mu.Unlock()
	if failed {
		r.log.Info().Str("addr", addr).Msg("registered with namesrv again")
	} else {
		r.log.Debug().Str("addr", addr).Msg("registered with namesrv")
	}
}

// Close stops the loop, unregisters from every NameServer (bounded by
// unregisterTimeout) and closes the client.
func (r *Registrar) Close() {
	if r.client == nil {
		return
	}
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	if r.cancel != nil && r.o.Addr() != "" {
		r.unregisterAll()
	}
	r.client.Close()
}

// unregisterAll sends UNREGISTER_BROKER to every NameServer in parallel, so routes stop
// pointing here before the port closes.
func (r *Registrar) unregisterAll() {
	h := &header.UnregisterBrokerRequest{
		BrokerName:  r.o.BrokerName,
		BrokerAddr:  r.o.Addr(),
		ClusterName: r.o.ClusterName,
		BrokerID:    r.o.BrokerID,
	}
	ctx, cancel := context.WithTimeout(context.Background(), unregisterTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, addr := range r.o.Addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := r.client.Invoke(ctx, addr, codec.NewRequest(code.UnregisterBroker, r.o.Credentials.SignExt(h.Encode(), nil), nil))
			if err != nil || resp.Code != code.Success {
				r.log.Warn().Err(err).Str("addr", addr).Msg("unregister from namesrv failed")
			}
		}()
	}
	wg.Wait()
}
