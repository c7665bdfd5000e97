package broker

import (
	"errors"

	"github.com/rocketgo/rocketgo/broker/internal/refusal"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/store"
)

// The classes of refused requests (broker/internal/refusal), under the short names the
// handlers use.
var (
	errTopicNotExist         = refusal.TopicNotExist
	errNoPermission          = refusal.NoPermission
	errGroupNotExist         = refusal.GroupNotExist
	errSubscriptionNotLatest = refusal.SubscriptionNotLatest
	errSubscriptionParse     = refusal.SubscriptionParse
	errMessageIllegal        = refusal.MessageIllegal
	errBadRequest            = refusal.BadRequest
	errSystemBusy            = refusal.SystemBusy
	errNotSupported          = refusal.NotSupported
	errNotAvailable          = refusal.NotAvailable
	errNotFound              = refusal.NotFound
)

// codeTable is the one mapping from Go errors to response codes. The first entry whose
// error matches (errors.Is) wins; anything unmatched is SYSTEM_ERROR.
var codeTable = []struct {
	err  error
	code int32
}{
	{errTopicNotExist, code.TopicNotExist},
	{errNoPermission, code.NoPermission},
	{errGroupNotExist, code.SubscriptionGroupNotExist},
	{errSubscriptionNotLatest, code.SubscriptionNotLatest},
	{errSubscriptionParse, code.SubscriptionParseFailed},
	{errMessageIllegal, code.MessageIllegal},
	{errBadRequest, code.SystemError},
	{errSystemBusy, code.SystemBusy},
	{errNotSupported, code.SystemError},
	{errNotAvailable, code.ServiceNotAvailable},
	{errNotFound, code.QueryNotFound},

	// Store errors (docs/protocol.md §2.3 step 7).
	{store.ErrMessageTooLarge, code.MessageIllegal},
	{store.ErrPropertiesTooLarge, code.MessageIllegal},
	{store.ErrInvalidRecord, code.MessageIllegal},
	{store.ErrDiskFull, code.ServiceNotAvailable},
	{store.ErrClosed, code.ServiceNotAvailable},
	{store.ErrFlushTimeout, code.FlushDiskTimeout},
	// SYNC_MASTER outcomes (role.go): stored on the master, counted as sent.
	{errSlaveNotAvailable, code.SlaveNotAvailable},
	{errSlaveTimeout, code.FlushSlaveTimeout},
	{errReplicationClosed, code.FlushSlaveTimeout},
	{errInSyncReplicasNotEnough, code.SystemError}, // controlled.go
	{store.ErrWriteFailed, code.SystemError},

	// Record and batch encoding refusals.
	{message.ErrTopicTooLong, code.MessageIllegal},
	{message.ErrPropertiesTooLong, code.MessageIllegal},
	{message.ErrTooLarge, code.MessageIllegal},
	{message.ErrBadBatch, code.MessageIllegal},

	// A header that lacks a required key or holds a malformed number: Java's
	// RemotingCommandException, answered SYSTEM_ERROR.
	{header.ErrMissingKey, code.SystemError},
	{header.ErrBadValue, code.SystemError},
}

// reject returns an error of class whose remark is the formatted text.
func reject(class error, format string, args ...any) error {
	return refusal.New(class, format, args...)
}

// responseCode returns the response code for err.
func responseCode(err error) int32 {
	for _, e := range codeTable {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return code.SystemError
}

// remarkOf returns the remark for err (refusal.Remark).
func remarkOf(err error) string { return refusal.Remark(err) }

// errorResponse answers req with the code and remark the table gives for err.
func errorResponse(req *codec.Command, err error) *codec.Command {
	return req.NewResponse(responseCode(err), remarkOf(err))
}
