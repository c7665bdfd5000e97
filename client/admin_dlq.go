package client

import (
	"context"
	"fmt"
	"strconv"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// DLQPage is one read of a consumer group's dead-letter queue on one broker.
type DLQPage struct {
	Messages []*MessageExt
	Next     int64 // the DLQ offset to read from next
	Min, Max int64 // the DLQ's offsets: Max is the offset the next dead letter gets
}

// ListDLQ reads up to maxCount (0: 32, at most 1024) dead letters of group from the
// broker at addr, starting at DLQ offset offset (LIST_DLQ_MESSAGES, a rocketgo
// extension). A group without dead letters there is a *BrokerError with code
// QUERY_NOT_FOUND.
func (a *Admin) ListDLQ(ctx context.Context, addr, group string, offset int64, maxCount int) (*DLQPage, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	h := header.DLQRequest{ConsumerGroup: a.wrap(group), Offset: offset, MaxCount: int32(maxCount)}
	resp, err := a.inst.invoke(ctx, addr, codec.NewRequest(code.ListDLQMessages, h.Encode(), nil))
	if err != nil {
		return nil, fmt.Errorf("list DLQ of %s: %w", group, err)
	}
	if resp.Code != code.Success {
		return nil, fmt.Errorf("list DLQ of %s: %w", group, brokerErr(resp.Code, resp.Remark))
	}
	msgs, err := DecodeMessages(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("list DLQ of %s: %w", group, err)
	}
	page := &DLQPage{Messages: msgs}
	for key, dst := range map[string]*int64{"nextBeginOffset": &page.Next, "minOffset": &page.Min, "maxOffset": &page.Max} {
		if *dst, err = strconv.ParseInt(resp.ExtFields[key], 10, 64); err != nil {
			return nil, fmt.Errorf("list DLQ of %s: %w: %s=%q", group, ErrBadResponse, key, resp.ExtFields[key])
		}
	}
	return page, nil
}

// ResendDLQ sends up to maxCount (0: 1, at most 1024) dead letters of group, from DLQ
// offset offset on the broker at addr, back to the group (RESEND_DLQ_MESSAGES, a
// rocketgo extension): each is re-sent to the group's retry topic with reconsume times
// 0, and its consumers receive it again at once under its original topic. It returns
// how many were resent and the DLQ offset after them. The dead letters stay in the DLQ.
func (a *Admin) ResendDLQ(ctx context.Context, addr, group string, offset int64, maxCount int) (resent int, next int64, err error) {
	if err := a.check(); err != nil {
		return 0, 0, err
	}
	h := header.DLQRequest{ConsumerGroup: a.wrap(group), Offset: offset, MaxCount: int32(maxCount)}
	resp, err := a.inst.invoke(ctx, addr, codec.NewRequest(code.ResendDLQMessages, h.Encode(), nil))
	if err != nil {
		return 0, 0, fmt.Errorf("resend DLQ of %s: %w", group, err)
	}
	if resp.Code != code.Success {
		return 0, 0, fmt.Errorf("resend DLQ of %s: %w", group, brokerErr(resp.Code, resp.Remark))
	}
	n, err1 := strconv.Atoi(resp.ExtFields["resent"])
	next, err2 := strconv.ParseInt(resp.ExtFields["nextBeginOffset"], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("resend DLQ of %s: %w: %v", group, ErrBadResponse, resp.ExtFields)
	}
	return n, next, nil
}

// CancelScheduled cancels the pending timer message of topic whose message id (the
// UNIQ_KEY the producer's SendResult reports) is msgID, on every master serving the
// topic (CANCEL_SCHEDULED_MESSAGE, a rocketgo extension). It returns how many it
// cancelled: 0 when none was pending (already delivered or cancelled, or a
// delay-level message, which cannot be cancelled).
func (a *Admin) CancelScheduled(ctx context.Context, topic, msgID string) (int, error) {
	if err := a.check(); err != nil {
		return 0, err
	}
	r, err := a.TopicRoute(ctx, topic)
	if err != nil {
		return 0, err
	}
	total := 0
	for _, addr := range routeMasters(r) {
		h := header.CancelScheduledRequest{Topic: a.wrap(topic), UniqKey: msgID}
		resp, err := a.inst.invoke(ctx, addr, codec.NewRequest(code.CancelScheduledMessage, h.Encode(), nil))
		if err != nil {
			return total, fmt.Errorf("cancel %s on %s: %w", msgID, addr, err)
		}
		switch resp.Code {
		case code.Success:
			n, err := strconv.Atoi(resp.ExtFields["cancelled"])
			if err != nil {
				return total, fmt.Errorf("cancel %s on %s: %w: cancelled=%q", msgID, addr, ErrBadResponse, resp.ExtFields["cancelled"])
			}
			total += n
		case code.QueryNotFound:
		default:
			return total, fmt.Errorf("cancel %s on %s: %w", msgID, addr, brokerErr(resp.Code, resp.Remark))
		}
	}
	return total, nil
}
