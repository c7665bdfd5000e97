// Package sqlread reads a queue for a pull filtered by SQL92: the ConsumeQueue holds only
// tag hashes, so the records are read and their properties matched after the read.
// Java keeps a bloom filter per subscription in ConsumeQueue extensions to skip records
// without reading them; rocketgo reads them, bounded per pull by scanUnits, which is
// what Java's read costs for a match.
package sqlread

import (
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/store"
)

const (
	// scanUnits bounds the ConsumeQueue units one pull examines (16000 bytes of
	// units, as a tag-filtered read), so a selective filter still answers promptly with
	// NO_MATCHED and the offset to go on from.
	scanUnits = 16000 / 20
	// readBatch is how many records each store read returns to the filter.
	readBatch = 32
)

// Getter is the store read a filtered pull needs.
type Getter interface {
	GetMessages(topic string, queueID int32, offset int64, maxCount, maxBytes int, match func(tagsCode int64) bool) store.GetResult
}

// Read reads records of topic/queueID from offset and keeps those whose properties
// match accepts, until maxCount or the byte limit (maxBytes, asked at each read) is
// reached, scanUnits units were examined, or the queue ends. The status and
// nextBeginOffset follow docs/protocol.md §2.4: FOUND if one matched, else
// NO_MATCHED_MESSAGE, with nextBeginOffset past every unit examined (or at the first
// match that did not fit).
func Read(src Getter, topic string, queueID int32, offset int64, maxCount int, maxBytes func() int, match func(props []byte) bool) store.GetResult {
	off := offset
	limit := off + scanUnits
	out := store.GetResult{Status: store.NoMatchedMessage}
	for first := true; off < limit; first = false {
		res := src.GetMessages(topic, queueID, off, readBatch, maxBytes(), nil)
		switch res.Status {
		case store.Found, store.NoMatchedMessage, store.MessageWasRemoving:
		default:
			if first {
				return res // outside the queue, or at its end: as for any pull
			}
			out.NextBegin = off
			return out
		}
		if first {
			out.MinOffset, out.MaxOffset = res.MinOffset, res.MaxOffset
		}
		for _, rec := range res.Records {
			if !match(message.RecordProperties(rec)) {
				continue
			}
			if len(out.Records) >= maxCount || len(out.Records) > 0 && out.Bytes+len(rec) > maxBytes() {
				out.NextBegin = message.RecordQueueOffset(rec)
				return out
			}
			out.Records = append(out.Records, rec)
			out.Bytes += len(rec)
			out.Status = store.Found
		}
		if res.NextBegin <= off {
			break
		}
		off = res.NextBegin
	}
	out.NextBegin = off
	return out
}
