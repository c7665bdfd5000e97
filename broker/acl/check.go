package acl

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/rocketgo/rocketgo/proto/acl"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
)

// The ACL administration request codes (RequestCode.java).
const (
	UpdateAndCreateACLConfig     int32 = 50 // UPDATE_AND_CREATE_ACL_CONFIG
	DeleteACLConfig              int32 = 51 // DELETE_ACL_CONFIG
	GetBrokerClusterACLInfo      int32 = 52 // GET_BROKER_CLUSTER_ACL_INFO
	UpdateGlobalWhiteAddrsConfig int32 = 53 // UPDATE_GLOBAL_WHITE_ADDRS_CONFIG
	GetBrokerClusterACLConfig    int32 = 54 // GET_BROKER_CLUSTER_ACL_CONFIG
)

// adminCodes need an account with admin: true: Apache's Permission.ADMIN_CODE, the ACL
// changes, and rocketgo's own administrative writes.
var adminCodes = map[int32]bool{
	code.UpdateAndCreateTopic:      true,
	code.UpdateBrokerConfig:        true,
	code.DeleteTopicInBroker:       true,
	code.UpdateAndCreateSubGroup:   true,
	code.DeleteSubscriptionGroup:   true,
	code.InvokeBrokerToResetOffset: true,
	code.CloneGroupOffset:          true,
	code.CleanExpiredConsumeQueue:  true,
	code.CleanUnusedTopic:          true,
	UpdateAndCreateACLConfig:       true,
	DeleteACLConfig:                true,
	GetBrokerClusterACLInfo:        true,
	UpdateGlobalWhiteAddrsConfig:   true,
	GetBrokerClusterACLConfig:      true, // its answer holds every secret key
	code.ResolvePendingTransaction: true,
	code.ResendDLQMessages:         true,
	code.CancelScheduledMessage:    true,
}

// Refusal is a request the rules refuse; Remark is the text for the NO_PERMISSION
// response. It names the access key, the request or resource and the missing
// permission, never a secret.
type Refusal struct{ Remark string }

func (r *Refusal) Error() string { return r.Remark }

func refuse(format string, args ...any) *Refusal {
	return &Refusal{Remark: "ACL: " + fmt.Sprintf(format, args...)}
}

// need is one resource a request touches and the permission it takes.
type need struct {
	res  string // a topic, or retryPrefix+group
	perm Perm
}

// Check decides one request from the client at ip as PlainPermissionManager.validate
// does: a globally white-listed address passes; otherwise the AccessKey must be known;
// an account's white-listed address passes; otherwise the signature must match and
// the account must hold every permission the request needs. It returns nil to admit.
func (r *Rules) Check(reqCode int32, ext map[string]string, reqBody []byte, ip netip.Addr) *Refusal {
	ip = ip.Unmap()
	for _, m := range r.global {
		if m.match(ip) {
			return nil
		}
	}
	ak := ext[acl.AccessKey]
	if ak == "" {
		return refuse("no AccessKey in request code %d from %s, and the address is not white-listed", reqCode, ip)
	}
	acc := r.accounts[ak]
	if acc == nil {
		return refuse("no account for accessKey=%s", ak)
	}
	if acc.white.match(ip) {
		return nil
	}
	if !acl.Verify(ext, reqBody, acc.secretKey, ext[acl.Signature]) {
		return refuse("signature check failed for accessKey=%s", ak)
	}
	if adminCodes[reqCode] && !acc.admin {
		return refuse("request code %d needs an admin account, accessKey=%s is not admin", reqCode, ak)
	}
	var buf [4]need
	needs, bad := resources(buf[:0], reqCode, ext, reqBody)
	if bad != "" {
		return refuse("accessKey=%s: %s", ak, bad)
	}
	if acc.perms == nil && acc.admin {
		return nil
	}
	for _, n := range needs {
		owned, ok := acc.perms[n.res]
		group, isGroup := strings.CutPrefix(n.res, retryPrefix)
		if !ok {
			owned = acc.defTopic
			if isGroup {
				owned = acc.defGroup
			}
		}
		if allows(n.perm, owned) {
			continue
		}
		kind, name := "topic", n.res
		if isGroup {
			kind, name = "group", group
		}
		return refuse("accessKey=%s has no %s permission on %s=%s (owns %s)", ak, n.perm, kind, name, owned)
	}
	return nil
}

// resources lists what a request touches, as PlainAccessValidator.parse maps request
// codes, plus the offset, lock and transaction codes. bad is non-empty when a body it
// must read does not decode.
func resources(dst []need, reqCode int32, ext map[string]string, b []byte) (_ []need, bad string) {
	add := func(res string, p Perm) {
		if res != "" {
			dst = append(dst, need{res, p})
		}
	}
	group := func(g string) string {
		if g == "" {
			return ""
		}
		return retryPrefix + g
	}
	switch reqCode {
	case code.SendMessage, code.SendReplyMessage:
		add(ext["topic"], Pub)
	case code.SendMessageV2, code.SendBatchMessage, code.SendReplyMessageV2:
		add(ext["b"], Pub)
		if ext["b"] == "" {
			add(ext["topic"], Pub)
		}
	case code.ConsumerSendMsgBack:
		add(ext["originTopic"], Pub)
		add(group(ext["group"]), Sub)
	case code.PullMessage, code.UpdateConsumerOffset, code.QueryConsumerOffset,
		code.PopMessage, code.AckMessage, code.ChangeMessageInvisibleTime:
		add(ext["topic"], Sub)
		add(group(ext["consumerGroup"]), Sub)
	case code.QueryMessage:
		add(ext["topic"], Sub)
	case code.BatchAckMessage:
		ba, err := body.DecodeBatchAckMessageRequest(b)
		if err != nil {
			return dst, "batch ack body does not decode"
		}
		for _, a := range ba.Acks {
			add(a.Topic, Sub)
			add(group(a.ConsumerGroup), Sub)
		}
	case code.UnregisterClient, code.GetConsumerListByGroup:
		add(group(ext["consumerGroup"]), Sub)
	case code.EndTransaction:
		add(ext["topic"], Pub)
	case code.HeartBeat:
		hb, err := body.DecodeHeartbeat(b)
		if err != nil {
			return dst, "heartbeat body does not decode"
		}
		for _, c := range hb.ConsumerDataSet {
			add(group(c.GroupName), Sub)
			for _, s := range c.SubscriptionDataSet {
				add(s.Topic, Sub)
			}
		}
	case code.LockBatchMQ, code.UnlockBatchMQ:
		lb, err := body.DecodeLockBatchRequest(b)
		if err != nil {
			return dst, "lock body does not decode"
		}
		add(group(lb.ConsumerGroup), Sub)
		for _, q := range lb.MQSet {
			add(q.Topic, Sub)
		}
	}
	return dst, ""
}
