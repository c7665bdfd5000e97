package broker

import (
	"github.com/rocketgo/rocketgo/broker/internal/query"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// handleQueryMessage serves QUERY_MESSAGE (12): the stored records of topic whose key
// (a KEYS token or the UNIQ_KEY) is Key, stored within [beginTimestamp, endTimestamp],
// newest first, at most maxNum (capped at 64). The body is the records back to back,
// sliced from the log without copying. Nothing found answers QUERY_NOT_FOUND (22).
//
// The response carries indexLastUpdateTimestamp and indexLastUpdatePhyoffset, which
// Java tools use to pick the freshest answer among brokers: here the store time of the
// newest record returned and the log's end offset, up to which the index is built.
func (b *Broker) handleQueryMessage(_ *server.Conn, req *codec.Command) *codec.Command {
	return orError(req)(query.Message(b.store, b.opts.MaxFrameBytes, req))
}

// handleViewMessage serves VIEW_MESSAGE_BY_ID (33): header offset is the physical
// offset of the record (decoded by the client from the offset message id), and the body
// is that record. An offset that holds no record answers SYSTEM_ERROR.
func (b *Broker) handleViewMessage(_ *server.Conn, req *codec.Command) *codec.Command {
	return orError(req)(query.View(b.store, req))
}

// orError returns a function passing a response through, or mapping an error to
// errorResponse's code and remark.
func orError(req *codec.Command) func(*codec.Command, error) *codec.Command {
	return func(resp *codec.Command, err error) *codec.Command {
		if err != nil {
			return errorResponse(req, err)
		}
		return resp
	}
}
