package header

// DLQRequest is the header of LIST_DLQ_MESSAGES (2200) and RESEND_DLQ_MESSAGES (2201),
// rocketgo extensions: read, or re-send to the group, the dead letters of a consumer
// group from a DLQ queue offset.
type DLQRequest struct {
	ConsumerGroup string // consumerGroup
	Offset        int64  // offset (optional): the DLQ queue offset to start from
	MaxCount      int32  // maxCount (optional): at most this many; 0 for the default
}

// Encode implements Header.
func (h *DLQRequest) Encode() map[string]string {
	m := make(map[string]string, 3)
	m["consumerGroup"] = h.ConsumerGroup
	m["offset"] = itoa64(h.Offset)
	if h.MaxCount != 0 {
		m["maxCount"] = itoa32(h.MaxCount)
	}
	return m
}

// Decode implements Header.
func (h *DLQRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = DLQRequest{
		ConsumerGroup: r.str("consumerGroup"),
		Offset:        r.optI64("offset"),
		MaxCount:      r.optI32("maxCount"),
	}
	return r.err
}

// CancelScheduledRequest is the header of CANCEL_SCHEDULED_MESSAGE (2202), a rocketgo
// extension: cancel a pending timer message by its topic and unique key.
type CancelScheduledRequest struct {
	Topic   string // topic: the message's own topic
	UniqKey string // uniqKey: its UNIQ_KEY
}

// Encode implements Header.
func (h *CancelScheduledRequest) Encode() map[string]string {
	return map[string]string{"topic": h.Topic, "uniqKey": h.UniqKey}
}

// Decode implements Header.
func (h *CancelScheduledRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = CancelScheduledRequest{Topic: r.str("topic"), UniqKey: r.str("uniqKey")}
	return r.err
}
