package broker

import (
	"strconv"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// Query limits (MessageStoreConfig.java): a key query returns at most maxQueryBatch
// messages, a unique-key query at most defaultQueryMaxNum.
const (
	maxQueryBatch      = 64
	defaultQueryMaxNum = 32
	// uniqueKeyQueryFlag is the extField a client sets when Key is a UNIQ_KEY
	// (MixAll.UNIQUE_MSG_QUERY_FLAG).
	uniqueKeyQueryFlag = "_UNIQUE_KEY_QUERY"
	// queryFrameReserve is kept free of records in a query response for the header.
	queryFrameReserve = 64 << 10
)

// recordReader is what the query handlers need from the store.
type recordReader interface {
	QueryByKey(topic, key string, beginMS, endMS int64, max int) ([]int64, error)
	ReadRecord(physicalOffset int64) ([]byte, error)
	MaxPhysicalOffset() int64
}

// handleQueryMessage serves QUERY_MESSAGE (12): the stored records of topic whose key
// (a KEYS token or the UNIQ_KEY) is Key, stored within [beginTimestamp, endTimestamp],
// newest first, at most maxNum (capped at 64). The body is the records back to back,
// sliced from the log without copying. Nothing found answers QUERY_NOT_FOUND (22).
//
// The response carries indexLastUpdateTimestamp and indexLastUpdatePhyoffset, which
// Java tools use to pick the freshest answer among brokers: here the store time of the
// newest record returned and the log's end offset, up to which the index is built.
func (b *Broker) handleQueryMessage(_ *server.Conn, req *codec.Command) *codec.Command {
	return queryMessage(b.store, b.opts.MaxFrameBytes, req)
}

func queryMessage(st recordReader, maxFrame int, req *codec.Command) *codec.Command {
	var h header.QueryMessageRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	limit := min(int(h.MaxNum), maxQueryBatch)
	if req.ExtFields[uniqueKeyQueryFlag] == "true" {
		limit = defaultQueryMaxNum
	}
	var (
		parts  [][]byte
		total  int
		lastTS int64
	)
	if limit > 0 {
		offs, err := st.QueryByKey(h.Topic, h.Key, h.BeginTimestamp, h.EndTimestamp, limit)
		if err != nil {
			return errorResponse(req, err)
		}
		budget := maxFrame - queryFrameReserve
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
		return resp
	}
	resp := req.NewResponse(code.Success, "")
	resp.ExtFields = (&header.QueryMessageResponse{
		IndexLastUpdateTimestamp: lastTS,
		IndexLastUpdatePhyoffset: st.MaxPhysicalOffset(),
	}).Encode()
	resp.BodyParts = parts
	return resp
}

// handleViewMessage serves VIEW_MESSAGE_BY_ID (33): header offset is the physical
// offset of the record (decoded by the client from the offset message id), and the body
// is that record. An offset that holds no record answers SYSTEM_ERROR.
func (b *Broker) handleViewMessage(_ *server.Conn, req *codec.Command) *codec.Command {
	return viewMessage(b.store, req)
}

func viewMessage(st recordReader, req *codec.Command) *codec.Command {
	var h header.ViewMessageRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	rec, err := st.ReadRecord(h.Offset)
	if err != nil {
		return req.NewResponse(code.SystemError,
			"can not find message by the offset, "+strconv.FormatInt(h.Offset, 10)+": "+err.Error())
	}
	resp := req.NewResponse(code.Success, "")
	resp.BodyParts = [][]byte{rec}
	return resp
}
