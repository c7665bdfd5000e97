package store

// This file fixes the API other packages (broker, tests) build against. The
// implementation lives in the other files and sub-packages of store/.
//
//	type FlushMode string  // "ASYNC_FLUSH" | "SYNC_FLUSH"
//
//	type Options struct {  // mapstructure tags, DefaultOptions(), Validate()
//	    Dir                   string        // store root: commitlog/, consumequeue/, index/, checkpoint, lock
//	    CommitLogSegmentBytes int64         // 1 GiB default (format-fixing)
//	    ConsumeQueueUnits     int           // 300000 per file default (format-fixing)
//	    FlushMode             FlushMode     // ASYNC_FLUSH default
//	    FlushInterval         time.Duration // async flush period, 500ms default
//	    SyncFlushTimeout      time.Duration // 5s default → FlushDiskTimeout status
//	    MaxMessageBytes       int           // 4 MiB default (body)
//	    CheckpointInterval    time.Duration // 1s default; bounds recovery time
//	    FileReservedTime      time.Duration // 72h default
//	    DeleteWhenHour        int           // 4 (04:00 local) default
//	    DiskWarnRatio         float64       // 0.75: delete oldest segments at once
//	    DiskMaxRatio          float64       // 0.90: appends fail with ErrDiskFull
//	    TruncateOnCorruption  bool          // false: a corrupt record mid-log refuses to open
//	    Now                   func() time.Time `mapstructure:"-"` // clock, time.Now default
//	    Logger                zerolog.Logger   `mapstructure:"-"`
//	}
//
//	func Open(o Options) (*Store, error)   // locks the dir, checks format options, recovers
//	func (s *Store) Close() error          // flush, checkpoint, clean-shutdown marker
//	func (s *Store) RecoveryStats() RecoveryStats // how long recovery took, bytes scanned, clean or not
//
// Append. rec is one encoded v1 record (message.EncodeRecord) whose QUEUEOFFSET,
// PHYSICALOFFSET and STORETIMESTAMP are placeholders; the store assigns them inside the
// append critical section (message.PatchRecord), taking topic, queue id and transaction
// type from the record itself. PREPARED and ROLLBACK records get queue offset 0 and do not
// advance the queue.
//
//	type PutResult struct {
//	    PhysicalOffset int64 // of the (first) record
//	    QueueOffset    int64 // of the (first) record
//	    Count          int   // records appended (batch)
//	    StoreTimestamp int64
//	    EndOffset      int64 // physical offset after the last record: durability target
//	}
//	func (s *Store) Put(rec []byte) (PutResult, error)
//	func (s *Store) PutBatch(recs []byte) (PutResult, error) // concatenated records, one topic and queue
//	    errors: ErrMessageTooLarge, ErrPropertiesTooLarge, ErrDiskFull (remark names usage),
//	    ErrClosed, ErrWriteFailed (sticky) — all "store: ...".
//
// Durability (SYNC_FLUSH): the caller learns when EndOffset is flushed.
//
//	func (s *Store) OnFlushed(endOffset int64, fn func(err error))
//	    fn runs once the log is flushed through endOffset (inline if it already is), or with
//	    ErrFlushTimeout after SyncFlushTimeout. fn must not block.
//	func (s *Store) WaitFlushed(ctx context.Context, endOffset int64) error
//
// Reads. Slices returned point into the mapping: they stay valid for at least ReadGrace
// (60 s) after the call, because retention unmaps a deleted segment only after that grace.
//
//	type GetStatus int  // Found, NoMatchedMessage, MessageWasRemoving, OffsetTooSmall,
//	                    // OffsetOverflowOne, OffsetOverflowBadly, NoMessageInQueue, NoMatchedLogicQueue
//	                    // String() gives the Java names ("FOUND", "OFFSET_OVERFLOW_ONE", ...)
//	type GetResult struct {
//	    Status     GetStatus
//	    Records    [][]byte // whole v1 records, back to back when written out
//	    NextBegin  int64
//	    MinOffset  int64
//	    MaxOffset  int64
//	    Bytes      int
//	}
//	func (s *Store) GetMessages(topic string, queueID int32, offset int64, maxCount, maxBytes int, match func(tagsCode int64) bool) GetResult
//	func (s *Store) ReadRecord(physicalOffset int64) ([]byte, error) // one record by physical offset
//	func (s *Store) QueryByKey(topic, key string, beginMS, endMS int64, max int) ([]int64, error) // physical offsets, newest first
//	func (s *Store) OffsetByTime(topic string, queueID int32, tsMS int64) int64
//	func (s *Store) MinOffset(topic string, queueID int32) int64
//	func (s *Store) MaxOffset(topic string, queueID int32) int64
//	func (s *Store) EarliestStoreTime(topic string, queueID int32) (int64, error)
//	func (s *Store) MaxPhysicalOffset() int64
//	func (s *Store) MinPhysicalOffset() int64
//	func (s *Store) Stats() Stats   // messages put, bytes, per-topic counts, disk usage ratio
//	func (s *Store) DeleteTopic(topic string) error // drop its ConsumeQueues and index entries
//	func (s *Store) Queues(topic string) []int32    // queue ids that have a ConsumeQueue
//
// Dispatch. Subscribers learn of every ConsumeQueue append (to wake long polls);
// projections (later: timer index, half messages) see every record and keep their own
// applied offset so recovery can re-dispatch to them.
//
//	type Arrival struct { Topic string; QueueID int32; MaxOffset int64; TagsCode int64; StoreTimestamp int64 }
//	func (s *Store) Subscribe(fn func(Arrival)) // fn runs on the dispatcher goroutine: must not block
//	type Projection interface {
//	    Name() string
//	    Applied() int64                       // physical offset applied through
//	    Apply(rec []byte, physicalOffset int64) error
//	    Truncate(physicalOffset int64) error  // forget everything at or past the offset
//	}
//	func (s *Store) AddProjection(p Projection) error // before or after Open; catches up from Applied()
