package grpcapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	pb "github.com/rocketgo/rocketgo/proto/rmqpb"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// telemetryOutbox bounds the commands queued for one client's Telemetry stream; past it
// a server-initiated command is dropped (the broker asks again: check-backs repeat).
const telemetryOutbox = 64

// verifyTimeout bounds how long CONSUME_MESSAGE_DIRECTLY waits for the client's
// VerifyMessageResult.
const verifyTimeout = 10 * time.Second

// Telemetry is the client's bidirectional control stream. The client sends its Settings
// first and is answered with the settings the endpoint applies; the endpoint registers
// the client with the broker at once, so transaction check-backs reach a producer from
// its first send. Server-initiated commands go down the same stream: transaction
// check-back (from CHECK_TRANSACTION_STATE) and message verification (from
// CONSUME_MESSAGE_DIRECTLY).
func (s *Server) Telemetry(stream pb.MessagingService_TelemetryServer) error {
	m, st := s.meta(stream.Context())
	if st != nil {
		return grpcErr(st)
	}
	ss := s.session(m)
	out := make(chan *pb.TelemetryCommand, telemetryOutbox)
	ss.mu.Lock()
	if ss.telemetry != nil {
		close(ss.telemetry) // a client reopening its stream replaces the old one
	}
	ss.telemetry = out
	ss.mu.Unlock()
	defer func() {
		ss.mu.Lock()
		if ss.telemetry == out {
			close(out)
			ss.telemetry = nil
		}
		ss.mu.Unlock()
	}()

	sendErr := make(chan error, 1)
	go func() {
		for c := range out {
			if err := stream.Send(c); err != nil {
				sendErr <- err
				for range out { // drain until the reader closes it
				}
				return
			}
		}
		sendErr <- nil
	}()

	for {
		cmd, err := stream.Recv()
		if err != nil {
			return nil
		}
		ss.seen.Store(s.o.Now().UnixNano())
		switch c := cmd.GetCommand().(type) {
		case *pb.TelemetryCommand_Settings:
			resp := ss.applySettings(stream.Context(), c.Settings)
			if !ss.push(resp) {
				return nil
			}
		case *pb.TelemetryCommand_VerifyMessageResult:
			ss.verified(c.VerifyMessageResult.GetNonce(), c.VerifyMessageResult)
		case *pb.TelemetryCommand_ThreadStackTrace:
			// Answers a PrintThreadStackTraceCommand, which this endpoint never sends.
		default:
			if !ss.push(&pb.TelemetryCommand{Status: statusOf(pb.Code_BAD_REQUEST, "unsupported telemetry command")}) {
				return nil
			}
		}
		select {
		case err := <-sendErr:
			return err
		default:
		}
	}
}

// applySettings records the client's settings, registers it with the broker and returns
// the settings the endpoint applies (Apache's GrpcClientSettingsManager): for producers
// the largest body and message-type validation, for consumers the receive defaults.
func (ss *session) applySettings(ctx context.Context, in *pb.Settings) *pb.TelemetryCommand {
	ss.mu.Lock()
	ss.settings = in
	ss.mu.Unlock()
	out := &pb.Settings{
		ClientType:     in.ClientType,
		AccessPoint:    in.AccessPoint,
		BackoffPolicy:  in.BackoffPolicy,
		RequestTimeout: in.RequestTimeout,
		UserAgent:      in.UserAgent,
		Metric:         &pb.Metric{On: false},
	}
	if out.RequestTimeout == nil {
		out.RequestTimeout = durationpb.New(3 * time.Second)
	}
	switch p := in.GetPubSub().(type) {
	case *pb.Settings_Publishing:
		out.PubSub = &pb.Settings_Publishing{Publishing: &pb.Publishing{
			Topics: p.Publishing.GetTopics(), MaxBodySize: int32(ss.srv.o.MaxMessageBytes), ValidateMessageType: true,
		}}
		if out.BackoffPolicy == nil {
			out.BackoffPolicy = &pb.RetryPolicy{MaxAttempts: 3}
		}
	case *pb.Settings_Subscription:
		sub := &pb.Subscription{
			Group: p.Subscription.GetGroup(), Subscriptions: p.Subscription.GetSubscriptions(),
			Fifo: p.Subscription.Fifo, ReceiveBatchSize: p.Subscription.ReceiveBatchSize,
			LongPollingTimeout: p.Subscription.LongPollingTimeout,
		}
		if sub.ReceiveBatchSize == nil {
			n := int32(32)
			sub.ReceiveBatchSize = &n
		}
		if sub.LongPollingTimeout == nil {
			sub.LongPollingTimeout = durationpb.New(20 * time.Second)
		}
		out.PubSub = &pb.Settings_Subscription{Subscription: sub}
		if out.BackoffPolicy == nil {
			out.BackoffPolicy = &pb.RetryPolicy{MaxAttempts: 17}
		}
	}
	st := okStatus()
	if in.GetClientType() != pb.ClientType_CLIENT_TYPE_UNSPECIFIED {
		if e := ss.heartbeat(ctx, in.GetClientType(), ""); e != nil {
			st = e
		}
	}
	return &pb.TelemetryCommand{Status: st, Command: &pb.TelemetryCommand_Settings{Settings: out}}
}

// onCheckTransaction turns the broker's CHECK_TRANSACTION_STATE into a
// RecoverOrphanedTransactionCommand on the client's stream. The client answers with
// EndTransaction (source SERVER_CHECK), whose transaction id carries the offsets the
// broker needs.
func (ss *session) onCheckTransaction(_ string, req *codec.Command) *codec.Command {
	var h header.CheckTransactionStateRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return nil
	}
	msg, err := decodeOne(req.Body)
	if err != nil {
		return nil
	}
	pm := toProto(msg, ss.srv.be.BrokerName, "")
	ss.push(&pb.TelemetryCommand{Command: &pb.TelemetryCommand_RecoverOrphanedTransactionCommand{
		RecoverOrphanedTransactionCommand: &pb.RecoverOrphanedTransactionCommand{
			Message:       pm,
			TransactionId: encodeTxID(h.OffsetMsgID, h.TranStateTableOffset),
		},
	}})
	return nil // CHECK_TRANSACTION_STATE is oneway
}

// onConsumeDirectly turns CONSUME_MESSAGE_DIRECTLY into a VerifyMessageCommand and waits
// for the client's VerifyMessageResult.
func (ss *session) onConsumeDirectly(_ string, req *codec.Command) *codec.Command {
	msg, err := decodeOne(req.Body)
	if err != nil {
		return req.NewResponse(code.SystemError, "message body: "+err.Error())
	}
	var nb [8]byte
	_, _ = rand.Read(nb[:])
	nonce := hex.EncodeToString(nb[:])
	ch := make(chan *pb.VerifyMessageResult, 1)
	ss.mu.Lock()
	ss.verifying[nonce] = ch
	ss.mu.Unlock()
	defer func() {
		ss.mu.Lock()
		delete(ss.verifying, nonce)
		ss.mu.Unlock()
	}()
	if !ss.push(&pb.TelemetryCommand{Command: &pb.TelemetryCommand_VerifyMessageCommand{
		VerifyMessageCommand: &pb.VerifyMessageCommand{Nonce: nonce, Message: toProto(msg, ss.srv.be.BrokerName, "")},
	}}) {
		return req.NewResponse(code.SystemError, "client "+ss.id+" has no open telemetry stream")
	}
	t := time.NewTimer(verifyTimeout)
	defer t.Stop()
	select {
	case <-ch:
		// ConsumeMessageDirectlyResult in the remoting form (docs/protocol.md §2.2).
		resp := req.NewResponse(code.Success, "")
		resp.Body = []byte(`{"order":false,"autoCommit":true,"consumeResult":"CR_SUCCESS","remark":"verified by the client","spentTimeMills":0}`)
		return resp
	case <-t.C:
		return req.NewResponse(code.SystemError, "client "+ss.id+" did not verify the message within "+verifyTimeout.String())
	}
}

// verified hands a VerifyMessageResult to its waiter.
func (ss *session) verified(nonce string, r *pb.VerifyMessageResult) {
	ss.mu.Lock()
	ch := ss.verifying[nonce]
	ss.mu.Unlock()
	if ch != nil {
		select {
		case ch <- r:
		default:
		}
	}
}
