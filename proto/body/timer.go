package body

// TimerMessage is one pending scheduled message in a TimerMessageList.
type TimerMessage struct {
	// CommitLogOffset is where the scheduled record is stored on its broker.
	CommitLogOffset int64 `json:"commitLogOffset"`
	// Topic and QueueID are where it goes when due (REAL_TOPIC, REAL_QID).
	Topic   string `json:"topic"`
	QueueID int32  `json:"queueId"`
	// MsgID is its UNIQ_KEY: the id its producer got, and what a cancel names.
	MsgID       string `json:"msgId"`
	OffsetMsgID string `json:"offsetMsgId"`
	Tags        string `json:"tags"`
	Keys        string `json:"keys"`
	// StoreTimestamp is when it was stored; DeliverTimestamp when it is due (ms).
	StoreTimestamp   int64 `json:"storeTimestamp"`
	DeliverTimestamp int64 `json:"deliverTimestamp"`
	// DelayLevel is the DELAY level of a delay-level message, 0 for a timer message
	// (only timer messages can be cancelled).
	DelayLevel int32 `json:"delayLevel"`
	BodySize   int32 `json:"bodySize"`
}

// TimerMessageList answers LIST_TIMER_MESSAGES (2102):
//
//	{"brokerName":"broker-a","more":false,"now":1700000000000,"timers":[{"commitLogOffset":4096,
//	 "topic":"Orders","queueId":2,"msgId":"0A00...0001",...,"deliverTimestamp":1700000060000,
//	 "delayLevel":0,"bodySize":5}]}
type TimerMessageList struct {
	// BrokerName is the broker that answered.
	BrokerName string `json:"brokerName"`
	// More reports that pending messages were left out (maxCount, or the scan bound).
	More bool `json:"more"`
	// Now is the broker's time of the answer (ms).
	Now int64 `json:"now"`
	// Timers are the listed messages: timer messages by due time, then delay-level
	// messages by level and queue offset.
	Timers []TimerMessage `json:"timers"`
}

// Encode returns the JSON of l; no messages encode as [].
func (l *TimerMessageList) Encode() []byte {
	p := *l
	if p.Timers == nil {
		p.Timers = []TimerMessage{}
	}
	return encodeJSONValue(p)
}

// DecodeTimerMessageList parses a LIST_TIMER_MESSAGES answer; it is bounded by
// MaxBodyBytes and fails with ErrMalformed on anything but a JSON object.
func DecodeTimerMessageList(b []byte) (*TimerMessageList, error) {
	var l TimerMessageList
	if err := decodeJSONObject(b, &l); err != nil {
		return nil, err
	}
	if l.Timers == nil {
		l.Timers = []TimerMessage{}
	}
	return &l, nil
}
