package broker

import (
	"fmt"
	"math"
	"strconv"
	"sync"

	"github.com/rocketgo/rocketgo/broker/internal/runstats"
	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// offsetResponse answers req with code and the offset extField every offset answer
// carries (the Go client reads only that key for 29 and 30).
func offsetResponse(req *codec.Command, c int32, remark string, offset int64) *codec.Command {
	resp := req.NewResponse(c, remark)
	resp.ExtFields["offset"] = strconv.FormatInt(offset, 10)
	return resp
}

// offsetError answers a refused offset request: the table's code and remark, and offset
// -1, which every client reads as "unknown".
func offsetError(req *codec.Command, err error) *codec.Command {
	resp := errorResponse(req, err)
	resp.ExtFields["offset"] = "-1"
	return resp
}

// handleQueryConsumerOffset serves QUERY_CONSUMER_OFFSET (14): 0 with the committed
// offset, or exactly QUERY_NOT_FOUND (22) for "none" — never another code, because the
// client treats any other code as an error and leaves the queue unassigned for a whole
// rebalance period (docs/protocol.md §2.5).
//
// With nothing committed, Java answers offset 0 when the queue still starts at 0 and its
// first message is in memory, so a new group reading a young topic does not miss its
// first messages. rocketgo keeps that for groups that registered CONSUME_FROM_LAST_OFFSET
// or CONSUME_FROM_FIRST_OFFSET (or have not sent a heartbeat yet), and answers 22 to
// groups that registered CONSUME_FROM_TIMESTAMP so their timestamp is honoured.
// "In memory" is Java's test: the first message lies within 40% of physical memory of
// the CommitLog's end.
func (b *Broker) handleQueryConsumerOffset(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.QueryConsumerOffsetRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	if off, ok := b.offsets.Get(h.ConsumerGroup, h.Topic, h.QueueID); ok && off >= 0 {
		return offsetResponse(req, code.Success, "", off)
	}
	notFound := req.NewResponse(code.QueryNotFound,
		fmt.Sprintf("no committed offset for group %s on topic %s queue %d", h.ConsumerGroup, h.Topic, h.QueueID))
	if h.SetZeroIfNotFound != nil && !*h.SetZeroIfNotFound {
		return notFound
	}
	if cfw, ok := b.clients.ConsumeFromWhere(h.ConsumerGroup); ok && cfw == body.ConsumeFromTimestamp {
		return notFound
	}
	if b.store.MinOffset(h.Topic, h.QueueID) <= 0 && !b.firstMessageOnDisk(h.Topic, h.QueueID) {
		return offsetResponse(req, code.Success, "", 0)
	}
	return notFound
}

// firstMessageOnDisk reports whether message 0 of the queue lies further behind the
// CommitLog's end than the in-memory window (Java's checkInDiskByConsumeOffset). An
// empty queue's first message is not on disk.
func (b *Broker) firstMessageOnDisk(topic string, queueID int32) bool {
	res := b.store.GetMessages(topic, queueID, 0, 1, math.MaxInt32, nil)
	if len(res.Records) == 0 {
		return false
	}
	phy := message.RecordPhysicalOffset(res.Records[0])
	return b.store.MaxPhysicalOffset()-phy > inMemoryWindow()
}

// inMemoryWindow is how much of the CommitLog's tail counts as in memory: 40% of
// physical memory (accessMessageInMemoryMaxRatio).
var inMemoryWindow = sync.OnceValue(func() int64 { return runstats.PhysicalMemory() * 40 / 100 })

// handleUpdateConsumerOffset serves UPDATE_CONSUMER_OFFSET (15). The Go client sends it
// "oneway" with flag 0 and drops the answer; it is answered anyway, as Java does.
func (b *Broker) handleUpdateConsumerOffset(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.UpdateConsumerOffsetRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	if err := meta.CheckOffsetNames(h.ConsumerGroup, h.Topic, h.QueueID); err != nil {
		return errorResponse(req, err)
	}
	if h.CommitOffset < 0 {
		return errorResponse(req, reject(errBadRequest, "commitOffset %d is negative", h.CommitOffset))
	}
	if err := b.offsets.Commit(h.ConsumerGroup, h.Topic, h.QueueID, h.CommitOffset); err != nil {
		return errorResponse(req, err)
	}
	b.noteSlaveCommit(&h) // slaveread.go
	return req.NewResponse(code.Success, "")
}

// handleSearchOffset serves SEARCH_OFFSET_BY_TIMESTAMP (29): the offset of the first
// message stored at or after the timestamp.
func (b *Broker) handleSearchOffset(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.SearchOffsetRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return offsetError(req, err)
	}
	return offsetResponse(req, code.Success, "", b.store.OffsetByTime(h.Topic, h.QueueID, h.Timestamp))
}

// handleGetMaxOffset serves GET_MAX_OFFSET (30): the queue's next offset.
func (b *Broker) handleGetMaxOffset(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.QueueRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return offsetError(req, err)
	}
	return offsetResponse(req, code.Success, "", b.store.MaxOffset(h.Topic, h.QueueID))
}

// handleGetMinOffset serves GET_MIN_OFFSET (31): the smallest offset still stored.
func (b *Broker) handleGetMinOffset(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.QueueRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return offsetError(req, err)
	}
	return offsetResponse(req, code.Success, "", b.store.MinOffset(h.Topic, h.QueueID))
}

// handleGetEarliestMsgStoretime serves GET_EARLIEST_MSG_STORETIME (32): the store time of
// the queue's oldest message, or -1 for an empty queue (Java answers success with -1).
func (b *Broker) handleGetEarliestMsgStoretime(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.QueueRequest
	if err := h.Decode(req.ExtFields); err != nil {
		resp := errorResponse(req, err)
		resp.ExtFields["timestamp"] = "-1"
		return resp
	}
	ts, err := b.store.EarliestStoreTime(h.Topic, h.QueueID)
	if err != nil {
		ts = -1
	}
	resp := req.NewResponse(code.Success, "")
	resp.ExtFields["timestamp"] = strconv.FormatInt(ts, 10)
	return resp
}
