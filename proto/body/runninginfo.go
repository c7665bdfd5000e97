package body

import (
	"encoding/json"
	"fmt"
)

// ProcessQueueInfo is one queue's state in a ConsumerRunningInfo (ProcessQueueInfo.java).
// Java names the dropped flag "droped"; the official Go client "dropped": both decode.
type ProcessQueueInfo struct {
	CommitOffset            int64 `json:"commitOffset"`
	CachedMsgMinOffset      int64 `json:"cachedMsgMinOffset"`
	CachedMsgMaxOffset      int64 `json:"cachedMsgMaxOffset"`
	CachedMsgCount          int64 `json:"cachedMsgCount"`
	CachedMsgSizeInMiB      int64 `json:"cachedMsgSizeInMiB"`
	TransactionMsgMinOffset int64 `json:"transactionMsgMinOffset"`
	TransactionMsgMaxOffset int64 `json:"transactionMsgMaxOffset"`
	TransactionMsgCount     int64 `json:"transactionMsgCount"`
	Locked                  bool  `json:"locked"`
	TryUnlockTimes          int64 `json:"tryUnlockTimes"`
	LastLockTimestamp       int64 `json:"lastLockTimestamp"`
	Droped                  bool  `json:"droped"`
	Dropped                 bool  `json:"dropped"`
	LastPullTimestamp       int64 `json:"lastPullTimestamp"`
	LastConsumeTimestamp    int64 `json:"lastConsumeTimestamp"`
}

// ConsumeStatus is one topic's rates in a ConsumerRunningInfo (ConsumeStatus.java).
type ConsumeStatus struct {
	PullRT            float64 `json:"pullRT"`
	PullTPS           float64 `json:"pullTPS"`
	ConsumeRT         float64 `json:"consumeRT"`
	ConsumeOKTPS      float64 `json:"consumeOKTPS"`
	ConsumeFailedTPS  float64 `json:"consumeFailedTPS"`
	ConsumeFailedMsgs int64   `json:"consumeFailedMsgs"`
}

// ConsumerRunningInfo is a consumer's answer to GET_CONSUMER_RUNNING_INFO (307) —
// ConsumerRunningInfo.java: its settings, subscriptions, per-queue state (mqTable, keyed
// by MessageQueue objects as fastjson writes them) and per-topic rates.
type ConsumerRunningInfo struct {
	Properties      map[string]string
	SubscriptionSet []SubscriptionData
	MQTable         map[MessageQueue]ProcessQueueInfo
	StatusTable     map[string]ConsumeStatus
	Jstack          string
}

// DecodeConsumerRunningInfo parses a ConsumerRunningInfo body as Java, the official Go
// client and rocketgo's SDK write it. Property values that are not strings are kept as
// their JSON text.
func DecodeConsumerRunningInfo(b []byte) (*ConsumerRunningInfo, error) {
	c := &ConsumerRunningInfo{Properties: map[string]string{}, MQTable: map[MessageQueue]ProcessQueueInfo{}, StatusTable: map[string]ConsumeStatus{}}
	err := decodeAdminObject(b, func(name string, val []byte) error {
		switch name {
		case "properties":
			var raw map[string]json.RawMessage
			if err := json.Unmarshal(val, &raw); err != nil {
				return err
			}
			for k, v := range raw {
				var s string
				if json.Unmarshal(v, &s) != nil {
					s = string(v)
				}
				c.Properties[k] = s
			}
		case "subscriptionSet":
			return json.Unmarshal(val, &c.SubscriptionSet)
		case "statusTable":
			return json.Unmarshal(val, &c.StatusTable)
		case "jstack":
			return json.Unmarshal(val, &c.Jstack)
		case "mqTable":
			return decodeMQTable(val, func(q MessageQueue, raw []byte) error {
				var p ProcessQueueInfo
				if err := json.Unmarshal(raw, &p); err != nil {
					return fmt.Errorf("%s: %v", q, err)
				}
				p.Droped = p.Droped || p.Dropped
				c.MQTable[q] = p
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}
