// Package reply builds and delivers PUSH_REPLY_MESSAGE_TO_CLIENT, the push that hands a
// responder's reply to the requesting client (ReplyMessageProcessor.java).
package reply

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// pushTimeout bounds the wait for the requester's answer to
// PUSH_REPLY_MESSAGE_TO_CLIENT. It stays under the replier's default send timeout (3 s),
// so a requester that hangs is reported to the replier before the replier gives up.
const pushTimeout = 2 * time.Second

// PushCommand builds the PUSH_REPLY_MESSAGE_TO_CLIENT of a reply: the send header's
// fields, the queue chosen, the stored properties plus PUSH_REPLY_TIME, and the hosts.
func PushCommand(bornHost, storeHost string, h *header.SendMessageRequest, queueID int32, props string, now int64, body []byte) *codec.Command {
	rh := header.ReplyMessageRequest{
		ProducerGroup:         h.ProducerGroup,
		Topic:                 h.Topic,
		DefaultTopic:          h.DefaultTopic,
		DefaultTopicQueueNums: h.DefaultTopicQueueNums,
		QueueID:               queueID,
		SysFlag:               h.SysFlag,
		BornTimestamp:         h.BornTimestamp,
		Flag:                  h.Flag,
		Properties:            message.SetProperty(props, message.PropPushReplyTime, strconv.FormatInt(now, 10)),
		ReconsumeTimes:        h.ReconsumeTimes,
		UnitMode:              h.UnitMode,
		BornHost:              bornHost,
		StoreHost:             storeHost,
		StoreTimestamp:        now,
	}
	return codec.NewRequest(code.PushReplyMessageToClient, rh.Encode(), body)
}

// Push sends push to the requester and waits for its answer.
func Push(target *server.Conn, requester string, push *codec.Command) error {
	ctx, cancel := context.WithTimeout(context.Background(), pushTimeout)
	defer cancel()
	resp, err := target.Invoke(ctx, push)
	if err != nil {
		return fmt.Errorf("push reply message to <%s> fail: %w", requester, err)
	}
	if resp.Code != code.Success {
		return fmt.Errorf("push reply message to <%s> fail: the client answered code %d: %s", requester, resp.Code, resp.Remark)
	}
	return nil
}
