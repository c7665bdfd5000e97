package message

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// Batch entry layout (§4.6): TOTALSIZE 4, MAGICCODE 4, BODYCRC 4, FLAG 4, BODYLEN 4,
// BODY n, PROPLEN 2, PROPS p; TOTALSIZE = 22 + n + p.
const (
	batchOffFlag    = 12
	batchOffBodyLen = 16
	// BatchEntryOverhead is the size of a batch entry with empty body and properties.
	BatchEntryOverhead = 22
)

// BatchEntry is one message of a SEND_BATCH_MESSAGE body. The topic, queue, sysflag, born
// time and hosts come from the request header and are the same for every entry.
type BatchEntry struct {
	Flag       int32
	Body       []byte // a slice of the batch body after DecodeBatch
	Properties string // encoded properties, either form
}

// DecodeBatch splits a batch body into its entries. Each entry's TOTALSIZE must equal
// 22 + body length + properties length exactly and lie within body; MAGICCODE and BODYCRC
// are ignored (the Go client writes 0, and the broker recomputes the CRC). It fails,
// wrapping ErrBadBatch and naming the entry index and offset, on an empty body, a bad
// entry, or more than maxEntries entries (maxEntries <= 0 means no count limit: the body
// length already bounds the work). Entry bodies alias body.
func DecodeBatch(body []byte, maxEntries int) ([]BatchEntry, error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrBadBatch)
	}
	// Capacity from the minimum entry size, never from a count the sender claims.
	n := len(body) / BatchEntryOverhead
	if maxEntries > 0 {
		n = min(n, maxEntries)
	}
	entries := make([]BatchEntry, 0, min(n, 1024))
	be := binary.BigEndian
	for off, i := 0, 0; off < len(body); i++ {
		if maxEntries > 0 && i >= maxEntries {
			return nil, fmt.Errorf("%w: more than %d entries", ErrBadBatch, maxEntries)
		}
		rest := body[off:]
		if len(rest) < BatchEntryOverhead {
			return nil, fmt.Errorf("%w: entry %d at offset %d: %d bytes left, need %d",
				ErrBadBatch, i, off, len(rest), BatchEntryOverhead)
		}
		total := int64(int32(be.Uint32(rest)))
		if total < BatchEntryOverhead || total > int64(len(rest)) {
			return nil, fmt.Errorf("%w: entry %d at offset %d: total size %d outside [%d, %d]",
				ErrBadBatch, i, off, total, BatchEntryOverhead, len(rest))
		}
		e := rest[:total]
		bodyLen := int64(int32(be.Uint32(e[batchOffBodyLen:])))
		if bodyLen < 0 || 20+bodyLen+2 > total {
			return nil, fmt.Errorf("%w: entry %d at offset %d: body length %d overruns total size %d",
				ErrBadBatch, i, off, bodyLen, total)
		}
		propsLen := int64(int16(be.Uint16(e[20+bodyLen:])))
		if propsLen < 0 || BatchEntryOverhead+bodyLen+propsLen != total {
			return nil, fmt.Errorf("%w: entry %d at offset %d: total size %d, body %d and properties %d need %d",
				ErrBadBatch, i, off, total, bodyLen, propsLen, BatchEntryOverhead+bodyLen+max(propsLen, 0))
		}
		entries = append(entries, BatchEntry{
			Flag:       int32(be.Uint32(e[batchOffFlag:])),
			Body:       e[20 : 20+bodyLen : 20+bodyLen],
			Properties: string(e[22+bodyLen:]),
		})
		off += int(total)
	}
	return entries, nil
}

// EncodeBatch appends the batch body of entries to dst, writing MAGICCODE and BODYCRC as
// 0 like the Go client. It fails with ErrPropertiesTooLong for an entry whose properties
// exceed 32767 bytes and ErrTooLarge for one whose size does not fit TOTALSIZE; dst is
// then returned as it was.
func EncodeBatch(dst []byte, entries []BatchEntry) ([]byte, error) {
	need := 0
	for i, e := range entries {
		if len(e.Properties) > MaxPropertiesLen {
			return dst, fmt.Errorf("%w: entry %d: %d bytes, limit %d", ErrPropertiesTooLong, i, len(e.Properties), MaxPropertiesLen)
		}
		size := int64(BatchEntryOverhead) + int64(len(e.Body)) + int64(len(e.Properties))
		if size > math.MaxInt32 {
			return dst, fmt.Errorf("%w: entry %d of %d bytes", ErrTooLarge, i, size)
		}
		need += int(size)
	}
	dst = slices.Grow(dst, need)
	be := binary.BigEndian
	for _, e := range entries {
		dst = be.AppendUint32(dst, uint32(BatchEntryOverhead+len(e.Body)+len(e.Properties)))
		dst = be.AppendUint32(dst, 0) // MAGICCODE
		dst = be.AppendUint32(dst, 0) // BODYCRC
		dst = be.AppendUint32(dst, uint32(e.Flag))
		dst = be.AppendUint32(dst, uint32(len(e.Body)))
		dst = append(dst, e.Body...)
		dst = be.AppendUint16(dst, uint16(len(e.Properties)))
		dst = append(dst, e.Properties...)
	}
	return dst, nil
}
