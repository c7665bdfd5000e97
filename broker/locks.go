package broker

import (
	"github.com/rocketgo/rocketgo/broker/internal/locks"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// newLockTable builds the broker's queue lock table (broker/internal/locks) on the
// broker's clock.
func newLockTable(b *Broker) *locks.Table {
	return locks.New(b.now, locks.DefaultLease, b.log.With().Str("component", "locks").Logger())
}

// handleLockBatch serves LOCK_BATCH_MQ (41): the answer lists the queues the client
// holds after the call. A body that does not parse is SYSTEM_ERROR with the reason.
func (b *Broker) handleLockBatch(_ *server.Conn, req *codec.Command) *codec.Command {
	r, err := body.DecodeLockBatchRequest(req.Body)
	if err != nil {
		return errorResponse(req, reject(errBadRequest, "%v", err))
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = (&body.LockBatchResponseBody{
		LockOKMQSet: b.locks.TryLockBatch(r.ConsumerGroup, r.ClientID, r.MQSet),
	}).Encode()
	return resp
}

// handleUnlockBatch serves UNLOCK_BATCH_MQ (42). The Go client may send it "oneway"
// (flag 0); the answer is then ignored by the client.
func (b *Broker) handleUnlockBatch(_ *server.Conn, req *codec.Command) *codec.Command {
	r, err := body.DecodeUnlockBatchRequest(req.Body)
	if err != nil {
		return errorResponse(req, reject(errBadRequest, "%v", err))
	}
	b.locks.UnlockBatch(r.ConsumerGroup, r.ClientID, r.MQSet)
	return req.NewResponse(code.Success, "")
}
