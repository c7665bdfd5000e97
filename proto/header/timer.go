package header

// ListTimerMessagesRequest is the header of LIST_TIMER_MESSAGES (2102), a rocketgo
// extension: list the pending scheduled messages of a broker.
type ListTimerMessagesRequest struct {
	Topic    string // topic (optional): only messages for this topic; "" for all
	MaxCount int32  // maxCount (optional): at most this many; 0 for the default
}

// Encode implements Header.
func (h *ListTimerMessagesRequest) Encode() map[string]string {
	m := make(map[string]string, 2)
	putOpt(m, "topic", h.Topic)
	if h.MaxCount != 0 {
		m["maxCount"] = itoa32(h.MaxCount)
	}
	return m
}

// Decode implements Header.
func (h *ListTimerMessagesRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = ListTimerMessagesRequest{Topic: r.optStr("topic"), MaxCount: r.optI32("maxCount")}
	return r.err
}
