package txnsvc

import (
	"strings"

	"github.com/rocketgo/rocketgo/broker/internal/refusal"
	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
)

// TranMsgTrue reports TRAN_MSG=true, case-insensitively as Java's Boolean.parseBoolean.
func TranMsgTrue(props string) bool {
	v, ok := message.PropertyOf([]byte(props), message.PropTranMsg)
	return ok && strings.EqualFold(v, "true")
}

// CheckHalfSend refuses transactional sends that cannot be half messages: batches
// (as Java's CommitLog does), a prepared sysflag without TRAN_MSG=true (it would be
// stored and never resolved), committed or rolled back sysflags (only END_TRANSACTION
// writes those), and retry topics.
func CheckHalfSend(reqCode int32, h *header.SendMessageRequestV2) error {
	switch tt := message.TxType(h.SysFlag); {
	case reqCode == code.SendBatchMessage || h.Batch:
		return refusal.New(refusal.MessageIllegal, "a batch cannot hold transactional messages (topic %s); send them one by one", h.Topic)
	case tt == message.TxCommitType || tt == message.TxRollbackType:
		return refusal.New(refusal.MessageIllegal, "sysFlag %d marks a committed or rolled back message; a producer sends half messages (sysFlag 4, TRAN_MSG=true) and resolves them with END_TRANSACTION (37)", h.SysFlag)
	case !TranMsgTrue(h.Properties):
		return refusal.New(refusal.MessageIllegal, "sysFlag %d marks a half message but property TRAN_MSG is not true (topic %s)", h.SysFlag, h.Topic)
	case strings.HasPrefix(h.Topic, meta.RetryGroupTopicPrefix) || strings.HasPrefix(h.Topic, meta.DLQGroupTopicPrefix):
		return refusal.New(refusal.MessageIllegal, "a transactional message cannot go to %s", h.Topic)
	}
	return nil
}

// Undelayable names a delay or timer property of props, which a transactional message
// must not have: its delivery time is its commit.
func Undelayable(props string) string {
	for _, k := range []string{message.PropDelay, message.PropTimerDeliverMS, message.PropTimerDelaySec, message.PropTimerDelayMS} {
		if v, ok := message.PropertyOf([]byte(props), k); ok && !(k == message.PropDelay && v == "0") {
			return k + "=" + v
		}
	}
	return ""
}
