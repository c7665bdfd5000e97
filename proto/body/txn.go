package body

// PendingTransaction is one unresolved half message in the answer to the rocketgo
// extension LIST_PENDING_TRANSACTIONS (2100). Fields are in alphabetical order, as
// the other bodies are.
type PendingTransaction struct {
	// AgeMillis is how long ago the half message was stored, by the broker's clock.
	AgeMillis int64 `json:"ageMillis"`
	// CheckTimes is how many CHECK_TRANSACTION_STATE requests were sent for it.
	CheckTimes int `json:"checkTimes"`
	// CommitLogOffset is the half message's physical offset: END_TRANSACTION's
	// commitLogOffset, and the key RESOLVE_PENDING_TRANSACTION (2101) takes.
	CommitLogOffset int64 `json:"commitLogOffset"`
	// LastCheckTimestamp is when the last check-back was sent (ms), 0 if none was.
	LastCheckTimestamp int64 `json:"lastCheckTimestamp"`
	// MsgID is the message's UNIQ_KEY (the transaction id the producer saw).
	MsgID string `json:"msgId"`
	// OffsetMsgID is the broker's id of the half message (store host + offset).
	OffsetMsgID string `json:"offsetMsgId"`
	// ProducerGroup is the group that is asked the transaction's outcome.
	ProducerGroup string `json:"producerGroup"`
	// QueueID and Topic are where the message goes once committed.
	QueueID int32  `json:"queueId"`
	Topic   string `json:"topic"`
	// StoreTimestamp is when the half message was stored (ms).
	StoreTimestamp int64 `json:"storeTimestamp"`
	// TranStateTableOffset is the half message's offset in the half queue.
	TranStateTableOffset int64 `json:"tranStateTableOffset"`
}

// PendingTransactionList answers LIST_PENDING_TRANSACTIONS (2100):
//
//	{"brokerName":"broker-a","now":1700000000000,"total":1,"transactions":[{"ageMillis":1200,
//	 "checkTimes":1,"commitLogOffset":4096,...,"tranStateTableOffset":3}]}
type PendingTransactionList struct {
	// BrokerName is the broker that answered.
	BrokerName string `json:"brokerName"`
	// Now is the broker's time of the answer (ms).
	Now int64 `json:"now"`
	// Total counts every unresolved half message that matched, listed or not.
	Total int `json:"total"`
	// Transactions are the listed ones, oldest first.
	Transactions []PendingTransaction `json:"transactions"`
}

// Encode returns the JSON of l; no transactions encode as [].
func (l *PendingTransactionList) Encode() []byte {
	p := *l
	if p.Transactions == nil {
		p.Transactions = []PendingTransaction{}
	}
	return encodeJSONValue(p)
}

// DecodePendingTransactionList parses a LIST_PENDING_TRANSACTIONS answer; it is bounded
// by MaxBodyBytes and fails with ErrMalformed on anything but a JSON object.
func DecodePendingTransactionList(b []byte) (*PendingTransactionList, error) {
	var l PendingTransactionList
	if err := decodeJSONObject(b, &l); err != nil {
		return nil, err
	}
	if l.Transactions == nil {
		l.Transactions = []PendingTransaction{}
	}
	return &l, nil
}
