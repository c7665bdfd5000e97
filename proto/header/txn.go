package header

// ListPendingTransactionsRequest is the header of LIST_PENDING_TRANSACTIONS (2100), a
// rocketgo extension: list the unresolved half messages of a broker.
type ListPendingTransactionsRequest struct {
	ProducerGroup string // producerGroup (optional): only this group's; "" for all
	MaxCount      int32  // maxCount (optional): at most this many; 0 for the default
}

// Encode implements Header.
func (h *ListPendingTransactionsRequest) Encode() map[string]string {
	m := make(map[string]string, 2)
	putOpt(m, "producerGroup", h.ProducerGroup)
	if h.MaxCount != 0 {
		m["maxCount"] = itoa32(h.MaxCount)
	}
	return m
}

// Decode implements Header.
func (h *ListPendingTransactionsRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = ListPendingTransactionsRequest{
		ProducerGroup: r.optStr("producerGroup"),
		MaxCount:      r.optI32("maxCount"),
	}
	return r.err
}

// ResolvePendingTransactionRequest is the header of RESOLVE_PENDING_TRANSACTION
// (2101), a rocketgo extension: commit or roll back one half message by hand.
type ResolvePendingTransactionRequest struct {
	CommitLogOffset  int64  // commitLogOffset: physical offset of the half message
	CommitOrRollback int32  // commitOrRollback: TxCommit or TxRollback
	ProducerGroup    string // producerGroup (optional): checked against the half message's
}

// Encode implements Header.
func (h *ResolvePendingTransactionRequest) Encode() map[string]string {
	m := make(map[string]string, 3)
	m["commitLogOffset"] = itoa64(h.CommitLogOffset)
	m["commitOrRollback"] = itoa32(h.CommitOrRollback)
	putOpt(m, "producerGroup", h.ProducerGroup)
	return m
}

// Decode implements Header.
func (h *ResolvePendingTransactionRequest) Decode(ext map[string]string) error {
	r := reader{ext: ext}
	*h = ResolvePendingTransactionRequest{
		CommitLogOffset:  r.i64("commitLogOffset"),
		CommitOrRollback: r.i32("commitOrRollback"),
		ProducerGroup:    r.optStr("producerGroup"),
	}
	return r.err
}
