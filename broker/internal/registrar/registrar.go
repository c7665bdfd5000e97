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
	// TopicsOf returns the named topics that still exist, stamped with version v: the
	// body of an incremental registration (Changed). Nil makes every round a full one.
	TopicsOf func(v body.DataVersion, topics []string) *body.TopicConfigSerializeWrapper
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
// REGISTER_BROKER (103) with the whole topic table at start, every Period and at once
// when a topic is deleted or the table replaced (Trigger); with just the topics created
// or updated when that is all that changed (Changed, Apache's
// registerIncrementBrokerData); and UNREGISTER_BROKER (104) on Close. Registration goes
// to all NameServers in parallel; a failure is logged (at most once a minute per
// NameServer) and makes the next round a full one, which keeps the broker's route
// alive as long as any round succeeds within the NameServer's 120 s expiry.
//
// An incremental round carries the newest of the changes it drains, stamped so that no
// full round carries the same version (incrementVersion): a NameServer applies a body's
// topics only when its version differs from the one it holds for the broker, so it
// applies every incremental round, and the full round after one. A full round's
// snapshot is taken after the drain, so it covers every change drained before it.
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
		// full asks the next round to carry the whole table.
		full bool
		// pending holds the topics created or updated since the last round drained
		// them, each with the newest version a change of it produced.
		pending map[string]body.DataVersion
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
	r.mu.pending = make(map[string]body.DataVersion)
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

// Trigger asks for a full registration round now. It never blocks: a request made
// while one is pending is merged into it.
func (r *Registrar) Trigger() {
	r.mu.Lock()
	r.mu.full = true
	r.mu.Unlock()
	r.wake()
}

// Changed asks for an incremental round carrying topics, created or updated by the
// change that produced version v. It never blocks; changes made while a round is
// pending are merged into it. With no NameServer configured it does nothing.
func (r *Registrar) Changed(v body.DataVersion, topics ...string) {
	if r.client == nil {
		return // no NameServer: nothing would drain the set
	}
	r.mu.Lock()
	for _, t := range topics {
		if old, ok := r.mu.pending[t]; !ok || laterVersion(v, old) {
			r.mu.pending[t] = v
		}
	}
	r.mu.Unlock()
	r.wake()
}

// laterVersion reports whether a was produced after b by the same table (its counter
// grows with every change).
func laterVersion(a, b body.DataVersion) bool {
	if a.Counter != b.Counter {
		return a.Counter > b.Counter
	}
	return a.Timestamp > b.Timestamp
}

// incrementVersion stamps an incremental round whose latest change produced v: v's
// counter with a timestamp after v's own (the round's time, or v's plus one). No version
// of the table has it — the table's version with that counter has v's timestamp — so
// the NameServer, which applies a body's topics only when its version differs from the
// one it holds, never skips the next full round (the full table is the authority, even
// for a NameServer whose first registration from this broker was incremental after a
// restart), and since every change's counter is drained by one round only, no two
// incremental rounds carry the same version either.
func incrementVersion(v body.DataVersion, now time.Time) body.DataVersion {
	return body.DataVersion{Counter: v.Counter, Timestamp: max(now.UnixMilli(), v.Timestamp+1)}
}

// wake makes the loop run a round now, merging with a wake already pending.
func (r *Registrar) wake() {
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// Sync waits until a round that started after the call has been answered by every
// NameServer (or timed out), as Apache 4.7.1+ registers a created or deleted topic
// before answering the request: that round carries every change reported (Changed,
// Trigger) before the call. It returns an error when ctx ends first or no NameServer
// took the round; with no NameServer configured it returns nil at once.
func (r *Registrar) Sync(ctx context.Context) error {
	if r.client == nil {
		return nil
	}
	r.mu.Lock()
	done := r.mu.next
	r.mu.Unlock()
	r.wake()
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
	t := time.NewTimer(0) // the first round goes at once, with the whole table
	defer t.Stop()
	for {
		periodic := false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			periodic = true
		case <-r.trigger:
		}
		r.mu.Lock()
		done := r.mu.next
		r.mu.next = make(chan struct{})
		full := periodic || r.mu.full || r.o.TopicsOf == nil
		r.mu.full = false
		var names []string
		var v body.DataVersion
		for name, nv := range r.mu.pending {
			names = append(names, name)
			if len(names) == 1 || laterVersion(nv, v) {
				v = nv
			}
		}
		clear(r.mu.pending)
		r.mu.Unlock()
		switch {
		case full:
			r.registerAll(ctx, r.o.Topics())
			// The next full round is a period after this one; an incremental round
			// does not move it, so the whole table is still sent every Period.
			t.Reset(r.o.Period)
		case len(names) > 0:
			r.registerAll(ctx, r.o.TopicsOf(incrementVersion(v, time.Now()), names))
		}
		close(done)
	}
}

// registerRequest builds one REGISTER_BROKER request carrying topics: the whole table
// or, in an incremental round, the topics changed. The body is the JSON form: it is
// what the NameServer parses most simply, and at a few hundred bytes per topic it stays
// small.
func (r *Registrar) registerRequest(topics *body.TopicConfigSerializeWrapper) *codec.Command {
	rb := &body.RegisterBrokerBody{
		TopicConfigSerializeWrapper: *topics,
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

// registerAll sends one registration of topics to every NameServer in parallel and
// waits for all of them (each bounded by the timeout). A NameServer that did not take
// it makes the next round a full one.
func (r *Registrar) registerAll(ctx context.Context, topics *body.TopicConfigSerializeWrapper) {
	if r.o.Addr() == "" {
		r.mu.Lock()
		r.mu.full = true // not listening yet: the address to register is unknown
		r.mu.Unlock()
		return
	}
	req := r.registerRequest(topics)
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
	r.mu.full = true
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
