package schedule

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/internal/pebblelog"
	"github.com/rocketgo/rocketgo/store"
	"github.com/rocketgo/rocketgo/store/diskguard"
)

// Store is the part of the message store the scheduler uses.
type Store interface {
	GetMessages(topic string, queueID int32, offset int64, maxCount, maxBytes int, match func(int64) bool) store.GetResult
	ReadRecord(physicalOffset int64) ([]byte, error)
	Put(rec []byte) (store.PutResult, error)
	Flush() error
	MaxOffset(topic string, queueID int32) int64
	QueryByKey(topic, key string, beginMS, endMS int64, max int) ([]int64, error)
	CatchUpIndex(max time.Duration) error
}

var _ Store = (*store.Store)(nil)

// Options configure a Scheduler.
type Options struct {
	// Dir is the index directory (a pebble database).
	Dir string
	// Levels is the delay table; DefaultLevels when empty.
	Levels Levels
	// Store is the message store the scheduled messages live in.
	Store Store
	// Now is the clock; time.Now when nil. Due times compare with the store's
	// timestamps, so both must read the same clock.
	Now func() time.Time
	// Guard, if set, is asked before the index is written; the index opens read-only
	// on a critically full disk.
	Guard *diskguard.Guard
	// Logger receives the scheduler's logs.
	Logger zerolog.Logger
	// Window is how far ahead of the clock timers are held in memory (10 s); timers due
	// later stay only in the index.
	Window time.Duration
	// MaxInMemory bounds the timers held in memory (1 << 20).
	MaxInMemory int
	// CommitInterval is how often index changes are made durable (1 s). A crash loses
	// none of them: they are replayed from the log.
	CommitInterval time.Duration
	// RetryDelay is how long a delivery that the store refused (disk full) waits before
	// it is tried again (1 s).
	RetryDelay time.Duration
	// Passive keeps the index up to date but delivers and cancels nothing: a slave's
	// master delivers, and the copies reach the slave's log by replication.
	Passive bool
}

func (o *Options) setDefaults() error {
	if len(o.Levels) == 0 {
		l, err := ParseLevels(DefaultLevels)
		if err != nil {
			return err
		}
		o.Levels = l
	}
	if len(o.Levels) > MaxLevels {
		return fmt.Errorf("schedule: %d levels, at most %d", len(o.Levels), MaxLevels)
	}
	if o.Store == nil || o.Dir == "" {
		return errors.New("schedule: Store and Dir are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Window <= 0 {
		o.Window = 10 * time.Second
	}
	if o.MaxInMemory <= 0 {
		o.MaxInMemory = 1 << 20
	}
	if o.CommitInterval <= 0 {
		o.CommitInterval = time.Second
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = time.Second
	}
	return nil
}

// Tuning constants of the loop.
const (
	// maxPerStep bounds the deliveries of one step, so cancels and shutdown are served
	// promptly under a backlog.
	maxPerStep = 512
	// levelBatch is how many records of a level are read at once.
	levelBatch = 32
	// appliedInterval is how often the applied offset is made durable when nothing
	// scheduled happens, bounding the log a restart replays.
	appliedInterval = 10 * time.Second
	// idle is the due time of a level with nothing waiting.
	idle = math.MaxInt64
)

// Errors of Cancel.
var (
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("schedule: closed")
	// ErrPassive is returned by a passive scheduler, which writes nothing.
	ErrPassive = errors.New("schedule: passive (slave) scheduler cannot cancel")
)

// Stats are the scheduler's counters since Open.
type Stats struct {
	LevelDelivered int64 // delay-level messages delivered
	TimerDelivered int64 // timer messages delivered
	Cancelled      int64 // timer messages cancelled
	Dropped        int64 // scheduled records that could not be delivered (logged)
	TimersInMemory int   // timers due within the window
}

// Scheduler delivers delay-level and timer messages when due. Its methods are safe
// from any goroutine.
type Scheduler struct {
	o    Options
	log  zerolog.Logger
	db   *pebble.DB
	proj *projection
	// readOnly: the index was opened read-only on a full disk; broken: pebble failed
	// a commit it cannot undo. Either way commits wait until reopen succeeds. Owned
	// like batch.
	readOnly, broken bool

	// Owned by the loop goroutine; before Start and after it ends, by the caller.
	batch      *pebble.Batch // indexed: reads see it over the database
	timers     timerHeap
	loaded     []byte  // every timer key <= loaded is in memory or done; nil: none yet
	nextLoad   int64   // ms when loaded must move on
	cursor     []int64 // per level: the next queue offset to deliver
	confirmed  []int64 // per level: past the last copy seen in the log
	levelNext  []int64 // per level: ms when the level must be looked at again
	prepared   bool
	seen       int64 // projection position read before the last drain
	committed  int64 // applied offset in the database
	lastCommit time.Time
	dirty      bool
	opsBuf     []op

	kick      chan struct{}
	reqs      chan func()
	stop      chan struct{}
	done      chan struct{}
	started   atomic.Bool
	closeOnce sync.Once
	closeErr  error

	levelDelivered, timerDelivered, cancelled, dropped atomic.Int64
	inMemory                                           atomic.Int64
}

// Open opens (creating if needed) the index in o.Dir. Register Projection with the
// store (store.AddProjection) before Start: that replays the log the index has not
// seen.
func Open(o Options) (*Scheduler, error) {
	if err := o.setDefaults(); err != nil {
		return nil, err
	}
	log := o.Logger.With().Str("component", "schedule").Logger()
	db, readOnly, err := openDB(o.Dir, log, o.Guard, false)
	if err != nil {
		return nil, err
	}
	applied, progress, err := loadState(db, len(o.Levels))
	if err != nil {
		db.Close()
		return nil, err
	}
	s := &Scheduler{
		o: o, log: log, db: db, readOnly: readOnly,
		batch:     db.NewIndexedBatch(),
		cursor:    progress,
		confirmed: append([]int64(nil), progress...),
		levelNext: make([]int64, len(o.Levels)),
		seen:      applied,
		committed: applied,
		kick:      make(chan struct{}, 1),
		reqs:      make(chan func()),
		stop:      make(chan struct{}),
		done:      make(chan struct{}),
	}
	s.timers.init()
	s.proj = &projection{levels: o.Levels, applied: applied, wake: s.wake,
		truncate: func(off int64) error { return truncateDB(db, off) }}
	s.proj.pos.Store(applied)
	s.lastCommit = o.Now()
	return s, nil
}

// Projection returns the store projection that feeds the scheduler from the log.
func (s *Scheduler) Projection() store.Projection { return s.proj }

// Levels returns the delay table.
func (s *Scheduler) Levels() Levels { return s.o.Levels }

// Start starts delivering. Call it once, after the projection was added to the store.
func (s *Scheduler) Start(context.Context) {
	if s.started.CompareAndSwap(false, true) {
		go s.loop()
	}
}

// Close stops delivering and makes the index durable. It does not close the store,
// which must still be open.
func (s *Scheduler) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		if s.started.Load() {
			<-s.done
		} else {
			s.finish()
		}
		s.batch.Close()
		if err := s.db.Close(); err != nil {
			s.closeErr = fmt.Errorf("schedule: close index: %w", err)
		}
	})
	return s.closeErr
}

// Stats returns the counters.
func (s *Scheduler) Stats() Stats {
	return Stats{
		LevelDelivered: s.levelDelivered.Load(),
		TimerDelivered: s.timerDelivered.Load(),
		Cancelled:      s.cancelled.Load(),
		Dropped:        s.dropped.Load(),
		TimersInMemory: int(s.inMemory.Load()),
	}
}

// wake kicks the loop; it never blocks.
func (s *Scheduler) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// loop is the scheduler goroutine: step, then sleep until the next due time, a kick
// from the projection, or a request.
func (s *Scheduler) loop() {
	defer close(s.done)
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for {
		next := s.step(s.o.Now())
		t.Reset(max(next.Sub(s.o.Now()), 0))
		select {
		case <-s.stop:
			s.finish()
			return
		case <-s.kick:
		case fn := <-s.reqs:
			fn()
		case <-t.C:
		}
	}
}

// finish drains what the projection queued and commits, on the way out.
func (s *Scheduler) finish() {
	s.drain()
	s.commit(s.o.Now())
}

// step does all work due at now and returns when it must run next. Tests drive it with
// their own clock.
func (s *Scheduler) step(now time.Time) time.Time {
	nowMS := now.UnixMilli()
	s.drain()
	if !s.prepared {
		s.prepare()
	}
	budget := maxPerStep
	next := int64(idle)
	if !s.o.Passive {
		for l := 1; l <= len(s.o.Levels); l++ {
			if s.levelNext[l-1] <= nowMS && budget > 0 {
				s.levelNext[l-1] = s.runLevel(l, nowMS, &budget)
			}
			next = min(next, s.levelNext[l-1])
		}
		s.loadTimers(nowMS)
		s.runTimers(nowMS, &budget)
		if e := s.timers.peek(); e != nil {
			next = min(next, e.notBefore)
		}
		next = min(next, s.nextLoad)
	}
	if s.dirty && now.Sub(s.lastCommit) >= s.o.CommitInterval ||
		s.seen != s.committed && now.Sub(s.lastCommit) >= appliedInterval {
		s.commit(now)
	}
	if s.dirty {
		next = min(next, s.lastCommit.Add(s.o.CommitInterval).UnixMilli())
	}
	// The applied offset is committed every appliedInterval while the log moves on.
	// Once it has been committed there is nothing to wake for: an unconditional wake at
	// lastCommit+appliedInterval, already past, made an idle broker spin (docs/scale.md §3).
	if s.seen != s.committed || s.proj.pos.Load() != s.committed {
		next = min(next, s.lastCommit.Add(appliedInterval).UnixMilli())
	}
	if budget == 0 {
		next = nowMS
	}
	s.inMemory.Store(int64(s.timers.Len()))
	return time.UnixMilli(next)
}

// drain applies the ops the projection queued: to the index batch, the timers in
// memory, and the levels' progress and due times.
func (s *Scheduler) drain() {
	seen := s.proj.pos.Load()
	ops := s.proj.take(s.opsBuf)
	for _, o := range ops {
		switch o.kind {
		case opAddTimer:
			k := timerKey(o.deliverMS, o.phys)
			s.setKey(k, nil)
			if s.loaded != nil && lessEq(k, s.loaded) {
				s.timers.add(o.deliverMS, o.phys)
			}
		case opDoneTimer:
			s.deleteKey(timerKey(o.deliverMS, o.phys))
			s.timers.remove(o.phys)
		case opDoneLevel:
			s.confirmed[o.level-1] = max(s.confirmed[o.level-1], o.qoff+1)
			if s.o.Passive {
				// A slave follows its master's deliveries.
				s.cursor[o.level-1] = max(s.cursor[o.level-1], o.qoff+1)
				s.dirty = true
			}
		case opArrival:
			s.levelNext[o.level-1] = min(s.levelNext[o.level-1], o.deliverMS)
		}
	}
	clear(ops)
	s.opsBuf = ops[:0]
	s.seen = max(s.seen, seen)
}

// prepare runs once, after the projection replayed the log: a level resumes past every
// copy found in the log (the crash window between a delivery and its commit), but never
// past the end of its queue (the log may have been cut behind the index).
func (s *Scheduler) prepare() {
	s.prepared = true
	for l := 1; l <= len(s.o.Levels); l++ {
		c := max(s.cursor[l-1], s.confirmed[l-1])
		if m := s.o.Store.MaxOffset(TopicSchedule, int32(l-1)); c > m {
			s.log.Warn().Int("level", l).Int64("offset", c).Int64("max", m).Msg("delay level progress past its queue; resuming at the queue's end")
			c = m
		}
		if c != s.cursor[l-1] {
			s.dirty = true
		}
		s.cursor[l-1] = c
	}
}

// setKey and deleteKey write the index batch; pebble refuses only a closed batch.
func (s *Scheduler) setKey(k, v []byte) {
	if err := s.batch.Set(k, v, nil); err != nil {
		s.log.Error().Err(err).Msg("index write failed")
	}
	s.dirty = true
}

func (s *Scheduler) deleteKey(k []byte) {
	if err := s.batch.Delete(k, nil); err != nil {
		s.log.Error().Err(err).Msg("index write failed")
	}
	s.dirty = true
}

// commit makes the index durable up to what the loop has seen. The store is flushed
// first: every copy and cancel record written so far is on disk before the index
// forgets the timers and levels they delivered, so even a machine crash cannot lose a
// delivery the index no longer remembers.
func (s *Scheduler) commit(now time.Time) {
	// On a full disk the batch waits in memory; the disk guard logs the state. Once
	// space returns, an index opened read-only is reopened read-write.
	if s.o.Guard.AllowMeta() != nil {
		s.lastCommit = now
		return
	}
	if s.readOnly || s.broken {
		if err := s.reopen(); err != nil {
			if !errors.Is(err, diskguard.ErrFull) {
				s.log.Warn().Err(err).Msg("schedule index still read-only; commit postponed")
			}
			s.lastCommit = now
			return
		}
	}
	if err := s.o.Store.Flush(); err != nil {
		s.log.Warn().Err(err).Msg("store flush failed; index commit postponed")
		s.lastCommit = now
		return
	}
	s.setKey(keyApplied, putInt64(s.seen))
	for l := 1; l <= len(s.o.Levels); l++ {
		s.setKey(levelKey(l), putInt64(s.cursor[l-1]))
	}
	if err := commitBatch(s.batch); err != nil {
		var f *pebblelog.Fatal
		s.broken = errors.As(err, &f)
		s.log.Error().Err(err).Msg("index commit failed")
		s.lastCommit = now
		return
	}
	s.batch.Close()
	s.batch = s.db.NewIndexedBatch()
	s.committed, s.dirty, s.lastCommit = s.seen, false, now
}

// lessEq reports a <= b.
func lessEq(a, b []byte) bool { return string(a) <= string(b) }
