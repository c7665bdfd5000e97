package code

// Request codes that are rocketgo extensions for scheduled messages and dead letters
// (see rocketgo.go for what an extension code is). They are numbered from 2200 up.
const (
	// ListDLQMessages (2200) reads the dead-letter queue %DLQ%<group> of one consumer
	// group. ExtFields: consumerGroup, offset (the DLQ queue offset to start from,
	// default 0), maxCount (optional, default 32, at most 1024). The answer carries
	// nextBeginOffset, minOffset and maxOffset; its body is the dead letters as stored
	// records, back to back, in the layout of a PULL_MESSAGE body. A group without dead
	// letters answers QUERY_NOT_FOUND.
	ListDLQMessages = 2200
	// ResendDLQMessages (2201) sends dead letters back to their consumer group: each is
	// re-sent to %RETRY%<group> with its reconsume times reset to 0, so the group's
	// consumers get it again at once under its original topic (RETRY_TOPIC). ExtFields:
	// consumerGroup, offset (the first DLQ queue offset to resend), maxCount (optional,
	// default 1, at most 1024). The answer carries resent (how many) and
	// nextBeginOffset. Dead letters stay in the DLQ; resending twice sends twice.
	ResendDLQMessages = 2201
	// CancelScheduledMessage (2202) cancels a pending timer message (one sent with
	// TIMER_DELIVER_MS, TIMER_DELAY_SEC or TIMER_DELAY_MS). ExtFields: topic (the
	// message's topic), uniqKey (its UNIQ_KEY, the message id the producer got). The
	// answer is SUCCESS with cancelled = the number of messages cancelled, or
	// QUERY_NOT_FOUND when none is pending (never sent, already delivered, already
	// cancelled, or a delay-level message, which cannot be cancelled).
	CancelScheduledMessage = 2202
)
