// Package refusal holds the classes of requests the broker refuses and the error that
// carries a refusal's remark. The broker's response table (broker/respond.go) maps each
// class to its RocketMQ response code; the sub-packages return these errors so that a
// refusal reads the same wherever it is decided.
package refusal

import (
	"errors"
	"fmt"
)

// Classes of refused requests. New wraps one with the remark the client sees.
var (
	// TopicNotExist: the topic has no config here and was not auto-created.
	TopicNotExist = errors.New("broker: topic not exist")
	// NoPermission: the topic's perm (or the group's consumeEnable) forbids it, or the
	// topic is reserved for the broker itself.
	NoPermission = errors.New("broker: no permission")
	// GroupNotExist: unknown subscription group with auto-create off.
	GroupNotExist = errors.New("broker: subscription group not exist")
	// SubscriptionNotLatest: the registered subscription is older than the pull's.
	SubscriptionNotLatest = errors.New("broker: subscription not latest")
	// SubscriptionParse: the pull's subscription expression cannot be used.
	SubscriptionParse = errors.New("broker: subscription parse failed")
	// MessageIllegal: the message breaks a size or format rule.
	MessageIllegal = errors.New("broker: message illegal")
	// BadRequest: a header value is out of range (queue id, queue counts, perm) or a
	// name is invalid; Java answers these SYSTEM_ERROR.
	BadRequest = errors.New("broker: bad request")
	// SystemBusy: a bound on held state was reached (parked pulls).
	SystemBusy = errors.New("broker: system busy")
	// NotSupported: a feature this broker does not implement yet. It answers
	// SYSTEM_ERROR with a remark naming the feature rather than doing something silently
	// different.
	NotSupported = errors.New("broker: not supported")
	// NotAvailable: the broker is shutting down or cannot write.
	NotAvailable = errors.New("broker: service not available")
	// NotFound: what an admin request names does not exist (a group without dead
	// letters, no pending timer with that key).
	NotFound = errors.New("broker: not found")
)

// Rejection is a refused request: the class it is refused for (one of the sentinels
// above) and the remark the client reads.
type Rejection struct {
	class  error
	remark string
}

func (r *Rejection) Error() string { return r.remark }
func (r *Rejection) Unwrap() error { return r.class }

// New returns an error of class whose remark is the formatted text. The remark is what
// an operator reads in the client's error, so it names the value that was wrong and what
// would be right.
func New(class error, format string, args ...any) error {
	return &Rejection{class: class, remark: fmt.Sprintf(format, args...)}
}

// Remark returns the remark for err: a rejection's own text, or the error's text (store
// and header errors already name their package and the offending value).
func Remark(err error) string {
	var r *Rejection
	if errors.As(err, &r) {
		return r.remark
	}
	return err.Error()
}
