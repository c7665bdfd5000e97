package client

import (
	"strconv"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// A pull without an extFields map either way.
//
// A push consumer at low load pulls once per message: each long poll comes back with
// the one message just sent. Built the generic way, every pull made an extFields map of
// eleven entries and their decimal strings for the request, and another map with four
// strings for the answer, which is most of what a consumer allocates per message after
// the message itself, and so most of what sets its garbage collector's pace. The
// request's header is written straight into the frame instead (codec.ExtWriter), and
// the answer's four numbers are read straight out of it (codec.ExtBytesReader), into
// state the queue's pull loop keeps from one pull to the next (pullState).

// pullHeader is PULL_MESSAGE's header (header.PullMessageRequest) written through
// codec.ExtWriter: the same entries as its Encode, in a fixed order (a test holds the
// two equal).
type pullHeader struct{ header.PullMessageRequest }

// WriteExt implements codec.ExtWriter.
func (h *pullHeader) WriteExt(e codec.ExtEncoder) codec.ExtEncoder {
	e.Str("consumerGroup", h.ConsumerGroup)
	e.Str("topic", h.Topic)
	e.Int("queueId", int64(h.QueueID))
	e.Int("queueOffset", h.QueueOffset)
	e.Int("maxMsgNums", int64(h.MaxMsgNums))
	e.Int("sysFlag", int64(h.SysFlag))
	e.Int("commitOffset", h.CommitOffset)
	e.Int("suspendTimeoutMillis", h.SuspendTimeoutMillis)
	e.Str("subscription", h.Subscription) // always sent, even empty (see Encode)
	e.Int("subVersion", h.SubVersion)
	if h.ExpressionType != "" {
		e.Str("expressionType", h.ExpressionType)
	}
	return e
}

// pullAnswer collects the header of a pull's answer as the transport reads it
// (codec.ExtReader): the keys of header.PullMessageResponse, the last occurrence of
// each, as the map decode keeps it. A canonical decimal is parsed on the spot (from a
// binary header without making a string); anything else is kept as text for the
// header's own parser (header), so both ways accept and refuse the same answers.
type pullAnswer struct {
	vals    [numPullAnswerKeys]string
	has     [numPullAnswerKeys]bool
	num     [numPullAnswerKeys]int64
	numeric [numPullAnswerKeys]bool
	// resp is the command a ROCKETMQ binary answer decodes into
	// (codec.ExtCommandReader): the queue's pull loop reads it, and only until its next
	// pull.
	resp codec.Command
}

// The keys of header.PullMessageResponse (PullMessageResponseHeader.java).
const (
	pullSuggest = iota
	pullNext
	pullMin
	pullMax
	numPullAnswerKeys
)

var pullAnswerKeys = [numPullAnswerKeys]string{"suggestWhichBrokerId", "nextBeginOffset", "minOffset", "maxOffset"}

// reset forgets the previous answer.
func (a *pullAnswer) reset() { *a = pullAnswer{} }

// ExtCommand implements codec.ExtCommandReader.
func (a *pullAnswer) ExtCommand() *codec.Command { return &a.resp }

// ReadExt implements codec.ExtReader (a JSON answer, or one too large for the read
// buffer, whose map the transport built).
func (a *pullAnswer) ReadExt(key, value string) { readPullEntry(a, key, value) }

// ReadExtBytes implements codec.ExtBytesReader.
func (a *pullAnswer) ReadExtBytes(key, value []byte) { readPullEntry(a, key, value) }

// readPullEntry keeps one entry of the answer in a; keys a pull answer does not have
// are ignored.
func readPullEntry[T string | []byte](a *pullAnswer, key, value T) {
	for i, k := range pullAnswerKeys {
		if k != string(key) {
			continue
		}
		a.has[i] = true
		if n, ok := canonicalDecimal(value); ok {
			a.num[i], a.numeric[i], a.vals[i] = n, true, ""
		} else {
			a.vals[i], a.numeric[i] = string(value), false
		}
		return
	}
}

// header returns the answer's header. The usual answer (all four keys, canonical
// decimals) is taken as parsed; any other goes through header.PullMessageResponse's
// Decode, with the parsed numbers written back as the text they were.
func (a *pullAnswer) header() (header.PullMessageResponse, error) {
	if a.numeric == [numPullAnswerKeys]bool{true, true, true, true} {
		return header.PullMessageResponse{
			SuggestWhichBrokerID: a.num[pullSuggest],
			NextBeginOffset:      a.num[pullNext],
			MinOffset:            a.num[pullMin],
			MaxOffset:            a.num[pullMax],
		}, nil
	}
	ext := make(map[string]string, numPullAnswerKeys)
	for i, k := range pullAnswerKeys {
		switch {
		case a.numeric[i]:
			ext[k] = strconv.FormatInt(a.num[i], 10)
		case a.has[i]:
			ext[k] = a.vals[i]
		}
	}
	var h header.PullMessageResponse
	err := h.Decode(ext)
	return h, err
}

// pullState is what a queue's pull loop keeps from one pull to the next: the request,
// the transport's call state, the answer's header and the channel the answer comes
// back on, so that a pull allocates none of them. The loop makes one pull at a time and
// waits for its callback before the next (pullEarly), and a request is dead once the
// transport's invoke has returned (its frame is in the connection's write buffer by
// then, or it was refused), so each is reused only when nothing refers to it any more.
type pullState struct {
	req   pullRequest
	call  transport.AsyncCall
	ans   pullAnswer
	done  chan pullOutcome // cap 1: the callback never blocks
	cb    func(*codec.Command, error)
	timer *time.Timer // the pull timeout, reset for each pull
	// The pull in flight, for cb.
	c      *consumerCore
	pq     *processQueue
	sub    *subscription
	offset int64
}

// pullRequest is a pull's command with its header.
type pullRequest struct {
	cmd codec.Command
	h   pullHeader
}

// command returns the PULL_MESSAGE command of h, overwriting the previous one.
func (r *pullRequest) command(h *header.PullMessageRequest) *codec.Command {
	r.h = pullHeader{*h}
	r.cmd = codec.Command{
		Code:     code.PullMessage,
		Language: codec.DefaultLanguage,
		Version:  codec.DefaultVersion,
		Ext:      &r.h,
	}
	return &r.cmd
}
