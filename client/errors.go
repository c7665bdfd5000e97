package client

import (
	"errors"
	"fmt"

	"github.com/rocketgo/rocketgo/proto/code"
)

// Sentinel errors of the package. Errors returned by the client wrap them (and, for
// broker answers, a *BrokerError), so callers test them with errors.Is and errors.As.
var (
	// ErrNotStarted is returned by calls made before Start or after Shutdown.
	ErrNotStarted = errors.New("client: not started")
	// ErrClosed is returned by calls made after Shutdown or Close.
	ErrClosed = errors.New("client: closed")
	// ErrNoNameServer is returned when no NameServer address is configured.
	ErrNoNameServer = errors.New("client: no name server address")
	// ErrTopicNotExist is returned when the NameServer has no route for a topic.
	ErrTopicNotExist = errors.New("client: topic does not exist")
	// ErrNoRoute is returned when a topic's route has no queue usable for the
	// operation (no writable queue with a live master for sending, no readable queue
	// for consuming).
	ErrNoRoute = errors.New("client: no usable route")
	// ErrBrokerNotFound is returned when no address is known for a broker name.
	ErrBrokerNotFound = errors.New("client: broker not found")
	// ErrInvalidMessage is returned for a message the broker would reject anyway: no
	// topic, an empty body, a body above the size limit, a batch mixing topics.
	ErrInvalidMessage = errors.New("client: invalid message")
	// ErrBatchTooLarge is returned when a batch's encoded size exceeds the producer's
	// limit (MaxMessageBytes, 4 MiB by default).
	ErrBatchTooLarge = errors.New("client: batch too large")
	// ErrNotSupported marks an operation the client or the broker does not implement.
	ErrNotSupported = errors.New("client: not supported")
	// ErrBadResponse is returned when a broker or NameServer answer cannot be decoded.
	ErrBadResponse = errors.New("client: bad response")
)

// BrokerError is a non-success answer of a broker or NameServer: the RocketMQ response
// code and its remark. It is wrapped with the operation and address that got it.
type BrokerError struct {
	Code   int32  // response code (proto/code), e.g. 17 TOPIC_NOT_EXIST
	Remark string // the server's explanation, possibly empty
}

// Error implements error.
func (e *BrokerError) Error() string {
	if e.Remark == "" {
		return fmt.Sprintf("response code %d", e.Code)
	}
	return fmt.Sprintf("response code %d: %s", e.Code, e.Remark)
}

// Is lets errors.Is(err, ErrTopicNotExist) match a TOPIC_NOT_EXIST answer.
func (e *BrokerError) Is(target error) bool {
	switch target {
	case ErrTopicNotExist:
		return e.Code == code.TopicNotExist
	case ErrNotSupported:
		return e.Code == code.RequestCodeNotSupported
	}
	return false
}

// CodeOf returns the response code carried by err (through any wrapping) and whether
// there was one.
func CodeOf(err error) (int32, bool) {
	var be *BrokerError
	if errors.As(err, &be) {
		return be.Code, true
	}
	return 0, false
}

// brokerErr builds the error of a non-success response.
func brokerErr(c int32, remark string) error {
	return &BrokerError{Code: c, Remark: remark}
}

// ErrInvalidOption is returned by constructors and Start for options that cannot work
// together or a client that clashes with one already running.
var ErrInvalidOption = errors.New("client: invalid option")
