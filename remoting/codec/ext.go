package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"unsafe"

	"github.com/rocketgo/rocketgo/internal/jsonstr"
)

// ExtWriter produces a command's extFields without a map: a sender whose header layout
// is known (the producer's SEND_MESSAGE_V2) implements it, and the encoders call
// WriteExt with an ExtEncoder that appends each entry straight into the frame in the
// command's serialization, numbers included, so no string or map is built per request.
// WriteExt must emit each key at most once and the same entries every time it is
// called, and return the encoder it was given after the calls: the encoder travels by
// value so that it never escapes to the heap.
type ExtWriter interface {
	WriteExt(e ExtEncoder) ExtEncoder
}

// ExtEncoder receives the entries of an ExtWriter: it appends them to a JSON or ROCKETMQ
// header, or collects them into a map (ExtMap).
type ExtEncoder struct {
	dst []byte
	ser byte
	n   int               // entries written so far
	m   map[string]string // set when collecting
	err error             // the first entry that cannot be encoded
}

// Str writes the entry k = v.
func (e *ExtEncoder) Str(k, v string) {
	if e.m != nil {
		e.m[k] = v
		e.n++
		return
	}
	e.strEntry(k, v)
}

// StrBytes writes the entry k = v; v is copied, so it may live on the caller's stack.
func (e *ExtEncoder) StrBytes(k string, v []byte) {
	if e.m != nil {
		e.m[k] = string(v)
		e.n++
		return
	}
	e.strEntry(k, unsafe.String(unsafe.SliceData(v), len(v)))
}

// strEntry appends the entry k = v to the header; it keeps neither string.
func (e *ExtEncoder) strEntry(k, v string) {
	if e.ser == SerializeRocketMQ {
		if !e.key(k) {
			return
		}
		if len(v) > maxHeaderBytes {
			e.fail(fmt.Errorf("%w: extFields value of %d bytes", ErrFrameTooLarge, len(v)))
			return
		}
		e.dst = binary.BigEndian.AppendUint32(e.dst, uint32(len(v)))
		e.dst = append(e.dst, v...)
	} else {
		e.jsonKey(k)
		e.dst = jsonstr.Append(e.dst, v)
	}
	e.n++
}

// Int writes the entry k = the decimal text of v, as Java's header fields carry
// numbers.
func (e *ExtEncoder) Int(k string, v int64) {
	switch {
	case e.m != nil:
		e.m[k] = strconv.FormatInt(v, 10)
	case e.ser == SerializeRocketMQ:
		if !e.key(k) {
			return
		}
		at := len(e.dst)
		e.dst = append(e.dst, 0, 0, 0, 0)
		e.dst = strconv.AppendInt(e.dst, v, 10)
		binary.BigEndian.PutUint32(e.dst[at:], uint32(len(e.dst)-at-4))
	default:
		e.jsonKey(k)
		e.dst = append(e.dst, '"')
		e.dst = strconv.AppendInt(e.dst, v, 10)
		e.dst = append(e.dst, '"')
	}
	e.n++
}

// Bool writes the entry k = "true" or "false".
func (e *ExtEncoder) Bool(k string, v bool) {
	if v {
		e.Str(k, "true")
	} else {
		e.Str(k, "false")
	}
}

// key appends a ROCKETMQ entry's key; false (and the error recorded) when it cannot be
// encoded.
func (e *ExtEncoder) key(k string) bool {
	if e.err != nil {
		return false
	}
	if len(k) > math.MaxInt16 {
		e.fail(fmt.Errorf("%w: extFields key of %d bytes", ErrFrameTooLarge, len(k)))
		return false
	}
	e.dst = binary.BigEndian.AppendUint16(e.dst, uint16(len(k)))
	e.dst = append(e.dst, k...)
	return true
}

// jsonKey appends a JSON entry's separator and key.
func (e *ExtEncoder) jsonKey(k string) {
	if e.n > 0 {
		e.dst = append(e.dst, ',')
	}
	e.dst = jsonstr.Append(e.dst, k)
	e.dst = append(e.dst, ':')
}

// fail records the first error.
func (e *ExtEncoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// ExtMap returns the entries of w as a map: what a receiver decodes from the frame, and
// what a signer (ACL) needs.
func ExtMap(w ExtWriter) map[string]string {
	return w.WriteExt(ExtEncoder{m: make(map[string]string, 16)}).m
}

// appendExt appends c's extFields entries (without the surrounding object or length
// word) in serialization ser: from c.Ext when set, from the map otherwise. The map is
// written by plain loops (the broker's responses take this path).
func appendExt(dst []byte, c *Command, ser byte) ([]byte, error) {
	if c.Ext != nil {
		e := c.Ext.WriteExt(ExtEncoder{dst: dst, ser: ser})
		return e.dst, e.err
	}
	if ser != SerializeRocketMQ {
		first := true
		for k, v := range c.ExtFields {
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = jsonstr.Append(dst, k)
			dst = append(dst, ':')
			dst = jsonstr.Append(dst, v)
		}
		return dst, nil
	}
	for k, v := range c.ExtFields {
		if len(k) > math.MaxInt16 {
			return dst, fmt.Errorf("%w: extFields key of %d bytes", ErrFrameTooLarge, len(k))
		}
		if len(v) > maxHeaderBytes {
			return dst, fmt.Errorf("%w: extFields value of %d bytes", ErrFrameTooLarge, len(v))
		}
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(k)))
		dst = append(dst, k...)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(v)))
		dst = append(dst, v...)
	}
	return dst, nil
}
