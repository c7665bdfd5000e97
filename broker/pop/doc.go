// Package pop is RocketMQ 5's POP consumption state: the broker keeps each consumer
// group's progress per queue, hands out messages that stay invisible until they are
// acknowledged, and delivers them again when they are not (docs/pop.md). The remoting
// handlers (broker/pop.go: 200050, 200051, 200053, 200151) and a gRPC
// MessagingService call the same API:
//
//	s, _ := pop.New(pop.Options{Store: st, Offsets: offs, Dir: dir, ...})
//	st.AddProjection(s.Projection())  // rebuilds the state from the revive log
//	s.Start()                         // revive and snapshot loops
//
//	res, err := s.Receive(ctx, pop.ReceiveRequest{Group: g, Topic: t, QueueID: -1, Queues: 4,
//	    MaxNum: 16, InvisibleTime: time.Minute, Filter: match, LongPoll: 20 * time.Second, FIFO: false})
//	for _, m := range res.Messages { // m.Record, m.Attempt, m.Handle
//	    err = s.Ack(ctx, g, t, m.Handle)                                  // done
//	    nh, err := s.ChangeInvisible(ctx, g, t, m.Handle, 30*time.Second) // nh replaces m.Handle
//	}
//	h, err := pop.ParseHandle(extraInfo) // a handle from its text (Handle.String)
//
// Receive returns up to MaxNum (≤ 32) messages, each with a receipt Handle and its
// delivery attempt (1 for the first). A message not acknowledged within its invisible
// time is delivered again with the attempt counted, in place from its queue; after
// MaxAttempts (the group's retryMaxTimes + 1) deliveries it is copied to %DLQ%<group>
// instead. FIFO receives skip a queue while a delivery in it is still invisible, so one
// batch per queue is in flight and messages come in queue order. With nothing to
// deliver Receive waits up to LongPoll for an arrival (Notify), an expiry or an
// acknowledgement that frees a FIFO queue. Ack and ChangeInvisible of a handle that is
// no longer the message's current delivery fail with ErrStaleHandle and change nothing.
//
// # State and durability
//
// Per (group, topic, queue): next, the first offset never handed out, and the
// in-flight entries. Every offset below next without an entry is done, so the group's
// consume offset (committed through Offsets) is the smallest in-flight offset or next.
// Every change is first appended to the CommitLog as a record of the topic
// rmq_sys_REVIVE_LOG_<cluster>, queue 0, tag ck/ack/chg/dlq, whose body is:
//
//	+-----+------+-----+----------+-------+----------+-------+---------+----------------+
//	| 'P' | kind | ver | groupLen | group | topicLen | topic | queueId | kind fields... |
//	|  1  |  1   |  1  |    2     |       |    2     |       |    4    |                |
//	+-----+------+-----+----------+-------+----------+-------+---------+----------------+
//	CK  (1): popTime 8 | invisibleTime 8 | flags 1 (bit 0 FIFO) | next 8 | n 2 | n × (offset 8, attempts 4)
//	ACK (2): offset 8 | popTime 8
//	CHG (3): offset 8 | oldPopTime 8 | newPopTime 8 | newInvisibleTime 8
//	DLQ (4): offset 8 | popTime 8
//	RESET (5): nothing more — forget group on topic ("" matches every one)
//
// The state is a projection of those records: a snapshot (snapshot.go) covers the log
// up to an offset, written only once the log is flushed past it, and the projection
// applies the records after it at startup. So a SIGKILL neither loses an unacknowledged
// message (it comes back after its invisible time) nor resurrects an acknowledged one.
//
// One mutex orders every state change with its append; the handle, record and
// snapshot decoders are fuzzed.
package pop
