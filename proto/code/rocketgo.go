package code

// Request codes that are rocketgo extensions: Apache RocketMQ has no such requests, so
// its tools never send them and a RocketMQ broker answers them
// REQUEST_CODE_NOT_SUPPORTED. They are numbered from 2100 up, far from RocketMQ's
// 4.x codes (below 400) and under int16's limit.
const (
	// ListPendingTransactions (2100) lists a broker's unresolved half messages, oldest
	// first. ExtFields: producerGroup (optional, "" for every group), maxCount
	// (optional, default 1000). Body of the answer: body.PendingTransactionList JSON
	// (each half message with its real topic and queue, age and check-back count).
	ListPendingTransactions = 2100
	// ResolvePendingTransaction (2101) commits or rolls back one unresolved half
	// message by hand, as its producer's END_TRANSACTION would. ExtFields:
	// commitLogOffset (the half message's), commitOrRollback (8 commit, 12 rollback),
	// producerGroup (optional; when set it must be the half message's group). The
	// answer is SUCCESS, also when the transaction was already resolved the same way.
	ResolvePendingTransaction = 2101
	// ListTimerMessages (2102) lists a broker's pending scheduled messages: timer
	// messages (TIMER_DELIVER_MS, TIMER_DELAY_SEC, TIMER_DELAY_MS) by due time, then
	// delay-level messages (DELAY) level by level. ExtFields: topic (optional, the
	// messages' own topic; "" for every topic), maxCount (optional, default 1000, at
	// most 1000). Body of the answer: body.TimerMessageList JSON. A timer message listed
	// can be cancelled with CANCEL_SCHEDULED_MESSAGE (2202); a delay-level one cannot.
	ListTimerMessages = 2102
)
