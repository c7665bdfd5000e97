package client

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/message"
)

// MessageModel says how a consumer group shares a topic.
type MessageModel int

const (
	// Clustering divides the queues of each topic among the members of the group; each
	// message is consumed by one member. Offsets live on the brokers. The default.
	Clustering MessageModel = iota
	// Broadcasting gives every member every queue; each message is consumed by every
	// member. Offsets live in a local file of each member, and failed messages are not
	// retried through the broker.
	Broadcasting
)

// String returns the RocketMQ name ("CLUSTERING", "BROADCASTING").
func (m MessageModel) String() string {
	if m == Broadcasting {
		return body.Broadcasting
	}
	return body.Clustering
}

// ConsumeFrom says where a group starts reading a queue it has no committed offset for.
// Once an offset is committed it always wins.
type ConsumeFrom int

const (
	// ConsumeFromLastOffset starts after the last message stored when the queue is
	// first assigned (retry topics start at their beginning). The default. A broker may
	// answer offset 0 for a young queue whose first message is still in memory, as
	// RocketMQ does, so a brand-new topic is read from its start.
	ConsumeFromLastOffset ConsumeFrom = iota
	// ConsumeFromFirstOffset starts at the oldest message still stored.
	ConsumeFromFirstOffset
	// ConsumeFromTimestamp starts at the first message stored at or after the time set
	// with WithConsumeTimestamp (30 minutes before start by default); retry topics start
	// at their end.
	ConsumeFromTimestamp
)

// String returns the RocketMQ name ("CONSUME_FROM_LAST_OFFSET", ...).
func (f ConsumeFrom) String() string {
	switch f {
	case ConsumeFromFirstOffset:
		return body.ConsumeFromFirstOffset
	case ConsumeFromTimestamp:
		return body.ConsumeFromTimestamp
	}
	return body.ConsumeFromLastOffset
}

// ConsumeResult is what a listener says about the messages it was given.
type ConsumeResult int

const (
	// ConsumeSuccess: the messages are done; the group's offset may move past them.
	ConsumeSuccess ConsumeResult = iota
	// ConsumeRetryLater: deliver the messages again later. A concurrent clustering
	// consumer sends them back to the broker, which redelivers them through the group's
	// retry topic with a growing delay (10 s, 30 s, 1 min, ...), and after
	// MaxReconsumeTimes to the dead-letter topic. An orderly consumer suspends the queue
	// for the suspend interval and retries the same messages, keeping their order.
	ConsumeRetryLater
)

// String names the result.
func (r ConsumeResult) String() string {
	if r == ConsumeSuccess {
		return "CONSUME_SUCCESS"
	}
	return "RECONSUME_LATER"
}

// Listener consumes messages of a push consumer. It is given at most the consume batch
// size of messages (1 by default), all of one queue, in queue order. A non-nil error
// counts as ConsumeRetryLater whatever the result, and so does a panic (which is
// recovered and logged). ctx is cancelled when Shutdown's own context ends, as a request
// to give up. Concurrent listeners run on up to WithConsumeGoroutines goroutines at
// once, so they must be safe for concurrent use; an orderly consumer calls it for one
// queue at a time. The messages belong to the listener once given.
type Listener func(ctx context.Context, msgs []*MessageExt) (ConsumeResult, error)

// Expression types of a MessageSelector.
const (
	// ExpressionTag is a tag expression: "*" or "a || b || c".
	ExpressionTag = body.ExpressionTag
	// ExpressionSQL92 is a SQL92 property filter, evaluated by the broker when its
	// enablePropertyFilter is on (see BySQL92 in filter.go).
	ExpressionSQL92 = "SQL92"
)

// MessageSelector chooses the messages of a topic a consumer receives.
type MessageSelector struct {
	// Type is ExpressionTag (also when empty) or ExpressionSQL92 (BySQL92).
	Type string
	// Expression is "*" (or "") for every message, or tags joined by "||": "a || b".
	Expression string
}

// SelectAll selects every message of a topic.
var SelectAll = MessageSelector{Type: ExpressionTag, Expression: body.SubAll}

// ByTag selects the messages whose tag is one of those in expr ("a || b"); "*" selects
// every message. Messages are filtered by the broker by tag hash, then again by the
// consumer by exact tag, so hash collisions never deliver a wrong tag.
func ByTag(expr string) MessageSelector {
	return MessageSelector{Type: ExpressionTag, Expression: expr}
}

// subscription is one topic a consumer reads, with its parsed tag expression.
type subscription struct {
	topic   string   // as the broker knows it (namespace-wrapped)
	expr    string   // the user's expression, "*" for all
	tags    []string // trimmed tags, sorted and unique; nil means every message
	version int64    // subVersion: set when the subscription is made
	sql     bool     // expr is a SQL92 expression (filter.go)
}

// maxSubscriptionTags bounds the tags of one expression; the broker refuses more
// (body.MaxTagsPerSub) and nobody needs them.
const maxSubscriptionTags = 1024

// parseSelector checks a selector and returns its subscription of topic. "*" and ""
// select everything; otherwise the expression is tags separated by "||", each trimmed
// and non-empty. A SQL92 selector is passed to the broker as it is (filter.go).
func parseSelector(topic string, sel MessageSelector, version int64) (*subscription, error) {
	switch sel.Type {
	case "", ExpressionTag:
	case ExpressionSQL92:
		return sqlSubscription(topic, sel, version)
	default:
		return nil, invalidOption("subscribe %s: expression type %q", topic, sel.Type)
	}
	s := &subscription{topic: topic, expr: strings.TrimSpace(sel.Expression), version: version}
	if s.expr == "" || s.expr == body.SubAll {
		s.expr = body.SubAll
		return s, nil
	}
	for _, t := range strings.Split(s.expr, "||") {
		t = strings.TrimSpace(t)
		if t == "" {
			return nil, invalidOption("subscribe %s: empty tag in %q", topic, sel.Expression)
		}
		if t == body.SubAll {
			// "a || *" means everything, as the brokers read it.
			s.tags = nil
			s.expr = body.SubAll
			return s, nil
		}
		s.tags = append(s.tags, t)
	}
	slices.Sort(s.tags)
	s.tags = slices.Compact(s.tags)
	if len(s.tags) > maxSubscriptionTags {
		return nil, invalidOption("subscribe %s: %d tags, at most %d", topic, len(s.tags), maxSubscriptionTags)
	}
	return s, nil
}

// matches reports whether a message with tags passes the subscription: the exact
// re-check of the TAGS string after the broker's hash filter, which lets hash
// collisions through.
func (s *subscription) matches(tags string) bool {
	if s.tags == nil {
		return true
	}
	_, ok := slices.BinarySearch(s.tags, tags)
	return ok
}

// data returns the subscription as HEART_BEAT carries it. Codes are the tag hashes a
// Java broker compares with its ConsumeQueue tag codes (String.hashCode, docs/protocol.md
// §4.4), written as strings as the Go client writes them.
func (s *subscription) data() body.SubscriptionData {
	d := body.SubscriptionData{
		Topic:          s.topic,
		SubString:      s.expr,
		TagsSet:        slices.Clone(s.tags),
		CodeSet:        make(body.CodeSet, 0, len(s.tags)),
		SubVersion:     s.version,
		ExpressionType: s.expressionType(),
	}
	if d.TagsSet == nil {
		d.TagsSet = []string{}
	}
	for _, t := range s.tags {
		d.CodeSet = append(d.CodeSet, strconv.FormatInt(int64(int32(message.TagsHash(t))), 10))
	}
	return d
}

// isRetryTopic reports whether topic is a group's retry topic.
func isRetryTopic(topic string) bool { return strings.HasPrefix(topic, RetryTopicPrefix) }

// ConsumerEvents are optional hooks a consumer calls when something noteworthy
// happens, in addition to logging it. They run on the consumer's own goroutines and must
// return quickly. Nil hooks are skipped.
type ConsumerEvents struct {
	// QueuesChanged reports the queues of topic this member now reads, after a
	// rebalance changed them.
	QueuesChanged func(topic string, queues []MessageQueue)
	// PullFailed reports a failed pull (transport error or an unexpected response code)
	// before the consumer backs off and pulls the same offset again.
	PullFailed func(mq MessageQueue, err error)
	// SendBackFailed reports a message whose CONSUMER_SEND_MSG_BACK failed (transport
	// error or a non-success code, e.g. REQUEST_CODE_NOT_SUPPORTED). The message stays in
	// the consumer and is delivered to the listener again after the retry delay, so it
	// is neither lost nor skipped by the group's offset.
	SendBackFailed func(msg *MessageExt, err error)
	// ConsumeFailed reports messages a listener failed (error, panic or
	// ConsumeRetryLater), with the error when there was one.
	ConsumeFailed func(msgs []*MessageExt, err error)
	// OffsetIllegal reports a queue whose pull offset the broker moved (PULL_OFFSET_MOVED).
	OffsetIllegal func(mq MessageQueue, from, to int64)
}

// Defaults of the consumer options (the official client's, docs/protocol.md Appendix A).
const (
	DefaultRebalanceInterval = 20 * time.Second // rebalance without a membership notice
	DefaultCommitInterval    = 5 * time.Second  // periodic offset commit
	DefaultPullBatchSize     = 32               // messages one pull asks for
	DefaultPullTimeout       = 30 * time.Second // wait for a pull's answer
	DefaultLongPollTimeout   = 20 * time.Second // how long the broker may hold a pull
	DefaultPullBackoff       = 3 * time.Second  // pause after a failed pull
	DefaultQueueCacheCount   = 1000             // flow control: cached messages per queue
	DefaultQueueCacheBytes   = 100 << 20        // flow control: cached body bytes per queue
	DefaultConsumeGoroutines = 20               // concurrent listener calls
	DefaultRetryDelay        = 5 * time.Second  // local retry after a failed send-back
	DefaultSuspendInterval   = time.Second      // orderly pause after a failed batch
	DefaultLockInterval      = 20 * time.Second // orderly lock renewal
	DefaultLockTTL           = 30 * time.Second // orderly lock validity after renewal
	DefaultMaxReconsumeTimes = 16               // redeliveries before the dead-letter topic
	DefaultPollBatchSize     = 10               // most messages one Poll returns
	// DefaultMaxSpan bounds, for concurrent consumption, the distance between the
	// lowest and highest cached offsets of a queue: one stuck message holds the group's
	// offset, so pulling more behind it only grows what is redelivered after a crash.
	DefaultMaxSpan = 2000
)

// consumerOptions are the settings both consumer kinds share.
type consumerOptions struct {
	client            clientOptions
	group             string
	model             MessageModel
	from              ConsumeFrom
	timestamp         time.Time // ConsumeFromTimestamp; zero: 30 min before start
	strategy          AllocateStrategy
	rebalanceInterval time.Duration
	rebalanceRetry    time.Duration // after a round that failed to add a queue
	commitInterval    time.Duration
	pullBatchSize     int32
	pullTimeout       time.Duration
	longPoll          time.Duration
	pullBackoff       time.Duration
	cacheCount        int64
	cacheBytes        int64
	maxSpan           int64
	offsetDir         string
	events            ConsumerEvents
}

func defaultConsumerOptions() consumerOptions {
	return consumerOptions{
		client:            defaultClientOptions(),
		strategy:          AllocateAveragely,
		rebalanceInterval: DefaultRebalanceInterval,
		rebalanceRetry:    time.Second,
		commitInterval:    DefaultCommitInterval,
		pullBatchSize:     DefaultPullBatchSize,
		pullTimeout:       DefaultPullTimeout,
		longPoll:          DefaultLongPollTimeout,
		pullBackoff:       DefaultPullBackoff,
		cacheCount:        DefaultQueueCacheCount,
		cacheBytes:        DefaultQueueCacheBytes,
		maxSpan:           DefaultMaxSpan,
	}
}

// validate checks the settings a consumer cannot work without.
func (o *consumerOptions) validate() error {
	switch {
	case o.group == "":
		return invalidOption("consumer group not set (WithConsumerGroup)")
	case strings.ContainsAny(o.group, " \t\r\n"):
		return invalidOption("consumer group %q contains white space", o.group)
	case len(o.client.nameServers) == 0:
		return ErrNoNameServer
	case o.model != Clustering && o.model != Broadcasting:
		return invalidOption("message model %d", o.model)
	case o.from < ConsumeFromLastOffset || o.from > ConsumeFromTimestamp:
		return invalidOption("consume-from %d", o.from)
	case o.strategy == nil:
		return invalidOption("nil allocate strategy")
	case o.longPoll >= o.pullTimeout:
		return invalidOption("long-poll timeout %v must be below the pull timeout %v", o.longPoll, o.pullTimeout)
	}
	return nil
}

// invalidOption builds an error wrapping ErrInvalidOption.
func invalidOption(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidOption, fmt.Sprintf(format, args...))
}

// offsetPath returns the local offset file of a broadcasting consumer.
func (o *consumerOptions) offsetPath(clientID, group string) string {
	dir := o.offsetDir
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil || home == "" {
			home = os.TempDir()
		}
		dir = filepath.Join(home, ".rocketgo")
	}
	return filepath.Join(dir, safePathPart(clientID), safePathPart(group), offsetFileName)
}

// safePathPart keeps a client id or group from escaping the offset directory: path
// separators and a leading dot become '_'.
func safePathPart(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 {
			return '_'
		}
		return r
	}, s)
	if s == "" || strings.HasPrefix(s, ".") {
		s = "_" + s
	}
	return s
}

// ConsumerOption configures both the push and the lite pull consumer. The shared
// client options (WithNameServer, WithLogger, ...) are accepted too.
type ConsumerOption func(*consumerOptions)

// PushConsumerOption configures a PushConsumer.
type PushConsumerOption interface{ applyPushConsumer(*pushConsumerOptions) }

// PullConsumerOption configures a PullConsumer.
type PullConsumerOption interface{ applyPullConsumer(*pullConsumerOptions) }

func (f ConsumerOption) applyPushConsumer(o *pushConsumerOptions) { f(&o.consumerOptions) }
func (f ConsumerOption) applyPullConsumer(o *pullConsumerOptions) { f(&o.consumerOptions) }
func (f Option) applyPushConsumer(o *pushConsumerOptions)         { f(&o.client) }
func (f Option) applyPullConsumer(o *pullConsumerOptions)         { f(&o.client) }

// WithConsumerGroup sets the consumer group (required).
func WithConsumerGroup(group string) ConsumerOption {
	return func(o *consumerOptions) { o.group = group }
}

// WithMessageModel chooses clustering (the default) or broadcasting.
func WithMessageModel(m MessageModel) ConsumerOption {
	return func(o *consumerOptions) { o.model = m }
}

// WithConsumeFrom sets where a queue without committed offset is started
// (ConsumeFromLastOffset by default).
func WithConsumeFrom(f ConsumeFrom) ConsumerOption {
	return func(o *consumerOptions) { o.from = f }
}

// WithConsumeTimestamp sets the time ConsumeFromTimestamp starts at and selects
// ConsumeFromTimestamp.
func WithConsumeTimestamp(t time.Time) ConsumerOption {
	return func(o *consumerOptions) { o.from, o.timestamp = ConsumeFromTimestamp, t }
}

// WithAllocateStrategy replaces AllocateAveragely (clustering only).
func WithAllocateStrategy(s AllocateStrategy) ConsumerOption {
	return func(o *consumerOptions) { o.strategy = s }
}

// WithRebalanceInterval sets how often the group's queues are allocated again without
// a membership notice from the broker (20 s default).
func WithRebalanceInterval(d time.Duration) ConsumerOption {
	return func(o *consumerOptions) {
		if d > 0 {
			o.rebalanceInterval = d
		}
	}
}

// WithCommitInterval sets how often consumed offsets are committed (5 s default).
func WithCommitInterval(d time.Duration) ConsumerOption {
	return func(o *consumerOptions) {
		if d > 0 {
			o.commitInterval = d
		}
	}
}

// WithPullBatchSize sets how many messages one pull asks for (32 default, at most 1024).
func WithPullBatchSize(n int) ConsumerOption {
	return func(o *consumerOptions) {
		if n > 0 {
			o.pullBatchSize = int32(min(n, 1024))
		}
	}
}

// WithPullTimeouts sets how long the broker may hold a pull when there is nothing new
// (long poll, 20 s default) and how long the consumer waits for the answer (30 s
// default); the second must exceed the first.
func WithPullTimeouts(longPoll, timeout time.Duration) ConsumerOption {
	return func(o *consumerOptions) {
		if longPoll > 0 {
			o.longPoll = longPoll
		}
		if timeout > 0 {
			o.pullTimeout = timeout
		}
	}
}

// WithPullBackoff sets how long a queue waits before pulling again after a failed pull
// (3 s default).
func WithPullBackoff(d time.Duration) ConsumerOption {
	return func(o *consumerOptions) {
		if d > 0 {
			o.pullBackoff = d
		}
	}
}

// WithQueueCacheLimits sets the flow-control limits of one queue: pulling pauses while
// more than count messages or more than bytes body bytes are pulled but not consumed,
// and resumes as soon as consumption brings them under (1000 messages, 100 MiB default).
func WithQueueCacheLimits(count int, bytes int64) ConsumerOption {
	return func(o *consumerOptions) {
		if count > 0 {
			o.cacheCount = int64(count)
		}
		if bytes > 0 {
			o.cacheBytes = bytes
		}
	}
}

// WithOffsetDir sets the directory of broadcasting consumers' offset files
// ($HOME/.rocketgo by default); the file is <dir>/<clientID>/<group>/offsets.json.
func WithOffsetDir(dir string) ConsumerOption {
	return func(o *consumerOptions) { o.offsetDir = dir }
}

// WithConsumerEvents installs event hooks.
func WithConsumerEvents(e ConsumerEvents) ConsumerOption {
	return func(o *consumerOptions) { o.events = e }
}

// pushConsumerOptions are the settings of a PushConsumer.
type pushConsumerOptions struct {
	consumerOptions
	orderly         bool
	goroutines      int
	batchSize       int
	maxReconsume    int32 // -1: 16 concurrent, unlimited orderly
	retryDelay      time.Duration
	suspendInterval time.Duration
	lockInterval    time.Duration
	lockTTL         time.Duration
	trace           traceOptions
}

func defaultPushConsumerOptions() pushConsumerOptions {
	return pushConsumerOptions{
		consumerOptions: defaultConsumerOptions(),
		goroutines:      DefaultConsumeGoroutines,
		batchSize:       1,
		maxReconsume:    -1,
		retryDelay:      DefaultRetryDelay,
		suspendInterval: DefaultSuspendInterval,
		lockInterval:    DefaultLockInterval,
		lockTTL:         DefaultLockTTL,
	}
}

// maxReconsumeTimes is the limit sent with CONSUMER_SEND_MSG_BACK and applied by the
// orderly path: RocketMQ's 16 for concurrent consumers, unlimited for orderly ones
// unless set.
func (o *pushConsumerOptions) maxReconsumeTimes() int32 {
	switch {
	case o.maxReconsume >= 0:
		return o.maxReconsume
	case o.orderly:
		return math.MaxInt32
	}
	return DefaultMaxReconsumeTimes
}

// pushOption adapts a function to PushConsumerOption.
type pushOption func(*pushConsumerOptions)

func (f pushOption) applyPushConsumer(o *pushConsumerOptions) { f(o) }

// WithConsumeOrderly makes the consumer orderly: each queue is consumed by one
// goroutine, one batch at a time, in queue order, only while this member holds the
// broker's lock on the queue (clustering). A failed batch suspends its queue and is
// retried; past MaxReconsumeTimes (unlimited by default) it goes to the dead-letter
// topic.
func WithConsumeOrderly() PushConsumerOption {
	return pushOption(func(o *pushConsumerOptions) { o.orderly = true })
}

// WithConsumeGoroutines bounds how many listener calls run at once (20 default).
func WithConsumeGoroutines(n int) PushConsumerOption {
	return pushOption(func(o *pushConsumerOptions) {
		if n > 0 {
			o.goroutines = n
		}
	})
}

// WithConsumeBatchSize sets the most messages one listener call gets (1 default).
func WithConsumeBatchSize(n int) PushConsumerOption {
	return pushOption(func(o *pushConsumerOptions) {
		if n > 0 {
			o.batchSize = min(n, 1024)
		}
	})
}

// WithMaxReconsumeTimes sets how often a message is redelivered before it goes to the
// dead-letter topic (16 for concurrent consumers, unlimited for orderly ones).
func WithMaxReconsumeTimes(n int) PushConsumerOption {
	return pushOption(func(o *pushConsumerOptions) {
		if n >= 0 {
			o.maxReconsume = int32(min(n, math.MaxInt32))
		}
	})
}

// WithRetryDelay sets how long a message whose send-back failed waits before it is
// given to the listener again (5 s default).
func WithRetryDelay(d time.Duration) PushConsumerOption {
	return pushOption(func(o *pushConsumerOptions) {
		if d > 0 {
			o.retryDelay = d
		}
	})
}

// WithSuspendInterval sets how long an orderly queue pauses after a failed batch (1 s
// default).
func WithSuspendInterval(d time.Duration) PushConsumerOption {
	return pushOption(func(o *pushConsumerOptions) {
		if d > 0 {
			o.suspendInterval = d
		}
	})
}

// WithLockTimings sets how often an orderly consumer renews its queue locks (20 s
// default) and for how long after the last renewal a lock counts as held (30 s
// default, below the broker's 60 s lease).
func WithLockTimings(renew, ttl time.Duration) PushConsumerOption {
	return pushOption(func(o *pushConsumerOptions) {
		if renew > 0 {
			o.lockInterval = renew
		}
		if ttl > 0 {
			o.lockTTL = ttl
		}
	})
}

// pullConsumerOptions are the settings of a PullConsumer.
type pullConsumerOptions struct {
	consumerOptions
	autoCommit    bool
	pollBatchSize int
	bufferBatches int
}

func defaultPullConsumerOptions() pullConsumerOptions {
	o := pullConsumerOptions{
		consumerOptions: defaultConsumerOptions(),
		autoCommit:      true,
		pollBatchSize:   DefaultPollBatchSize,
		bufferBatches:   256,
	}
	return o
}

// pullOption adapts a function to PullConsumerOption.
type pullOption func(*pullConsumerOptions)

func (f pullOption) applyPullConsumer(o *pullConsumerOptions) { f(o) }

// WithAutoCommit sets whether the offsets of polled messages are committed every commit
// interval and at shutdown (true by default). Without it only CommitSync and
// CommitAsync commit.
func WithAutoCommit(enabled bool) PullConsumerOption {
	return pullOption(func(o *pullConsumerOptions) { o.autoCommit = enabled })
}

// WithPollBatchSize sets the most messages one Poll returns (10 default).
func WithPollBatchSize(n int) PullConsumerOption {
	return pullOption(func(o *pullConsumerOptions) {
		if n > 0 {
			o.pollBatchSize = min(n, 1024)
		}
	})
}
