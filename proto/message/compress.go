package message

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"sync"
)

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
