package message

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
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
	entries := make([]BatchEntry, 0, countEntries(body, maxEntries))
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

// countEntries hops over the TOTALSIZE fields to size the result exactly. It trusts no
// count: the result is bounded by len(body)/22 and by maxEntries, and a bad size only
// stops the count early (DecodeBatch then reports it).
func countEntries(body []byte, maxEntries int) int {
	n := 0
	for off := 0; len(body)-off >= BatchEntryOverhead; n++ {
		if maxEntries > 0 && n == maxEntries {
			break
		}
		total := int64(int32(binary.BigEndian.Uint32(body[off:])))
		if total < BatchEntryOverhead || total > int64(len(body)-off) {
			break
		}
		off += int(total)
	}
	return n
}

// Compression defaults of the producers (§4.7).
const (
	// CompressThreshold is the body size from which producers compress a single message
	// (CompressMsgBodyOverHowmuch).
	CompressThreshold = 4096
	// DefaultCompressLevel is the zlib level producers use (CompressLevel).
	DefaultCompressLevel = 5
)

// writerPools keeps one pool of zlib writers per level (HuffmanOnly -2 through
// BestCompression 9): a writer carries a few hundred KiB of state, too much to build for
// every message.
var writerPools [zlib.BestCompression - zlib.HuffmanOnly + 1]sync.Pool

// readerPool keeps zlib readers, which carry the 32 KiB inflate window.
var readerPool sync.Pool

// Compress returns body compressed with zlib (RFC 1950 framing, as java.util.zip.Deflater
// writes it) at level, which must be within -2..9 (-1 is the library default; producers
// use DefaultCompressLevel).
func Compress(body []byte, level int) ([]byte, error) {
	if level < zlib.HuffmanOnly || level > zlib.BestCompression {
		return nil, fmt.Errorf("message: compress level %d outside [%d, %d]", level, zlib.HuffmanOnly, zlib.BestCompression)
	}
	var buf bytes.Buffer
	buf.Grow(len(body)/2 + 64)
	pool := &writerPools[level-zlib.HuffmanOnly]
	w, _ := pool.Get().(*zlib.Writer)
	if w == nil {
		var err error
		if w, err = zlib.NewWriterLevel(&buf, level); err != nil {
			return nil, fmt.Errorf("message: compress: %w", err)
		}
	} else {
		w.Reset(&buf)
	}
	// Writes into a bytes.Buffer cannot fail.
	_, _ = w.Write(body)
	_ = w.Close()
	w.Reset(nil)
	pool.Put(w)
	return buf.Bytes(), nil
}

// Decompress inflates a zlib body, returning at most max bytes: a stream that would
// inflate to more fails with ErrTooLarge after reading max+1 bytes, so a small hostile
// body cannot make it allocate without bound. Invalid streams (bad header, bad data,
// checksum mismatch, early end) wrap ErrBadCompressed. Bytes after the end of the zlib
// stream are ignored, as Java's Inflater does.
func Decompress(body []byte, max int) ([]byte, error) {
	if max < 0 {
		max = 0
	}
	src := bytes.NewReader(body)
	r, _ := readerPool.Get().(io.ReadCloser)
	if r == nil {
		var err error
		if r, err = zlib.NewReader(src); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadCompressed, err)
		}
	} else if err := r.(zlib.Resetter).Reset(src, nil); err != nil {
		readerPool.Put(r)
		return nil, fmt.Errorf("%w: %v", ErrBadCompressed, err)
	}
	defer readerPool.Put(r)

	// Start from a guess bounded by max; the buffer grows as the stream proves longer.
	out := make([]byte, 0, min(max+1, 4*len(body)+64))
	for {
		if len(out) == cap(out) {
			out = append(out, 0)[:len(out)]
		}
		n, err := r.Read(out[len(out):min(cap(out), max+1)])
		out = out[:len(out)+n]
		if len(out) > max {
			return nil, fmt.Errorf("%w: body inflates past %d bytes", ErrTooLarge, max)
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadCompressed, err)
		}
	}
}
