package codec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
	"unsafe"

	"github.com/rocketgo/rocketgo/internal/jsonstr"
)

// The JSON header is written by hand: encoding/json's reflection costs more than the rest
// of the send path's framing together, and the shape is fixed. Keys come out in the order
// the official Go client writes them; extFields keys in map order (JSON objects are
// unordered, and sorting 14 keys per frame buys nothing on the wire).

// appendJSONHeader appends c's header as compact JSON:
//
//	{"code":0,"language":"GO","version":317,"opaque":7,"flag":1,"remark":"","extFields":{"k":"v"}}
//
// extFields values are always JSON strings, which is what the official clients require
// (docs/protocol.md §0.2).
func appendJSONHeader(dst []byte, c *Command) []byte {
	dst = append(dst, `{"code":`...)
	dst = strconv.AppendInt(dst, int64(c.Code), 10)
	dst = append(dst, `,"language":`...)
	dst = jsonstr.Append(dst, c.Language)
	dst = append(dst, `,"version":`...)
	dst = strconv.AppendInt(dst, int64(c.Version), 10)
	dst = append(dst, `,"opaque":`...)
	dst = strconv.AppendInt(dst, int64(c.Opaque), 10)
	dst = append(dst, `,"flag":`...)
	dst = strconv.AppendInt(dst, int64(c.Flag), 10)
	dst = append(dst, `,"remark":`...)
	dst = jsonstr.Append(dst, c.Remark)
	dst = append(dst, `,"extFields":{`...)
	dst, _ = appendExt(dst, c, SerializeJSON) // only the binary form has length limits
	return append(dst, "}}"...)
}

// maxJSONDepth bounds the nesting of values skipped under unknown keys.
const maxJSONDepth = 64

// jsonScanner reads one JSON header. It works on a string copy of the header so that
// strings without escapes are substrings of it: one allocation for the whole header.
type jsonScanner struct {
	s string
	i int
	// lazy, when set, picks the requests whose extFields are checked but not parsed
	// (DecodeFrameCopyLazy); the choice is made at the first "extFields" key.
	lazy    func(code int32) bool
	extMode byte // extUndecided, extEager or extLazy
}

// extEach, when not nil, receives a header's extFields entries instead of a map
// (RangeExt); del marks a null value, which removes the key. It is passed down as a
// parameter rather than kept in jsonScanner so that it does not escape.
type extEach = func(k, v string, del bool)

// The extFields modes of a jsonScanner.
const (
	extUndecided byte = iota
	extEager
	extLazy
)

// decodeJSONHeader decodes a JSON header into c. It accepts the official Go client's
// shape and Java's (unknown keys such as serializeTypeCurrentRPC are skipped; a missing
// remark or a null extFields is fine). Integers must fit their field (code in int32);
// extFields values may be strings, null (entry dropped), numbers or booleans (kept as
// their literal text). Anything else, or trailing bytes, is ErrBadFrame.
func decodeJSONHeader(h []byte, c *Command, lazy func(code int32) bool) error {
	sc := jsonScanner{s: string(h), lazy: lazy}
	if err := sc.header(c, nil); err != nil {
		return fmt.Errorf("%w: json header at byte %d: %v", ErrBadFrame, sc.i, err)
	}
	return nil
}

// errJSON is the scanner's internal error; decodeJSONHeader wraps it with the position.
type errJSON string

func (e errJSON) Error() string { return string(e) }

func (sc *jsonScanner) header(c *Command, each extEach) error {
	sc.ws()
	if !sc.eat('{') {
		return errJSON("want '{'")
	}
	sc.ws()
	if sc.eat('}') {
		return sc.end()
	}
	for {
		sc.ws()
		key, err := sc.str()
		if err != nil {
			return err
		}
		sc.ws()
		if !sc.eat(':') {
			return errJSON("want ':'")
		}
		sc.ws()
		if err := sc.field(key, c, each); err != nil {
			return err
		}
		sc.ws()
		if sc.eat(',') {
			continue
		}
		if sc.eat('}') {
			return sc.end()
		}
		return errJSON("want ',' or '}'")
	}
}

// field decodes the value of one top-level key.
func (sc *jsonScanner) field(key string, c *Command, each extEach) error {
	var err error
	switch key {
	case "code":
		var v int64
		v, err = sc.integer(math.MinInt32, math.MaxInt32)
		c.Code = int32(v)
	case "language":
		c.Language, err = sc.strOrNull()
	case "version":
		var v int64
		v, err = sc.integer(math.MinInt32, math.MaxInt32)
		c.Version = int32(v)
	case "opaque":
		var v int64
		v, err = sc.integer(math.MinInt32, math.MaxInt32)
		c.Opaque = int32(v)
	case "flag":
		var v int64
		v, err = sc.integer(math.MinInt32, math.MaxInt32)
		c.Flag = int32(v)
	case "remark":
		c.Remark, err = sc.strOrNull()
	case "extFields":
		err = sc.extFields(c, each)
	default:
		err = sc.skip()
	}
	return err
}

func (sc *jsonScanner) end() error {
	sc.ws()
	if sc.i != len(sc.s) {
		return errJSON("trailing bytes after header object")
	}
	return nil
}

func (sc *jsonScanner) ws() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

func (sc *jsonScanner) eat(b byte) bool {
	if sc.i < len(sc.s) && sc.s[sc.i] == b {
		sc.i++
		return true
	}
	return false
}

// lit consumes the literal word (null, true, false) if it is next.
func (sc *jsonScanner) lit(word string) bool {
	if strings.HasPrefix(sc.s[sc.i:], word) {
		sc.i += len(word)
		return true
	}
	return false
}

// integer reads a JSON integer (null reads as 0) within [lo, hi]. Fractions and
// exponents are refused: every header number is an integer.
func (sc *jsonScanner) integer(lo, hi int64) (int64, error) {
	if sc.lit("null") {
		return 0, nil
	}
	start := sc.i
	sc.eat('-')
	if !sc.digits() {
		return 0, errJSON("want an integer")
	}
	if sc.i < len(sc.s) && (sc.s[sc.i] == '.' || sc.s[sc.i] == 'e' || sc.s[sc.i] == 'E') {
		return 0, errJSON("want an integer, got a fraction or exponent")
	}
	v, err := strconv.ParseInt(sc.s[start:sc.i], 10, 64)
	if err != nil || v < lo || v > hi {
		return 0, errJSON("integer " + sc.s[start:sc.i] + " out of range")
	}
	return v, nil
}

// digits consumes the integer part of a JSON number: 0, or a digit run not starting
// with 0. It reports whether there was one.
func (sc *jsonScanner) digits() bool {
	if sc.i >= len(sc.s) {
		return false
	}
	if sc.s[sc.i] == '0' {
		sc.i++
		return true
	}
	start := sc.i
	for sc.i < len(sc.s) && sc.s[sc.i] >= '0' && sc.s[sc.i] <= '9' {
		sc.i++
	}
	return sc.i > start
}

func (sc *jsonScanner) strOrNull() (string, error) {
	if sc.lit("null") {
		return "", nil
	}
	return sc.str()
}

// jsonStrRun marks the bytes that continue a run inside a string literal: everything
// but the quote, the backslash and control characters. UTF-8 is validated separately.
var jsonStrRun = func() (t [256]bool) {
	for b := 0x20; b < 256; b++ {
		t[b] = b != '"' && b != '\\'
	}
	return t
}()

// run advances over plain string bytes.
func (sc *jsonScanner) run() {
	for sc.i < len(sc.s) && jsonStrRun[sc.s[sc.i]] {
		sc.i++
	}
}

// str reads a JSON string. Without escapes and with valid UTF-8 it is a substring of the
// header; otherwise it is unescaped into a new string, with invalid UTF-8 and unpaired
// surrogates replaced by U+FFFD as encoding/json does.
func (sc *jsonScanner) str() (string, error) {
	if !sc.eat('"') {
		return "", errJSON("want a string")
	}
	start := sc.i
	sc.run()
	if sc.i >= len(sc.s) {
		return "", errJSON("unterminated string")
	}
	switch sc.s[sc.i] {
	case '"':
		s := sc.s[start:sc.i]
		sc.i++
		if !utf8.ValidString(s) {
			return strings.ToValidUTF8(s, "\uFFFD"), nil
		}
		return s, nil
	case '\\':
		return sc.strSlow(start)
	default:
		return "", errJSON("control character in string")
	}
}

// strSlow finishes a string that has escapes; sc.i is at the first backslash.
func (sc *jsonScanner) strSlow(start int) (string, error) {
	// The raw literal bounds the decoded size (every escape shrinks or keeps its
	// length), so one allocation of the raw length up to the closing quote suffices.
	end := sc.i
	for end < len(sc.s) && sc.s[end] != '"' {
		if sc.s[end] == '\\' {
			end++
		}
		end++
	}
	buf := make([]byte, 0, min(end, len(sc.s))-start)
	buf = append(buf, sc.s[start:sc.i]...)
	for sc.i < len(sc.s) {
		from := sc.i
		sc.run()
		buf = append(buf, sc.s[from:sc.i]...)
		if sc.i >= len(sc.s) {
			break
		}
		b := sc.s[sc.i]
		sc.i++
		if b == '"' {
			if !utf8.Valid(buf) {
				return strings.ToValidUTF8(string(buf), "\uFFFD"), nil
			}
			// buf was allocated here and is never written again: hand it over
			// as the string instead of copying it.
			return unsafe.String(unsafe.SliceData(buf), len(buf)), nil
		}
		if b < 0x20 {
			return "", errJSON("control character in string")
		}
		// A backslash.
		if sc.i >= len(sc.s) {
			break
		}
		e := sc.s[sc.i]
		sc.i++
		switch e {
		case '"', '\\', '/':
			buf = append(buf, e)
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			r, ok := sc.hex4()
			if !ok {
				return "", errJSON("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				// A high surrogate followed by an escaped low one is one rune; anything
				// else is an unpaired surrogate and reads as U+FFFD.
				save := sc.i
				if sc.lit(`\u`) {
					if r2, ok := sc.hex4(); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							buf = utf8.AppendRune(buf, dec)
							continue
						}
					}
				}
				sc.i = save
				r = utf8.RuneError
			}
			buf = utf8.AppendRune(buf, r)
		default:
			return "", errJSON("bad escape")
		}
	}
	return "", errJSON("unterminated string")
}

// hex4 reads four hex digits.
func (sc *jsonScanner) hex4() (rune, bool) {
	if len(sc.s)-sc.i < 4 {
		return 0, false
	}
	var r rune
	for _, b := range []byte(sc.s[sc.i : sc.i+4]) {
		switch {
		case b >= '0' && b <= '9':
			b -= '0'
		case b >= 'a' && b <= 'f':
			b = b - 'a' + 10
		case b >= 'A' && b <= 'F':
			b = b - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(b)
	}
	sc.i += 4
	return r, true
}

// extFields reads the extFields object (or null) into c.ExtFields, merging with entries
// already read.
func (sc *jsonScanner) extFields(c *Command, each extEach) error {
	if sc.extMode == extUndecided {
		sc.extMode = extEager
		if sc.lazy != nil && !c.IsResponse() && sc.lazy(c.Code) {
			sc.extMode = extLazy
			c.raw, c.rawSet, c.rawJSON = sc.s, true, true
		}
	}
	if sc.lit("null") {
		return nil
	}
	if !sc.eat('{') {
		return errJSON("extFields: want an object")
	}
	if c.ExtFields == nil && sc.extMode == extEager && each == nil {
		// Size the map from the quotes that follow (four per entry, plus a few from
		// later keys): growing a map twice costs more than the count.
		c.ExtFields = make(map[string]string, min(strings.Count(sc.s[sc.i:], `"`)/4, 64))
	}
	sc.ws()
	if sc.eat('}') {
		return nil
	}
	for {
		sc.ws()
		k, err := sc.str()
		if err != nil {
			return err
		}
		sc.ws()
		if !sc.eat(':') {
			return errJSON("extFields: want ':'")
		}
		sc.ws()
		if err := sc.extValue(c.ExtFields, k, each); err != nil {
			return err
		}
		sc.ws()
		if sc.eat(',') {
			continue
		}
		if sc.eat('}') {
			return nil
		}
		return errJSON("extFields: want ',' or '}'")
	}
}

// extValue reads one extFields value: a string, or a scalar kept as its literal text.
// It goes to each, or into m; with neither (a lazy decode) it is only checked.
func (sc *jsonScanner) extValue(m map[string]string, k string, each extEach) error {
	if sc.i >= len(sc.s) {
		return errJSON("extFields: missing value")
	}
	var v string
	switch b := sc.s[sc.i]; {
	case b == '"':
		var err error
		if v, err = sc.str(); err != nil {
			return err
		}
	case sc.lit("null"):
		if each != nil {
			each(k, "", true)
		} else if m != nil {
			delete(m, k)
		}
		return nil
	case sc.lit("true"):
		v = "true"
	case sc.lit("false"):
		v = "false"
	case b == '-' || (b >= '0' && b <= '9'):
		start := sc.i
		if err := sc.number(); err != nil {
			return err
		}
		v = sc.s[start:sc.i]
	default:
		return errJSON("extFields: value must be a string or scalar")
	}
	if each != nil {
		each(k, v, false)
	} else if m != nil {
		m[k] = v
	}
	return nil
}

// number consumes a JSON number per the JSON grammar.
func (sc *jsonScanner) number() error {
	sc.eat('-')
	if !sc.digits() {
		return errJSON("bad number")
	}
	run := func() bool {
		start := sc.i
		for sc.i < len(sc.s) && sc.s[sc.i] >= '0' && sc.s[sc.i] <= '9' {
			sc.i++
		}
		return sc.i > start
	}
	if sc.eat('.') && !run() {
		return errJSON("bad number fraction")
	}
	if sc.eat('e') || sc.eat('E') {
		if !sc.eat('+') {
			sc.eat('-')
		}
		if !run() {
			return errJSON("bad number exponent")
		}
	}
	return nil
}

// skip consumes any JSON value, iteratively with a fixed stack so that deep nesting
// cannot grow the goroutine stack; nesting beyond maxJSONDepth is an error.
func (sc *jsonScanner) skip() error {
	var stack [maxJSONDepth]byte // open containers: '{' or '['
	depth := 0
	for {
		sc.ws()
		if sc.i >= len(sc.s) {
			return errJSON("unexpected end of value")
		}
		complete := true // a whole value was consumed
		switch b := sc.s[sc.i]; {
		case b == '{' || b == '[':
			if depth == maxJSONDepth {
				return errJSON("value nested too deeply")
			}
			sc.i++
			sc.ws()
			switch {
			case b == '{' && sc.eat('}'), b == '[' && sc.eat(']'):
			case b == '{':
				if err := sc.objectKey(); err != nil {
					return err
				}
				stack[depth] = b
				depth++
				complete = false
			default:
				stack[depth] = b
				depth++
				complete = false
			}
		case b == '"':
			if _, err := sc.str(); err != nil {
				return err
			}
		case sc.lit("null"), sc.lit("true"), sc.lit("false"):
		case b == '-' || (b >= '0' && b <= '9'):
			if err := sc.number(); err != nil {
				return err
			}
		default:
			return errJSON("bad value")
		}
		if !complete {
			continue
		}
		// After a complete value: close containers, or step to the next element.
		for depth > 0 {
			sc.ws()
			if sc.eat(',') {
				if stack[depth-1] == '{' {
					sc.ws()
					if err := sc.objectKey(); err != nil {
						return err
					}
				}
				break
			}
			closer := byte(']')
			if stack[depth-1] == '{' {
				closer = '}'
			}
			if !sc.eat(closer) {
				return errJSON("want ',' or a closing bracket")
			}
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

// objectKey reads `"key":` at the start of an object member.
func (sc *jsonScanner) objectKey() error {
	if _, err := sc.str(); err != nil {
		return err
	}
	sc.ws()
	if !sc.eat(':') {
		return errJSON("want ':'")
	}
	return nil
}
