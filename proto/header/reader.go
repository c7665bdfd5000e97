package header

import (
	"errors"
	"strconv"
)

// Sentinel errors of the package. Every decode failure wraps exactly one of them inside
// a *KeyError, so callers can test with errors.Is and still report the key.
var (
	// ErrMissingKey reports that a key Java marks @CFNotNull is absent.
	ErrMissingKey = errors.New("header: missing required key")
	// ErrBadValue reports a value that is not a decimal number of the field's width, or
	// not a boolean.
	ErrBadValue = errors.New("header: bad value")
)

// maxQuotedValue bounds how much of an offending value an error message repeats: the
// value comes from the network and may be megabytes long.
const maxQuotedValue = 64

// KeyError is the error of a failed decode. It names the key and, for a malformed value,
// repeats the value (truncated).
type KeyError struct {
	Key   string
	Value string // the offending value, at most maxQuotedValue bytes; empty when missing
	Err   error  // ErrMissingKey or ErrBadValue
}

// Error implements error: `header: missing required key "queueId"` or
// `header: bad value "x1" for key "queueId"`.
func (e *KeyError) Error() string {
	if e.Err == ErrMissingKey {
		return e.Err.Error() + " " + strconv.Quote(e.Key)
	}
	return e.Err.Error() + " " + strconv.Quote(e.Value) + " for key " + strconv.Quote(e.Key)
}

// Unwrap returns ErrMissingKey or ErrBadValue.
func (e *KeyError) Unwrap() error { return e.Err }

func badValue(key, v string) *KeyError {
	if len(v) > maxQuotedValue {
		v = v[:maxQuotedValue] + "..."
	}
	return &KeyError{Key: key, Value: v, Err: ErrBadValue}
}

// reader pulls typed values out of an extFields map and keeps the first error, so that a
// decoder is a flat list of field assignments followed by one error check. After the
// first error every further read returns the zero value.
type reader struct {
	ext map[string]string
	sf  *SendFields // read instead of ext when set (sendfields.go)
	err error
}

// get returns the value of key and whether it is present.
func (r *reader) get(key string) (string, bool) {
	if r.sf != nil {
		return r.sf.get(key)
	}
	v, ok := r.ext[key]
	return v, ok
}

// lookup returns the raw value; for a required key that is absent it records
// ErrMissingKey. ok is false when the value must not be parsed.
func (r *reader) lookup(key string, required bool) (string, bool) {
	if r.err != nil {
		return "", false
	}
	v, ok := r.get(key)
	if !ok && required {
		r.err = &KeyError{Key: key, Err: ErrMissingKey}
	}
	return v, ok
}

// str reads a required string.
func (r *reader) str(key string) string {
	v, _ := r.lookup(key, true)
	return v
}

// optStr reads an optional string; absent reads as "".
func (r *reader) optStr(key string) string {
	v, _ := r.lookup(key, false)
	return v
}

func (r *reader) parseInt(key string, required bool, bits int) int64 {
	v, ok := r.lookup(key, required)
	if !ok {
		return 0
	}
	// Java's Integer.parseInt / Long.parseLong: optional sign, decimal digits, no
	// spaces. strconv.ParseInt accepts the same language (plus "_" only with base 0).
	if n, ok := parseShortDecimal(v, bits); ok {
		return n
	}
	n, err := strconv.ParseInt(v, 10, bits)
	if err != nil {
		r.err = badValue(key, v)
		return 0
	}
	return n
}

// parseShortDecimal is strconv.ParseInt(v, 10, bits) for the values a header mostly
// holds: an optional sign and 1 to 18 digits whose value fits in bits. It reports false
// for anything else, which the caller gives to strconv (a send header carries about
// ten numbers, and this path costs a third of strconv's).
func parseShortDecimal(v string, bits int) (int64, bool) {
	s, neg := v, false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	if len(s) == 0 || len(s) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		n = n*10 + int64(d)
	}
	if neg {
		n = -n
	}
	if bits < 64 && (n < -(1<<(bits-1)) || n > 1<<(bits-1)-1) {
		return 0, false
	}
	return n, true
}

// i32 reads a required Java Integer.
func (r *reader) i32(key string) int32 { return int32(r.parseInt(key, true, 32)) }

// optI32 reads an optional Java Integer; absent reads as 0.
func (r *reader) optI32(key string) int32 { return int32(r.parseInt(key, false, 32)) }

// i64 reads a required Java Long.
func (r *reader) i64(key string) int64 { return r.parseInt(key, true, 64) }

// optI64 reads an optional Java Long; absent reads as 0.
func (r *reader) optI64(key string) int64 { return r.parseInt(key, false, 64) }

// ptrI32 reads an optional Java Integer whose absence means something different from 0.
func (r *reader) ptrI32(key string) *int32 {
	if _, ok := r.get(key); !ok || r.err != nil {
		return nil
	}
	v := int32(r.parseInt(key, false, 32))
	if r.err != nil {
		return nil
	}
	if r.sf != nil {
		// The send header's one such key: its value lives in the fields, which
		// outlive the decoded header where the caller keeps both.
		r.sf.i32 = v
		return &r.sf.i32
	}
	return Int32(v)
}

func (r *reader) parseBool(key string, required bool) bool {
	v, ok := r.lookup(key, required)
	if !ok {
		return false
	}
	// Java's Boolean.parseBoolean is "true" ignoring case and false for anything else.
	// Anything that is neither true nor false is rejected here instead, because a typo
	// silently read as false (say, "isForce") is worse than a clear error.
	switch {
	case equalFold(v, "true"):
		return true
	case equalFold(v, "false"):
		return false
	}
	r.err = badValue(key, v)
	return false
}

// boolean reads a required Java Boolean.
func (r *reader) boolean(key string) bool { return r.parseBool(key, true) }

// optBool reads an optional Java Boolean; absent reads as false.
func (r *reader) optBool(key string) bool { return r.parseBool(key, false) }

// ptrBool reads an optional Java Boolean whose absence means something different from
// false.
func (r *reader) ptrBool(key string) *bool {
	if _, ok := r.get(key); !ok || r.err != nil {
		return nil
	}
	b := r.parseBool(key, false)
	if r.err != nil {
		return nil
	}
	return &b
}

// equalFold is an ASCII-only strings.EqualFold for short constant targets.
func equalFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// Encoding helpers: every value on the wire is a decimal string or "true"/"false".

func itoa32(n int32) string { return strconv.FormatInt(int64(n), 10) }
func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
func btoa(b bool) string    { return strconv.FormatBool(b) }

// putOpt sets key only when v is not empty, the way Java omits a null field.
func putOpt(m map[string]string, key, v string) {
	if v != "" {
		m[key] = v
	}
}

// putPtrI32 sets key only when p is not nil.
func putPtrI32(m map[string]string, key string, p *int32) {
	if p != nil {
		m[key] = itoa32(*p)
	}
}

// putPtrBool sets key only when p is not nil.
func putPtrBool(m map[string]string, key string, p *bool) {
	if p != nil {
		m[key] = btoa(*p)
	}
}

// Int32 returns a pointer to n, for the optional header fields whose absence matters.
func Int32(n int32) *int32 { return &n }

// Bool returns a pointer to b, for the optional header fields whose absence matters.
func Bool(b bool) *bool { return &b }
