package client

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// QueryMessageByID finds one message by id. An offset message id (store host +
// commitlog offset) is looked up directly on its store host (VIEW_MESSAGE_BY_ID, 33);
// anything else, or an offset id whose lookup fails, is taken as a client unique id
// (UNIQ_KEY) and queried on every master of topic (QUERY_MESSAGE, 12), which needs the
// topic. Not found fails with a *BrokerError of code QUERY_NOT_FOUND (22).
func (a *Admin) QueryMessageByID(ctx context.Context, topic, id string) (*MessageExt, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	var viewErr error
	if host, off, err := message.ParseOffsetMsgID(id); err == nil {
		m, err := a.viewMessage(ctx, host.String(), off)
		if err == nil && (topic == "" || m.Topic == a.wrap(topic)) {
			m.Topic = a.unwrap(m.Topic)
			m.Queue.Topic = m.Topic
			return m, nil
		}
		viewErr = err
	}
	if topic == "" {
		if viewErr == nil {
			viewErr = fmt.Errorf("%w: %q is not an offset message id; a unique key needs the topic", ErrInvalidOption, id)
		}
		return nil, fmt.Errorf("query message %s: %w", id, viewErr)
	}
	msgs, err := a.queryMessage(ctx, topic, id, true, time.Time{}, time.Time{}, 32)
	if err != nil {
		return nil, fmt.Errorf("query message %s: %w", id, err)
	}
	for _, m := range msgs {
		if m.Property(PropertyUniqKey) == id {
			return m, nil
		}
	}
	return nil, fmt.Errorf("query message %s in %s: %w", id, topic, brokerErr(code.QueryNotFound, "no message with this id"))
}

// viewMessage fetches the record at a commitlog offset of one broker.
func (a *Admin) viewMessage(ctx context.Context, addr string, offset int64) (*MessageExt, error) {
	h := header.ViewMessageRequest{Offset: offset}
	resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.ViewMessageByID, h.Encode(), nil))
	if err != nil {
		return nil, err
	}
	msgs, err := DecodeMessages(resp.Body)
	if err != nil {
		return nil, err
	}
	if len(msgs) == 0 {
		return nil, fmt.Errorf("%w: empty view response", ErrBadResponse)
	}
	return msgs[0], nil
}

// QueryMessageByKey returns the messages of topic whose KEYS include key, stored within
// [begin, end] (zero times mean unbounded), at most maxNum per broker (0 means 32),
// from every master serving the topic (QUERY_MESSAGE, 12), newest first per broker.
// Nothing found is an empty result, not an error.
func (a *Admin) QueryMessageByKey(ctx context.Context, topic, key string, begin, end time.Time, maxNum int) ([]*MessageExt, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	msgs, err := a.queryMessage(ctx, topic, key, false, begin, end, maxNum)
	if err != nil {
		return msgs, fmt.Errorf("query messages of %s by key %s: %w", topic, key, err)
	}
	return msgs, nil
}

// queryMessage runs QUERY_MESSAGE on every master of topic and keeps the messages that
// really carry key (the index is a hash and may return others).
func (a *Admin) queryMessage(ctx context.Context, topic, key string, uniq bool, begin, end time.Time, maxNum int) ([]*MessageExt, error) {
	wrapped := a.wrap(topic)
	r, err := a.inst.fetchRoute(ctx, wrapped)
	if err != nil {
		return nil, err
	}
	if maxNum <= 0 {
		maxNum = 32
	}
	h := header.QueryMessageRequest{
		Topic:          wrapped,
		Key:            key,
		MaxNum:         int32(min(maxNum, math.MaxInt32)),
		BeginTimestamp: 0,
		EndTimestamp:   math.MaxInt64,
	}
	if !begin.IsZero() {
		h.BeginTimestamp = begin.UnixMilli()
	}
	if !end.IsZero() {
		h.EndTimestamp = end.UnixMilli()
	}
	var (
		mu  sync.Mutex
		out []*MessageExt
	)
	err = a.eachBroker(ctx, routeMasters(r), func(ctx context.Context, addr string) error {
		ext := h.Encode()
		if uniq {
			ext["_UNIQUE_KEY_QUERY"] = "true"
		}
		resp, err := a.inst.invoke(ctx, addr, codec.NewRequest(code.QueryMessage, ext, nil))
		if err != nil {
			return err
		}
		switch resp.Code {
		case code.Success:
		case code.QueryNotFound:
			return nil
		default:
			return brokerErr(resp.Code, resp.Remark)
		}
		msgs, err := DecodeMessages(resp.Body)
		mu.Lock()
		defer mu.Unlock()
		for _, m := range msgs {
			match := m.Property(PropertyUniqKey) == key
			if !uniq {
				match = slices.Contains(m.Keys(), key)
			}
			if match && m.Topic == wrapped {
				m.Topic = a.unwrap(m.Topic)
				m.Queue.Topic = m.Topic
				out = append(out, m)
			}
		}
		return err
	}, "query message")
	return out, err
}
