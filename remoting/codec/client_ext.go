package codec

import (
	"encoding/binary"
	"fmt"
)

// The client's read path for answers whose header it knows: instead of building the
// extFields map and parsing numbers back out of it, the entries go one by one to an
// ExtReader that keeps the few it needs in a struct. A SEND_MESSAGE answer thus costs
// one string copy of its header and the command, not a map of six entries.

// ExtReader receives the extFields entries of a decoded frame in place of
// Command.ExtFields. An entry that occurs twice is passed twice, in frame order, so a
// reader that keeps the last one agrees with the map decode.
type ExtReader interface {
	ReadExt(key, value string)
}

// ExtCommandReader is an ExtReader that also supplies the command its answer decodes
// into: DecodeFrameExt overwrites it whole and returns it instead of a new one when the
// answer has a ROCKETMQ binary header. A caller that keeps one per call (a send in
// flight) thus reads its answer without allocating the command; it must not hand the
// command out beyond its own use of the answer.
type ExtCommandReader interface {
	ExtReader
	ExtCommand() *Command
}

// ExtBytesReader is an ExtReader that takes the entries of a ROCKETMQ binary header as
// bytes: DecodeFrameExt then makes no string copy of the header (the remark apart),
// and the reader copies only what it keeps. The slices alias the frame and are valid
// only during the call. Entries of a JSON header still come through ReadExt.
type ExtBytesReader interface {
	ExtReader
	ReadExtBytes(key, value []byte)
}

// ResponseOpaque returns the opaque of frame (without its length prefix) when it is a
// response with a ROCKETMQ binary header long enough to hold the fixed fields; ok is
// false otherwise (a JSON header, a request, a short or malformed frame), and the
// caller decodes the frame the generic way.
func ResponseOpaque(frame []byte) (opaque int32, ok bool) {
	if len(frame) < headerWordBytes+rmqFixedBytes || frame[0] != SerializeRocketMQ {
		return 0, false
	}
	h := frame[headerWordBytes:]
	if int32(binary.BigEndian.Uint32(h[9:]))&FlagResponse == 0 {
		return 0, false
	}
	return int32(binary.BigEndian.Uint32(h[5:])), true
}

// DecodeFrameExt is DecodeFrameCopy for a frame whose extFields go to r: a ROCKETMQ
// binary header's entries are passed to r as substrings of one copy of the header and
// ExtFields stays nil; a JSON header is decoded as DecodeFrameCopy does and its map's
// entries passed to r (ExtFields is kept then). The body is copied. Every malformed
// input is an error wrapping ErrBadFrame, exactly where DecodeFrame fails. When r is an
// ExtCommandReader a binary answer is decoded into its command.
func DecodeFrameExt(frame []byte, r ExtReader) (*Command, error) {
	if len(frame) < headerWordBytes || frame[0] != SerializeRocketMQ {
		c, err := DecodeFrameCopy(frame)
		if err == nil {
			FeedExt(r, c.ExtFields)
		}
		return c, err
	}
	hlen := int(binary.BigEndian.Uint32(frame) & maxHeaderBytes)
	if hlen > len(frame)-headerWordBytes {
		return nil, fmt.Errorf("%w: header length %d exceeds frame of %d bytes", ErrBadFrame, hlen, len(frame))
	}
	var c *Command
	if cr, ok := r.(ExtCommandReader); ok {
		c = cr.ExtCommand()
		*c = Command{}
	} else {
		c = new(Command)
	}
	if err := decodeRocketMQHeaderExt(frame[headerWordBytes:headerWordBytes+hlen], c, r); err != nil {
		return nil, err
	}
	c.Serialize = SerializeRocketMQ
	if body := frame[headerWordBytes+hlen:]; len(body) > 0 {
		c.Body = append(make([]byte, 0, len(body)), body...)
	}
	return c, nil
}

// FeedExt passes the entries of ext to r (in map order).
func FeedExt(r ExtReader, ext map[string]string) {
	for k, v := range ext {
		r.ReadExt(k, v)
	}
}

// decodeRocketMQHeaderExt is decodeRocketMQHeader with the entries passed to r: the same
// checks in the same order, so both accept and refuse the same headers.
func decodeRocketMQHeaderExt(h []byte, c *Command, r ExtReader) error {
	remarkAt, p, end, err := splitRocketMQHeader(h, c)
	if err != nil {
		return err
	}
	// Check every entry before passing any, so a malformed header feeds r nothing
	// and the strings are copied only for a header that decodes.
	for q := p; q < end; {
		klen, vlen, err := rocketMQEntry(h[q:end])
		if err != nil {
			return err
		}
		q += 2 + klen + 4 + vlen
	}
	if rb, ok := r.(ExtBytesReader); ok {
		c.Remark = string(h[remarkAt : p-4])
		for p < end {
			klen, vlen, _ := rocketMQEntry(h[p:end])
			k := p + 2
			v := k + klen + 4
			rb.ReadExtBytes(h[k:k+klen], h[v:v+vlen])
			p = v + vlen
		}
		return nil
	}
	// Only the remark and the extFields block are kept as strings.
	s := string(h[remarkAt:])
	c.Remark = s[:p-4-remarkAt]
	base := remarkAt
	for p < end {
		klen, vlen, _ := rocketMQEntry(h[p:end])
		k := p + 2 - base
		v := k + klen + 4
		r.ReadExt(s[k:k+klen], s[v:v+vlen])
		p += 2 + klen + 4 + vlen
	}
	return nil
}

// rocketMQEntry returns the key and value lengths of the extFields entry at the start of
// b, with decodeRocketMQHeader's errors.
func rocketMQEntry(b []byte) (klen, vlen int, err error) {
	if len(b) < 2 {
		return 0, 0, fmt.Errorf("%w: binary header extFields entry truncated at key length", ErrBadFrame)
	}
	klen = int(int16(binary.BigEndian.Uint16(b)))
	if klen < 0 || klen > len(b)-2 {
		return 0, 0, fmt.Errorf("%w: binary header extFields key length %d, %d bytes left", ErrBadFrame, klen, len(b)-2)
	}
	rest := len(b) - 2 - klen
	if rest < 4 {
		return 0, 0, fmt.Errorf("%w: binary header extFields entry truncated at value length", ErrBadFrame)
	}
	v := int64(int32(binary.BigEndian.Uint32(b[2+klen:])))
	if v < 0 || v > int64(rest-4) {
		return 0, 0, fmt.Errorf("%w: binary header extFields value length %d, %d bytes left", ErrBadFrame, v, rest-4)
	}
	return klen, int(v), nil
}
