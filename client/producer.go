package client

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/message"
)

// Producer defaults (docs/protocol.md §2.3, §4.7).
const (
	// DefaultProducerGroup is the group of a producer that names none.
	DefaultProducerGroup = "DEFAULT_PRODUCER"
	// DefaultRetries is how many times a failed send is retried (3 attempts in all).
	DefaultRetries = 2
	// DefaultSendTimeout bounds one send attempt whose context has no deadline.
	DefaultSendTimeout = 3 * time.Second
	// DefaultMaxMessageBytes is the largest body (or encoded batch) a producer sends,
	// the broker's maxMessageSize.
	DefaultMaxMessageBytes = 4 << 20
)

// ProducerOption configures a Producer. Every Option is also a ProducerOption.
type ProducerOption interface{ applyProducer(*producerOptions) }

// producerOptionFunc adapts a function to ProducerOption.
type producerOptionFunc func(*producerOptions)

func (f producerOptionFunc) applyProducer(o *producerOptions) { f(o) }

// producerOptions are the settings of a Producer.
type producerOptions struct {
	client            clientOptions
	group             string
	retries           int
	sendTimeout       time.Duration
	maxMessageBytes   int
	compressThreshold int
	compressLevel     int
	selector          QueueSelector
	faultAvoidance    bool
	faultPolicy       FaultPolicy
	createTopicKey    string
	inlineCallbacks   bool
	trace             traceOptions
}

// defaultProducerOptions returns the options before any ProducerOption is applied.
func defaultProducerOptions() producerOptions {
	return producerOptions{
		client:            defaultClientOptions(),
		group:             DefaultProducerGroup,
		retries:           DefaultRetries,
		sendTimeout:       DefaultSendTimeout,
		maxMessageBytes:   DefaultMaxMessageBytes,
		compressThreshold: message.CompressThreshold,
		compressLevel:     message.DefaultCompressLevel,
		faultAvoidance:    true,
		faultPolicy:       DefaultFaultPolicy(),
		createTopicKey:    DefaultTopic,
	}
}

// WithProducerGroup sets the producer group ("DEFAULT_PRODUCER" by default).
func WithProducerGroup(group string) ProducerOption {
	return producerOptionFunc(func(o *producerOptions) { o.group = group })
}

// WithRetries sets how many times a failed send is retried (2 by default). A send is
// retried after a transport error and after the answers SYSTEM_ERROR (1),
// SERVICE_NOT_AVAILABLE (14), NO_PERMISSION (16) and TOPIC_NOT_EXIST (17); the retry
// goes to another broker when there is one. Oneway sends are never retried.
func WithRetries(n int) ProducerOption {
	return producerOptionFunc(func(o *producerOptions) { o.retries = max(n, 0) })
}

// WithSendTimeout bounds each send attempt whose context carries no deadline (3 s by
// default). With a deadline on the context, the deadline bounds the whole send,
// retries included.
func WithSendTimeout(d time.Duration) ProducerOption {
	return producerOptionFunc(func(o *producerOptions) {
		if d > 0 {
			o.sendTimeout = d
		}
	})
}

// WithMaxMessageBytes sets the largest body, and the largest encoded batch, the
// producer sends (4 MiB by default, the broker's default maxMessageSize). Larger
// messages fail before anything is sent.
func WithMaxMessageBytes(n int) ProducerOption {
	return producerOptionFunc(func(o *producerOptions) {
		if n > 0 {
			o.maxMessageBytes = n
		}
	})
}

// WithCompression sets the body size from which single messages are zlib-compressed
// (4 KiB by default) and the zlib level (5). A threshold <= 0 turns compression off.
func WithCompression(threshold, level int) ProducerOption {
	return producerOptionFunc(func(o *producerOptions) {
		o.compressThreshold, o.compressLevel = threshold, level
	})
}

// WithQueueSelector sets how queues are chosen: RoundRobin (the default),
// SelectByShardingKey, SelectRandom, or any QueueSelector.
func WithQueueSelector(s QueueSelector) ProducerOption {
	return producerOptionFunc(func(o *producerOptions) {
		if s != nil {
			o.selector = s
		}
	})
}

// WithFaultAvoidance turns latency-based broker avoidance on (the default) or off. When
// on, a broker whose last send failed or was slow is skipped by the round-robin
// selector for a while (see FaultPolicy).
func WithFaultAvoidance(enabled bool) ProducerOption {
	return producerOptionFunc(func(o *producerOptions) { o.faultAvoidance = enabled })
}

// WithFaultPolicy replaces the latency → avoidance table (DefaultFaultPolicy).
func WithFaultPolicy(p FaultPolicy) ProducerOption {
	return producerOptionFunc(func(o *producerOptions) { o.faultPolicy = p })
}

// WithCreateTopicKey sets the template topic whose route is borrowed for topics that do
// not exist yet, and which the broker creates them from ("TBW102" by default). An empty
// key sends only to existing topics.
func WithCreateTopicKey(topic string) ProducerOption {
	return producerOptionFunc(func(o *producerOptions) { o.createTopicKey = topic })
}

// WithInlineCallbacks makes SendAsync run its callbacks on the transport's reader
// goroutine instead of a goroutine of their own. That saves a goroutine handoff per
// message (10–20 µs on small machines) but the callback must then return quickly and
// must never wait for another response of the same producer — a synchronous Send
// inside such a callback would deadlock the connection.
func WithInlineCallbacks() ProducerOption {
	return producerOptionFunc(func(o *producerOptions) { o.inlineCallbacks = true })
}

// Producer states.
const (
	producerCreated int32 = iota
	producerRunning
	producerShutdown
)

// Producer sends messages to brokers. Create one with NewProducer, call Start, send
// with Send, SendAsync or SendOneway from any number of goroutines, and Shutdown when
// done. Producers of one process with the same client identity and NameServers share
// connections, routes and heartbeats.
type Producer struct {
	o      producerOptions
	log    zerolog.Logger
	state  atomic.Int32
	inst   *instance
	faults *faultTable // nil with fault avoidance off
	rr     atomic.Uint32
	now    func() time.Time
	// wallClock is set when now is time.Now, so an asynchronous send's first attempt
	// stamps its bornTimestamp with the reading SendAsync took already.
	wallClock bool

	mu        sync.Mutex      // guards Start and Shutdown
	track     sendTracker     // sends in progress; refuses new ones after Shutdown
	deadlines sharedDeadlines // attempt deadlines of asynchronous sends

	tracer *tracer // nil without WithTrace

	groupName    string // namespace-wrapped group, as sent
	defaultTopic string // defaultTopic of the send header
	heads        sendHeads
}

// NewProducer returns a producer with the given options. It fails with
// ErrInvalidOption when no NameServer is set or an option is out of range.
func NewProducer(opts ...ProducerOption) (*Producer, error) {
	o := defaultProducerOptions()
	for _, opt := range opts {
		if opt != nil {
			opt.applyProducer(&o)
		}
	}
	if len(o.client.nameServers) == 0 {
		return nil, fmt.Errorf("new producer: %w: %w", ErrInvalidOption, ErrNoNameServer)
	}
	if o.group == "" {
		return nil, fmt.Errorf("new producer: %w: empty producer group", ErrInvalidOption)
	}
	if o.compressThreshold > 0 && (o.compressLevel < -2 || o.compressLevel > 9) {
		return nil, fmt.Errorf("new producer: %w: compression level %d outside [-2, 9]", ErrInvalidOption, o.compressLevel)
	}
	if o.selector == nil {
		o.selector = RoundRobin()
	}
	p := &Producer{
		o:   o,
		log: o.client.logger.With().Str("component", "producer").Str("group", o.group).Logger(),
		now: o.client.now,
	}
	p.wallClock = reflect.ValueOf(o.client.now).Pointer() == reflect.ValueOf(time.Now).Pointer()
	p.groupName = p.wrap(o.group)
	p.defaultTopic = o.createTopicKey
	if p.defaultTopic == "" {
		p.defaultTopic = DefaultTopic // the header needs one; the broker only uses it to create topics
	}
	if o.faultAvoidance {
		p.faults = newFaultTable(o.faultPolicy, o.client.now)
	}
	return p, nil
}

// Group returns the producer group, without namespace.
func (p *Producer) Group() string { return p.o.group }

// Start connects the producer to its shared client instance and announces its group to
// the brokers. Starting twice, or after Shutdown, fails with ErrInvalidOption.
func (p *Producer) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state.Load() != producerCreated {
		return fmt.Errorf("start producer: %w: already started", ErrInvalidOption)
	}
	inst, err := acquireInstance(p.o.client)
	if err != nil {
		return fmt.Errorf("start producer: %w", err)
	}
	tr, err := startTracer(ctx, p.o.trace, p.o.client, p.log)
	if err != nil {
		inst.release()
		return fmt.Errorf("start producer: trace: %w", err)
	}
	p.tracer = tr
	p.inst = inst
	inst.registerProducer(p.groupName)
	p.state.Store(producerRunning)
	p.track.open()
	// Brokers are known only once a route was fetched; this reaches those already known
	// (another user of the instance may have fetched some). Failure is not fatal: the
	// heartbeat loop retries.
	if err := inst.sendHeartbeat(ctx); err != nil {
		p.log.Debug().Err(err).Msg("first heartbeat")
	}
	return nil
}

// Shutdown stops the producer: new sends fail with ErrNotStarted, asynchronous sends
// in flight are waited for until ctx ends (then they fail with a closed error), and the
// shared instance is released — closing its connections and goroutines when this was
// its last user. It is safe to call more than once.
func (p *Producer) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state.Swap(producerShutdown) != producerRunning {
		return nil
	}
	err := p.track.drain(ctx)
	if err != nil {
		err = fmt.Errorf("shutdown producer: %w", err)
	}
	if terr := p.tracer.shutdown(ctx); terr != nil && err == nil {
		err = fmt.Errorf("shutdown producer: %w", terr)
	}
	p.inst.requests.failOwner(p, fmt.Errorf("request: %w: producer shut down", ErrNotStarted))
	p.inst.unregisterProducer(p.groupName)
	p.inst.release()
	p.deadlines.stop()
	// Sends still in flight after ctx ended fail when the instance closes, or at their
	// own deadline when another user keeps it open; their callbacks still run once.
	return err
}

// wrap puts a topic or group name in the producer's namespace.
func (p *Producer) wrap(name string) string { return WrapNamespace(p.o.client.namespace, name) }

// unwrap takes a topic or group name out of the producer's namespace.
func (p *Producer) unwrap(name string) string { return UnwrapNamespace(p.o.client.namespace, name) }
