package broker

import (
	"errors"
	"fmt"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/store"
)

// Classes of refused requests. Handlers return them wrapped by reject, which carries the
// remark the client sees; codeTable maps each class to its response code.
var (
	// errTopicNotExist: the topic has no config here and was not auto-created.
	errTopicNotExist = errors.New("broker: topic not exist")
	// errNoPermission: the topic's perm (or the group's consumeEnable) forbids it, or
	// the topic is reserved for the broker itself.
	errNoPermission = errors.New("broker: no permission")
	// errGroupNotExist: unknown subscription group with auto-create off.
	errGroupNotExist = errors.New("broker: subscription group not exist")
	// errSubscriptionNotLatest: the registered subscription is older than the pull's.
	errSubscriptionNotLatest = errors.New("broker: subscription not latest")
	// errSubscriptionParse: the pull's subscription expression cannot be used.
	errSubscriptionParse = errors.New("broker: subscription parse failed")
	// errMessageIllegal: the message breaks a size or format rule.
	errMessageIllegal = errors.New("broker: message illegal")
	// errBadRequest: a header value is out of range (queue id, queue counts, perm) or a
	// name is invalid; Java answers these SYSTEM_ERROR.
	errBadRequest = errors.New("broker: bad request")
	// errSystemBusy: a bound on held state was reached (parked pulls).
	errSystemBusy = errors.New("broker: system busy")
	// errNotSupported: a feature this broker does not implement yet. It answers
	// SYSTEM_ERROR with a remark naming the feature rather than doing something silently
	// different.
	errNotSupported = errors.New("broker: not supported")
	// errNotAvailable: the broker is shutting down or cannot write.
	errNotAvailable = errors.New("broker: service not available")
	// errNotFound: what an admin request names does not exist (a group without dead
	// letters, no pending timer with that key).
	errNotFound = errors.New("broker: not found")
)

// codeTable is the one mapping from Go errors to response codes. The first entry whose
// error matches (errors.Is) wins; anything unmatched is SYSTEM_ERROR.
var codeTable = []struct {
	err  error
	code int16
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

	// Store errors (PROTOCOL.md §2.3 step 7).
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

// rejection is a refused request: the class a handler refuses it for (one of the
// sentinels above, which codeTable maps to a code) and the remark the client reads.
type rejection struct {
	class  error
	remark string
}

func (r *rejection) Error() string { return r.remark }
func (r *rejection) Unwrap() error { return r.class }

// reject returns an error of class whose remark is the formatted text. The remark is
// what an operator reads in the client's error, so it names the value that was wrong and
// what would be right.
func reject(class error, format string, args ...any) error {
	return &rejection{class: class, remark: fmt.Sprintf(format, args...)}
}

// responseCode returns the response code for err.
func responseCode(err error) int16 {
	for _, e := range codeTable {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return code.SystemError
}

// remarkOf returns the remark for err: a rejection's own text, or the error's text
// (store and header errors already name their package and the offending value).
func remarkOf(err error) string {
	var r *rejection
	if errors.As(err, &r) {
		return r.remark
	}
	return err.Error()
}

// errorResponse answers req with the code and remark the table gives for err.
func errorResponse(req *codec.Command, err error) *codec.Command {
	return req.NewResponse(responseCode(err), remarkOf(err))
}
