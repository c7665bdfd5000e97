package message

import "errors"

// Sentinel errors. Decoders wrap them with the field and offsets involved, so callers
// test with errors.Is and operators read the wrapped text.
var (
	// ErrBlank reports an end-of-file blank record (magic 0xCBD43194): the reader rolls
	// to the next segment. It is not corruption.
	ErrBlank = errors.New("message: blank record")
	// ErrTruncated reports input that ends before the record (or value) it starts.
	ErrTruncated = errors.New("message: truncated")
	// ErrCorrupt reports bytes that cannot be a valid record: bad magic, inconsistent
	// sizes, a body CRC mismatch, an impossible port.
	ErrCorrupt = errors.New("message: corrupt record")
	// ErrTopicTooLong reports a topic over MaxTopicLen bytes.
	ErrTopicTooLong = errors.New("message: topic too long")
	// ErrPropertiesTooLong reports encoded properties over MaxPropertiesLen bytes.
	ErrPropertiesTooLong = errors.New("message: properties too long")
	// ErrTooLarge reports a record, batch entry or decompressed body over its size limit.
	ErrTooLarge = errors.New("message: too large")
	// ErrBadBatch reports a malformed batch body (SEND_BATCH_MESSAGE).
	ErrBadBatch = errors.New("message: malformed batch")
	// ErrBadMsgID reports a message id that is not of the expected length or not hex.
	ErrBadMsgID = errors.New("message: malformed message id")
	// ErrBadCompressed reports a body that is not a valid zlib stream.
	ErrBadCompressed = errors.New("message: bad compressed body")
)
