package client

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// TimerMessage is a scheduled message a broker holds until it is due: a timer message
// (TIMER_DELIVER_MS, TIMER_DELAY_SEC, TIMER_DELAY_MS) or a delay-level one (DELAY).
type TimerMessage struct {
	BrokerAddr string `json:"brokerAddr"` // the broker holding it
	BrokerName string `json:"brokerName"`
	// CommitLogOffset is where the scheduled record is stored on its broker.
	CommitLogOffset int64 `json:"commitLogOffset"`
	// MessageQueue is where it goes when due (topic without namespace).
	MessageQueue MessageQueue `json:"messageQueue"`
	// MsgID is the id its producer got (UNIQ_KEY): CancelScheduled takes it.
	MsgID       string    `json:"msgId"`
	OffsetMsgID string    `json:"offsetMsgId"`
	Tags        string    `json:"tags"`
	Keys        string    `json:"keys"`
	Stored      time.Time `json:"stored"`
	Due         time.Time `json:"due"`
	// DelayLevel is the DELAY level, 0 for a timer message. Only timer messages can be
	// cancelled.
	DelayLevel int `json:"delayLevel"`
	BodySize   int `json:"bodySize"`
}

// ListTimers lists the pending scheduled messages for topic (every topic when "") on
// every broker of target, at most limit per broker (0: the broker's default of 1000),
// ordered by due time. more reports that a broker left some out. It uses the rocketgo
// extension request LIST_TIMER_MESSAGES (2102); an Apache RocketMQ broker answers it
// REQUEST_CODE_NOT_SUPPORTED, reported as an error wrapping ErrNotSupported.
func (a *Admin) ListTimers(ctx context.Context, topic string, limit int32, target Target) (ts []TimerMessage, more bool, err error) {
	if err := a.check(); err != nil {
		return nil, false, err
	}
	addrs, err := a.targetAddrs(ctx, target)
	if err != nil {
		return nil, false, err
	}
	if topic != "" {
		topic = a.wrap(topic)
	}
	var mu sync.Mutex
	err = a.eachBroker(ctx, addrs, func(ctx context.Context, addr string) error {
		req := header.ListTimerMessagesRequest{Topic: topic, MaxCount: limit}
		resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.ListTimerMessages, req.Encode(), nil))
		if err != nil {
			return err
		}
		l, err := body.DecodeTimerMessageList(resp.Body)
		if err != nil {
			return fmt.Errorf("%w: timer messages: %w", ErrBadResponse, err)
		}
		mu.Lock()
		defer mu.Unlock()
		more = more || l.More
		for _, t := range l.Timers {
			ts = append(ts, TimerMessage{
				BrokerAddr: addr, BrokerName: l.BrokerName, CommitLogOffset: t.CommitLogOffset,
				MessageQueue: MessageQueue{Topic: a.unwrap(t.Topic), BrokerName: l.BrokerName, QueueID: t.QueueID},
				MsgID:        t.MsgID, OffsetMsgID: t.OffsetMsgID, Tags: t.Tags, Keys: t.Keys,
				Stored: time.UnixMilli(t.StoreTimestamp), Due: time.UnixMilli(t.DeliverTimestamp),
				DelayLevel: int(t.DelayLevel), BodySize: int(t.BodySize),
			})
		}
		return nil
	}, "list timer messages")
	slices.SortFunc(ts, func(x, y TimerMessage) int {
		if c := x.Due.Compare(y.Due); c != 0 {
			return c
		}
		if c := cmp.Compare(x.BrokerAddr, y.BrokerAddr); c != 0 {
			return c
		}
		return cmp.Compare(x.CommitLogOffset, y.CommitLogOffset)
	})
	return ts, more, err
}
