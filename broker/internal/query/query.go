// Package query answers QUERY_MESSAGE and VIEW_MESSAGE_BY_ID from the stored records:
// pure functions over the few store calls they need, so the broker only wires them to
// its store and frame limit.
package query

import (
	"time"

	"strconv"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// Query limits (MessageStoreConfig.java): a key query returns at most maxBatch
// messages, a unique-key query at most defaultMaxNum.
const (
	maxBatch      = 64
	defaultMaxNum = 32
	// UniqueKeyFlag is the extField a client sets when Key is a UNIQ_KEY
	// (MixAll.UNIQUE_MSG_QUERY_FLAG).
	UniqueKeyFlag = "_UNIQUE_KEY_QUERY"
	// frameReserve is kept free of records in a query response for the header.
	frameReserve = 64 << 10
	// queryIndexWait bounds how long a query waits for the key index to reach the
	// log's end.
	queryIndexWait = 200 * time.Millisecond
)

// RecordReader is what the query handlers need from the store.
type RecordReader interface {
	QueryByKey(topic, key string, beginMS, endMS int64, max int) ([]int64, error)
	CatchUpIndex(max time.Duration) error
	ReadRecord(physicalOffset int64) ([]byte, error)
	MaxPhysicalOffset() int64
}

// Message answers a QUERY_MESSAGE: the records of the header's topic and key stored in
// its time range, at most maxNum (capped at 64), within maxFrame bytes. A non-nil error
// (a bad header, a failed index lookup) is for the caller to map to a response code.
func Message(st RecordReader, maxFrame int, req *codec.Command) (*codec.Command, error) {
	var h header.QueryMessageRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return nil, err
	}
	limit := min(int(h.MaxNum), maxBatch)
	if req.ExtFields[UniqueKeyFlag] == "true" {
		limit = defaultMaxNum
	}
	var (
		parts  [][]byte
		total  int
		lastTS int64
	)
	if limit > 0 {
		// The key index trails the log by a few milliseconds; a message sent just before
		// the query is waited for, briefly. Past the wait the lookup runs anyway: an
		// index behind a backlog answers with what it has, as RocketMQ's does.
		_ = st.CatchUpIndex(queryIndexWait)
		offs, err := st.QueryByKey(h.Topic, h.Key, h.BeginTimestamp, h.EndTimestamp, limit)
		if err != nil {
			return nil, err
		}
		budget := maxFrame - frameReserve
		for _, off := range offs {
			rec, err := st.ReadRecord(off)
			if err != nil {
				// The index may point at a segment retention has just removed;
				// skip it as Java's lookup does.
				continue
			}
			if total+len(rec) > budget && len(parts) > 0 {
				break
			}
			parts = append(parts, rec)
			total += len(rec)
			lastTS = max(lastTS, message.RecordStoreTimestamp(rec))
		}
	}
	if len(parts) == 0 {
		resp := req.NewResponse(code.QueryNotFound, "can not find message, maybe time range not correct")
		resp.ExtFields = (&header.QueryMessageResponse{IndexLastUpdatePhyoffset: st.MaxPhysicalOffset()}).Encode()
		return resp, nil
	}
	resp := req.NewResponse(code.Success, "")
	resp.ExtFields = (&header.QueryMessageResponse{
		IndexLastUpdateTimestamp: lastTS,
		IndexLastUpdatePhyoffset: st.MaxPhysicalOffset(),
	}).Encode()
	resp.BodyParts = parts
	return resp, nil
}

// View answers a VIEW_MESSAGE_BY_ID: the record at the header's physical offset, or
// SYSTEM_ERROR when none is there. A non-nil error is a bad header, for the caller to map.
func View(st RecordReader, req *codec.Command) (*codec.Command, error) {
	var h header.ViewMessageRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return nil, err
	}
	rec, err := st.ReadRecord(h.Offset)
	if err != nil {
		return req.NewResponse(code.SystemError,
			"can not find message by the offset, "+strconv.FormatInt(h.Offset, 10)+": "+err.Error()), nil
	}
	resp := req.NewResponse(code.Success, "")
	resp.BodyParts = [][]byte{rec}
	return resp, nil
}
