package message

import (
	"bytes"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// Property separators (MessageDecoder.NAME_VALUE_SEPARATOR and PROPERTY_SEPARATOR).
const (
	NameValueSeparator = '\x01'
	PropertySeparator  = '\x02'
)

// validPair reports whether key/value survive a round trip through the parsers: Java
// drops empty keys and values, a 0x01 or 0x02 in the key and a 0x02 in the value would
// split the pair differently. A 0x01 in the value is kept by Java (the pair splits at
// the first 0x01).
func validPair(key, value string) bool {
	return key != "" && value != "" &&
		strings.IndexByte(key, NameValueSeparator) < 0 &&
		strings.IndexByte(key, PropertySeparator) < 0 &&
		strings.IndexByte(value, PropertySeparator) < 0
}

// EncodeProperties encodes p in the Java form: key 0x01 value pairs separated by 0x02,
// with no trailing 0x02, keys sorted so equal maps encode to equal bytes. Pairs that no
// parser could read back (see validPair: empty key or value, a separator inside the key,
// 0x02 inside the value) are left out rather than written garbled.
func EncodeProperties(p map[string]string) string {
	var small [16]string
	keys, n := encodableKeys(p, small[:0])
	if len(keys) == 0 {
		return ""
	}
	var sb strings.Builder
	sb.Grow(n - 1)
	for i, k := range keys {
		if i > 0 {
			sb.WriteByte(PropertySeparator)
		}
		sb.WriteString(k)
		sb.WriteByte(NameValueSeparator)
		sb.WriteString(p[k])
	}
	return sb.String()
}

// encodableKeys appends the keys of p that EncodeProperties writes to keys, sorted, and
// returns them with the bytes their pairs take, a separator after each included.
func encodableKeys(p map[string]string, keys []string) ([]string, int) {
	n := 0
	for k, v := range p {
		if validPair(k, v) {
			keys = append(keys, k)
			n += len(k) + len(v) + 2
		}
	}
	slices.Sort(keys)
	return keys, n
}

// EncodePropertiesUniq is EncodeProperties of p with a fresh UNIQ_KEY (NewUniqID, with
// now as the current time: the caller has read the clock already) set as SetProperty
// sets it, in one allocation: the id returned is part of props. p's own UNIQ_KEY, if
// any, is replaced.
func EncodePropertiesUniq(p map[string]string, now time.Time) (props, id string) {
	b, at := AppendPropertiesUniq(nil, p, now)
	props = unsafe.String(&b[0], len(b))
	return props, props[at:]
}

// AppendPropertiesUniq is EncodePropertiesUniq appending to dst, which grows at most
// once: it returns dst with the properties and where the id starts in it (the id runs
// to the end), for a caller that reuses its buffer from one message to the next.
func AppendPropertiesUniq(dst []byte, p map[string]string, now time.Time) (b []byte, idAt int) {
	src := defaultUniqSource()
	var small [16]string
	keys, n := encodableKeys(p, small[:0])
	b = slices.Grow(dst, n+len(PropUniqKey)+1+src.idLen())
	for _, k := range keys {
		if k == PropUniqKey {
			continue
		}
		b = append(b, k...)
		b = append(b, NameValueSeparator)
		b = append(b, p[k]...)
		b = append(b, PropertySeparator)
	}
	b = append(b, PropUniqKey...)
	b = append(b, NameValueSeparator)
	idAt = len(b)
	return src.appendNextAt(b, now), idAt
}

// nextPair splits the first pair off s (Java's string2messageProperties rules): the pair
// ends at the next 0x02 or the end, the key at its first 0x01. ok is false for an item
// the Java parser skips (empty key or value, no 0x01). rest is what follows the pair's
// 0x02.
func nextPair(s string) (key, value, rest string, ok bool) {
	item := s
	if i := strings.IndexByte(s, PropertySeparator); i >= 0 {
		item, rest = s[:i], s[i+1:]
	}
	i := strings.IndexByte(item, NameValueSeparator)
	if i <= 0 || i == len(item)-1 {
		return "", "", rest, false
	}
	return item[:i], item[i+1:], rest, true
}

// DecodeProperties parses a property string in either form: Java's (no trailing 0x02) or
// the Go client's (trailing 0x02). Items with an empty key or value or without a 0x01 are
// skipped, as Java does; a later duplicate key wins. The result is never nil.
func DecodeProperties(s string) map[string]string { return DecodePropertiesRoom(s, 0) }

// DecodePropertiesRoom is DecodeProperties with room for extra more keys, so a caller
// that adds a few properties after decoding does not grow the map.
func DecodePropertiesRoom(s string, extra int) map[string]string {
	// Size from the separator count, itself bounded by len(s): no attacker-chosen size.
	m := make(map[string]string, strings.Count(s, string(PropertySeparator))+1+max(extra, 0))
	for s != "" {
		k, v, rest, ok := nextPair(s)
		if ok {
			m[k] = v
		}
		s = rest
	}
	return m
}

// PropertyOf returns the value of key in the encoded properties, scanning without
// building a map or allocating. Like DecodeProperties, the last occurrence wins.
func PropertyOf(props []byte, key string) (string, bool) {
	val, ok := PropertyView(props, key)
	return string(val), ok
}

// PropertyView is PropertyOf without the copy: the value is a slice of props (the last
// occurrence of key wins), valid as long as props is.
func PropertyView(props []byte, key string) ([]byte, bool) {
	var (
		val   []byte
		found bool
	)
	for k, v, rest := NextProperty(props); k != nil; k, v, rest = NextProperty(rest) {
		if string(k) == key {
			val, found = v, true
		}
	}
	return val, found
}

// NextProperty returns the first well-formed pair of encoded properties and the bytes
// after it; key is nil when none is left. Items without a key or a value are skipped,
// as both Java's and the Go client's parsers skip them. It allocates nothing, so the
// dispatcher and filters can walk a record's properties in place:
//
//	for k, v, rest := NextProperty(props); k != nil; k, v, rest = NextProperty(rest) { … }
func NextProperty(props []byte) (key, value, rest []byte) {
	for len(props) > 0 {
		item := props
		if i := bytes.IndexByte(props, PropertySeparator); i >= 0 {
			item, props = props[:i], props[i+1:]
		} else {
			props = nil
		}
		if i := bytes.IndexByte(item, NameValueSeparator); i > 0 && i < len(item)-1 {
			return item[:i], item[i+1:], props
		}
	}
	return nil, nil, nil
}

// RemoveProperty returns props without any pair whose key is key (the broker strips
// WAIT before storing). Other pairs keep their order; items no parser would read are
// dropped; the result is in the Java form. props is returned unchanged when key is absent.
func RemoveProperty(props, key string) string {
	if _, ok := PropertyOf([]byte(props), key); !ok {
		return props
	}
	var sb strings.Builder
	sb.Grow(len(props))
	for s := props; s != ""; {
		k, v, rest, ok := nextPair(s)
		s = rest
		if !ok || k == key {
			continue
		}
		appendPair(&sb, k, v)
	}
	return sb.String()
}

// SetProperty returns props with key set to value: any earlier pair for key is removed
// and the new pair appended (the broker adds CLUSTER this way). The result is in the
// Java form. An empty value or a key/value no parser could read back removes the key.
func SetProperty(props, key, value string) string {
	props = RemoveProperty(props, key)
	if !validPair(key, value) {
		return props
	}
	props = strings.TrimSuffix(props, string(PropertySeparator))
	var sb strings.Builder
	sb.Grow(len(props) + len(key) + len(value) + 2)
	sb.WriteString(props)
	appendPair(&sb, key, value)
	return sb.String()
}

// appendPair writes key 0x01 value, preceded by 0x02 unless sb is empty.
func appendPair(sb *strings.Builder, key, value string) {
	if sb.Len() > 0 {
		sb.WriteByte(PropertySeparator)
	}
	sb.WriteString(key)
	sb.WriteByte(NameValueSeparator)
	sb.WriteString(value)
}
