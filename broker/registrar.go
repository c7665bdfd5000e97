package broker

import (
	"context"
	"fmt"
	"hash/crc32"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

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

// registrar keeps every NameServer informed of this broker and its topics: it sends
// REGISTER_BROKER (103) at start, every RegisterPeriod (clamped to 10 s .. 60 s), and at
// once when the topic table changes (Trigger), and UNREGISTER_BROKER (104) on Close.
// Registration goes to all NameServers in parallel; a failure is logged (at most once a
// minute per NameServer) and retried on the next round, which keeps the broker's route
// alive as long as any round succeeds within the NameServer's 120 s expiry.
type registrar struct {
	b       *Broker
	addrs   []string
	period  time.Duration
	timeout time.Duration
	log     zerolog.Logger
	client  *transport.Client

	// trigger holds at most one pending request: a burst of topic changes while a round
	// is in flight coalesces into a single follow-up round, which sends the newest
	// table anyway.
	trigger chan struct{}
	// rounds counts finished registration rounds (tests wait on it).
	rounds chan struct{}
	// registered is whether the last round reached at least one NameServer (/readyz).
	registered atomic.Bool

	mu struct {
		sync.Mutex
		lastWarn map[string]time.Time
	}

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// newRegistrar builds the registrar for b's NameServers. It sends nothing until Start.
func newRegistrar(b *Broker) *registrar {
	log := b.log.With().Str("component", "registrar").Logger()
	r := &registrar{
		b:       b,
		addrs:   append([]string(nil), b.opts.NamesrvAddrs...),
		period:  b.opts.ClampedRegisterPeriod(),
		timeout: registerTimeout,
		log:     log,
		trigger: make(chan struct{}, 1),
	}
	r.mu.lastWarn = make(map[string]time.Time)
	if len(r.addrs) > 0 {
		r.client = transport.NewClient(transport.ClientOptions{
			MaxFrameBytes: b.opts.MaxFrameBytes,
			DialTimeout:   registerTimeout,
			Logger:        log,
		})
	}
	return r
}

// Trigger asks for a registration round now. It never blocks: a request made while one
// is pending is merged into it.
func (r *registrar) Trigger() {
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// Start registers with every NameServer right away (in the background, so a NameServer
// that is down does not delay the broker), then every period and on Trigger, until
// Close. With no NameServer configured it does nothing.
func (r *registrar) Start(ctx context.Context) {
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

func (r *registrar) loop(ctx context.Context) {
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
		r.registerAll(ctx)
		if r.rounds != nil {
			select {
			case r.rounds <- struct{}{}:
			default:
			}
		}
		t.Reset(r.period)
	}
}

// registerRequest builds one REGISTER_BROKER request carrying the whole topic table. The
// body is the JSON form: it is what the NameServer parses most simply, and at a few
// hundred bytes per topic it stays small.
func (r *registrar) registerRequest() *codec.Command {
	rb := &body.RegisterBrokerBody{
		TopicConfigSerializeWrapper: *r.b.topics.Wrapper(),
		FilterServerList:            []string{},
	}
	payload := rb.AppendJSON(nil)
	h := &header.RegisterBrokerRequest{
		BrokerName:   r.b.opts.BrokerName,
		BrokerAddr:   r.b.Addr(),
		ClusterName:  r.b.opts.ClusterName,
		HAServerAddr: r.b.haServerAddr(),
		BrokerID:     r.b.opts.BrokerID,
		BodyCRC32:    bodyCRC32(payload),
	}
	return codec.NewRequest(code.RegisterBroker, h.Encode(), payload)
}

// bodyCRC32 is the checksum REGISTER_BROKER carries: CRC32 (IEEE) of the body with the
// top bit cleared, as Java's UtilAll.crc32 computes it; the NameServer compares the two
// as ints and refuses the registration on a mismatch.
func bodyCRC32(b []byte) int32 {
	return int32(crc32.ChecksumIEEE(b) & 0x7FFFFFFF)
}

// registerAll sends one registration to every NameServer in parallel and waits for all
// of them (each bounded by the timeout).
func (r *registrar) registerAll(ctx context.Context) {
	if r.b.Addr() == "" {
		return // not listening yet: the address to register is unknown
	}
	req := r.registerRequest()
	var wg sync.WaitGroup
	var ok atomic.Bool
	defer func() { r.registered.Store(ok.Load()) }()
	for _, addr := range r.addrs {
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
				r.b.onRegistered(resp) // a slave learns its master (role.go)
			}
		}()
	}
	wg.Wait()
}

// warn logs a failed registration, at most once per registerWarnEvery per NameServer.
func (r *registrar) warn(addr string, err error) {
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
func (r *registrar) recovered(addr string) {
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
func (r *registrar) Close() {
	if r.client == nil {
		return
	}
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
	if r.cancel != nil && r.b.Addr() != "" {
		r.unregisterAll()
	}
	r.client.Close()
}

// unregisterAll sends UNREGISTER_BROKER to every NameServer in parallel, so routes stop
// pointing here before the port closes.
func (r *registrar) unregisterAll() {
	h := &header.UnregisterBrokerRequest{
		BrokerName:  r.b.opts.BrokerName,
		BrokerAddr:  r.b.Addr(),
		ClusterName: r.b.opts.ClusterName,
		BrokerID:    r.b.opts.BrokerID,
	}
	ctx, cancel := context.WithTimeout(context.Background(), unregisterTimeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, addr := range r.addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := r.client.Invoke(ctx, addr, codec.NewRequest(code.UnregisterBroker, h.Encode(), nil))
			if err != nil || resp.Code != code.Success {
				r.log.Warn().Err(err).Str("addr", addr).Msg("unregister from namesrv failed")
			}
		}()
	}
	wg.Wait()
}
