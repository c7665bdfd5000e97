package pop

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/store"
)

// Errors of the API. Each wraps one of these; the text says what was wrong.
var (
	// ErrStaleHandle: the handle names a delivery that is no longer current — the
	// message was acknowledged, dead-lettered, delivered again, or its invisible
	// time changed since.
	ErrStaleHandle = errors.New("pop: receipt handle is not the message's current delivery")
	// ErrBadRequest: an argument is out of range.
	ErrBadRequest = errors.New("pop: bad request")
	// ErrBusy: too many receives are waiting already.
	ErrBusy = errors.New("pop: too many waiting receives")
	// ErrClosed: the service is closed.
	ErrClosed = errors.New("pop: closed")
)

// Limits of a receive (PopMessageProcessor: at most 32 messages).
const (
	MaxReceiveNum     = 32
	MaxLongPoll       = 25 * time.Second
	MinInvisibleTime  = time.Second
	MaxInvisibleTime  = 12 * time.Hour
	defaultMaxWaiters = 10000
)

// Store is what the service needs of the message store (*store.Store has it all).
type Store interface {
	GetMessages(topic string, queueID int32, offset int64, maxCount, maxBytes int, match func(tagsCode int64) bool) store.GetResult
	MinOffset(topic string, queueID int32) int64
	MaxOffset(topic string, queueID int32) int64
	Put(rec []byte) (store.PutResult, error)
	MaxPhysicalOffset() int64
	WaitFlushed(ctx context.Context, endOffset int64) error
}

// Offsets is the consumer offset table: the service reads a group's starting point
// from it and commits the consume offset as acknowledgements advance it.
type Offsets interface {
	Get(group, topic string, queueID int32) (int64, bool)
	Commit(group, topic string, queueID int32, offset int64) error
}

// Options configure a Service.
type Options struct {
	Store   Store
	Offsets Offsets
	// Dir holds the snapshot; "" keeps none, and recovery replays the whole log.
	Dir         string
	ClusterName string // names the revive log topic rmq_sys_REVIVE_LOG_<cluster>
	BrokerName  string // the handle's brokerName
	StoreHost   func() netip.AddrPort
	Now         func() time.Time
	// MaxAttempts is how often a message of group is delivered at most: the group's
	// retryMaxTimes + 1. An expired message that was delivered this often goes to
	// the group's DLQ instead of being delivered again.
	MaxAttempts func(group string) int32
	// DLQ returns the group's dead-letter topic (%DLQ%group, created if needed) and
	// its write queue count.
	DLQ func(group string) (topic string, queues int32, err error)
	// Durable waits until the log is durable through end as the broker promises
	// acknowledgements (nil: at once, ASYNC_FLUSH).
	Durable func(ctx context.Context, end int64) error
	// MaxTransferBytes bounds the bytes of one receive (0: no bound).
	MaxTransferBytes int
	// ReviveInterval is how often expired deliveries are checked for the DLQ and
	// waiting receives woken (1s); SnapshotInterval how often the state is
	// snapshotted (10s). A negative value turns the loop off (tests call Revive).
	ReviveInterval   time.Duration
	SnapshotInterval time.Duration
	// MaxWaiters bounds the receives waiting at once (10000).
	MaxWaiters int
	Logger     zerolog.Logger
}

// Service is the POP state of one broker. All methods are safe for concurrent use.
type Service struct {
	o           Options
	reviveTopic string
	log         zerolog.Logger

	mu     sync.Mutex // the state and every POP record append, in one order
	st     *state
	snapAt int64 // the log offset the last installed snapshot covers
	rr     uint32

	live atomic.Bool  // recovery done: the projection only tracks offsets
	fed  atomic.Int64 // the log offset the projection was fed through

	waits   waiters
	stop    chan struct{}
	done    sync.WaitGroup
	closeMu sync.Once
}

// New returns a service with empty state. Recovery happens when the broker adds
// Projection() to the store; then Start.
func New(o Options) (*Service, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.StoreHost == nil {
		o.StoreHost = func() netip.AddrPort { return netip.AddrPort{} }
	}
	if o.MaxAttempts == nil {
		o.MaxAttempts = func(string) int32 { return 17 }
	}
	if o.ReviveInterval == 0 {
		o.ReviveInterval = time.Second
	}
	if o.SnapshotInterval == 0 {
		o.SnapshotInterval = 10 * time.Second
	}
	if o.MaxWaiters <= 0 {
		o.MaxWaiters = defaultMaxWaiters
	}
	s := &Service{o: o, reviveTopic: ReviveTopic(o.ClusterName), log: o.Logger.With().Str("component", "pop").Logger(),
		st: newState(), stop: make(chan struct{})}
	s.waits.init()
	if err := s.loadSnapshot(); err != nil {
		return nil, err
	}
	return s, nil
}

// ReviveTopic is the system topic the POP records are written to.
func ReviveTopic(cluster string) string { return "rmq_sys_REVIVE_LOG_" + cluster }

// Start starts the revive and snapshot loops. Call it once the projection caught up.
func (s *Service) Start() {
	s.mu.Lock()
	s.live.Store(true)
	s.mu.Unlock()
	if s.o.ReviveInterval > 0 {
		s.loop(s.o.ReviveInterval, s.Revive)
	}
	if s.o.SnapshotInterval > 0 && s.o.Dir != "" {
		s.loop(s.o.SnapshotInterval, func() {
			if err := s.Snapshot(); err != nil {
				s.log.Warn().Err(err).Msg("pop snapshot")
			}
		})
	}
}

func (s *Service) loop(d time.Duration, fn func()) {
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-s.stop:
				return
			case <-t.C:
				fn()
			}
		}
	}()
}

// Close stops the loops, wakes every waiting receive (it answers with nothing) and
// writes a last snapshot. The store must still be open.
func (s *Service) Close() error {
	var err error
	s.closeMu.Do(func() {
		close(s.stop)
		s.done.Wait()
		s.waits.closeAll()
		if s.o.Dir != "" {
			err = s.Snapshot()
		}
	})
	return err
}

func (s *Service) closed() bool {
	select {
	case <-s.stop:
		return true
	default:
		return false
	}
}

func (s *Service) nowMS() int64 { return s.o.Now().UnixMilli() }

// put appends one POP record to the revive log and applies it; s.mu is held.
func (s *Service) put(r *record) (int64, error) {
	rec, err := s.encodeLogRecord(r)
	if err != nil {
		return 0, err
	}
	res, err := s.o.Store.Put(rec)
	if err != nil {
		return 0, fmt.Errorf("pop: append %s record: %w", kindName(r.kind), err)
	}
	s.st.apply(r)
	return res.EndOffset, nil
}

// Reset forgets the POP state of group ("" for every group) on topic ("" for every
// topic): in-flight messages are no longer redelivered and the next receive starts
// from the group's committed consume offset, or as a new group where it has none.
// The broker calls it when a topic is deleted, or a group with its offsets.
func (s *Service) Reset(group, topic string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed() {
		return ErrClosed
	}
	if !s.live.Load() {
		return nil // a slave: its master writes the record
	}
	_, err := s.put(&record{kind: kindReset, group: group, topic: topic})
	return err
}

// durable waits until end is as durable as the broker promises.
func (s *Service) durable(ctx context.Context, end int64) error {
	if s.o.Durable == nil || end == 0 {
		return nil
	}
	return s.o.Durable(ctx, end)
}

// queue returns the state of k, creating it at the group's starting offset: its
// committed consume offset, else (initMode 1, or a queue still holding its first
// message) the queue's min, else its last message (PopMessageProcessor.getInitOffset).
func (s *Service) queue(k qkey, initMode int32) *queueState {
	if q := s.st.queues[k]; q != nil {
		return q
	}
	minOff, maxOff := s.o.Store.MinOffset(k.topic, k.queueID), s.o.Store.MaxOffset(k.topic, k.queueID)
	var next int64
	if off, ok := s.o.Offsets.Get(k.group, k.topic, k.queueID); ok && off >= 0 {
		next = off
	} else if initMode == InitMin || minOff == 0 {
		next = minOff
	} else {
		next = max(maxOff-1, minOff)
	}
	q := newQueueState(next)
	s.st.queues[k] = q
	_ = s.o.Offsets.Commit(k.group, k.topic, k.queueID, next)
	return q
}

// commit advances the group's consume offset to what the queue's state allows.
func (s *Service) commit(k qkey, q *queueState) {
	off := q.consumeOffset()
	if cur, ok := s.o.Offsets.Get(k.group, k.topic, k.queueID); !ok || cur != off {
		_ = s.o.Offsets.Commit(k.group, k.topic, k.queueID, off)
	}
}

func kindName(k byte) string {
	switch k {
	case kindCK:
		return "CK"
	case kindAck:
		return "ACK"
	case kindChange:
		return "CHANGE"
	case kindDLQ:
		return "DLQ"
	case kindReset:
		return "RESET"
	}
	return fmt.Sprintf("kind %d", k)
}

// clampMS turns a duration into ms within [lo, hi].
func clampMS(d, lo, hi time.Duration) int64 {
	return int64(min(max(d, lo), hi) / time.Millisecond)
}

// never is a visibleAt that does not come.
const never = int64(math.MaxInt64)
