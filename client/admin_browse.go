package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// browseGroup is the consumer group browsing pulls with, as RocketMQ's tools do
// (MixAll.TOOLS_CONSUMER_GROUP). It never commits an offset.
const browseGroup = "TOOLS_CONSUMER"

// browseBatch is the most messages one browsing pull asks for.
const browseBatch = 32

// BrowseMessages returns the messages of topic stored within [begin, end] (inclusive,
// by store time), newest first, at most maxNum (at least 1). truncated reports that
// the range held more. It reads every queue of every master as rocketmq-dashboard's
// topic browse does: from the offset SEARCH_OFFSET_BY_TIMESTAMP gives for begin to the
// one it gives for end, with plain pulls of group TOOLS_CONSUMER that commit nothing.
// Only the newest maxNum of each queue's range are read, which is enough to give the
// newest maxNum of the whole range.
func (a *Admin) BrowseMessages(ctx context.Context, topic string, begin, end time.Time, maxNum int) (msgs []*MessageExt, truncated bool, err error) {
	if err := a.check(); err != nil {
		return nil, false, err
	}
	if end.Before(begin) {
		return nil, false, fmt.Errorf("%w: browse %s: end %s is before begin %s", ErrInvalidOption, topic, end, begin)
	}
	maxNum = max(maxNum, 1)
	wrapped := a.wrap(topic)
	r, err := a.inst.fetchRoute(ctx, wrapped)
	if err != nil {
		return nil, false, fmt.Errorf("browse %s: %w", topic, err)
	}
	masters := make(map[string]string, len(r.BrokerDatas))
	for _, b := range r.BrokerDatas {
		masters[b.BrokerName] = b.BrokerAddrs[0]
	}
	var errs []error
	for _, mq := range newRouteEntry(wrapped, r, "", time.Time{}).sub {
		ms, more, err := a.browseQueue(ctx, masters[mq.BrokerName], mq, begin, end, maxNum)
		if err != nil {
			errs = append(errs, fmt.Errorf("browse %s: %w", mq, err))
			continue
		}
		truncated = truncated || more
		for _, m := range ms {
			m.Topic, m.Queue.Topic = a.unwrap(m.Topic), topic
		}
		msgs = append(msgs, ms...)
	}
	slices.SortFunc(msgs, func(x, y *MessageExt) int {
		if c := cmp.Compare(y.StoreTimestamp, x.StoreTimestamp); c != 0 {
			return c
		}
		return cmp.Compare(y.CommitLogOffset, x.CommitLogOffset)
	})
	if len(msgs) > maxNum {
		msgs, truncated = msgs[:maxNum], true
	}
	return msgs, truncated, errors.Join(errs...)
}

// browseQueue reads the messages of one queue stored within [begin, end]: at most
// maxNum, the newest.
func (a *Admin) browseQueue(ctx context.Context, addr string, mq MessageQueue, begin, end time.Time, maxNum int) ([]*MessageExt, bool, error) {
	if addr == "" {
		return nil, false, fmt.Errorf("%w: %s has no master", ErrBrokerNotFound, mq.BrokerName)
	}
	from, err := a.searchOffset(ctx, addr, mq, begin)
	if err != nil {
		return nil, false, err
	}
	// The first message stored after end bounds the range.
	to, err := a.searchOffset(ctx, addr, mq, end.Add(time.Millisecond))
	if err != nil {
		return nil, false, err
	}
	more := false
	if to-from > int64(maxNum) {
		from, more = to-int64(maxNum), true
	}
	var out []*MessageExt
	for off := from; off < to; {
		h := header.PullMessageRequest{
			ConsumerGroup: browseGroup, Topic: mq.Topic, QueueID: mq.QueueID, QueueOffset: off,
			MaxMsgNums: int32(min(int64(browseBatch), to-off)), SysFlag: header.PullSubscription,
			Subscription: "*", ExpressionType: ExpressionTag,
		}
		resp, err := a.inst.invoke(ctx, addr, codec.NewRequest(code.PullMessage, h.Encode(), nil))
		if err != nil {
			return out, more, err
		}
		var rh header.PullMessageResponse
		if resp.Code == code.Success || resp.Code == code.PullOffsetMoved || resp.Code == code.PullRetryImmediately {
			if err := rh.Decode(resp.ExtFields); err != nil {
				return out, more, fmt.Errorf("%w: %w", ErrBadResponse, err)
			}
		}
		switch resp.Code {
		case code.Success:
		case code.PullNotFound:
			return out, more, nil
		case code.PullOffsetMoved, code.PullRetryImmediately:
			if rh.NextBeginOffset <= off {
				return out, more, nil
			}
			off = rh.NextBeginOffset
			continue
		default:
			return out, more, brokerErr(resp.Code, resp.Remark)
		}
		ms, err := DecodeMessages(resp.Body)
		if err != nil {
			return out, more, err
		}
		for _, m := range ms {
			if m.QueueOffset >= to {
				break
			}
			if st := time.UnixMilli(m.StoreTimestamp); !st.Before(begin.Truncate(time.Millisecond)) && !st.After(end) {
				m.Queue = mq
				out = append(out, m)
			}
		}
		if rh.NextBeginOffset <= off {
			return out, more, nil
		}
		off = rh.NextBeginOffset
	}
	return out, more, nil
}

// searchOffset asks the master at addr for the offset of the first message of mq
// stored at or after ts (SEARCH_OFFSET_BY_TIMESTAMP).
func (a *Admin) searchOffset(ctx context.Context, addr string, mq MessageQueue, ts time.Time) (int64, error) {
	sh := header.SearchOffsetRequest{Topic: mq.Topic, QueueID: mq.QueueID, Timestamp: ts.UnixMilli()}
	resp, err := a.inst.invoke(ctx, addr, codec.NewRequest(code.SearchOffsetByTimestamp, sh.Encode(), nil))
	if err != nil {
		return 0, err
	}
	if resp.Code != code.Success {
		return 0, brokerErr(resp.Code, resp.Remark)
	}
	var oh header.OffsetResponse
	if err := oh.Decode(resp.ExtFields); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrBadResponse, err)
	}
	return oh.Offset, nil
}
