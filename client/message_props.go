package client

import (
	"unsafe"

	"github.com/rocketgo/rocketgo/proto/message"
)

// storedProps are a consumed message's properties as the broker stored them: the
// encoded string (a view over the pull answer, see DecodeMessages) and the properties
// the consumer adds to every message of one answer (MIN_OFFSET and MAX_OFFSET), shared
// by those messages. Reading one property scans the string in place; nothing builds a
// map unless asked to. A pull answer of 500 messages thus costs no property map at all
// where it used to cost 500 (two allocations and about 330 bytes each, and the garbage
// collector's time to scan them), which was half of what decoding a record allocated.
//
// The zero value holds nothing. Everything here only reads, so a consumed message may
// be read from several goroutines; moving the properties into the map (materialize)
// writes the message, as any change of it does.
type storedProps struct {
	raw   string      // encoded properties (docs/protocol.md §4.3), possibly empty
	added *addedProps // nil when the consumer added nothing
}

// addedProps are properties the consumer sets on every message of one pull answer;
// they win over stored ones of the same key, as assigning them into the map did.
type addedProps [2][2]string

// set says whether anything is stored (a message from a pull rather than one built by
// the application).
func (s *storedProps) set() bool { return s.raw != "" || s.added != nil }

// get returns the value of key, "" when absent: an added property first, else the
// last occurrence in the encoded string (as message.DecodeProperties keeps it).
func (s *storedProps) get(key string) string {
	if s.added != nil {
		for _, kv := range s.added {
			if kv[0] == key && kv[0] != "" {
				return kv[1]
			}
		}
	}
	if s.raw == "" {
		return ""
	}
	v, _ := message.PropertyView(unsafe.Slice(unsafe.StringData(s.raw), len(s.raw)), key)
	return bytesString(v)
}

// build returns a new map of every stored property.
func (s *storedProps) build() map[string]string {
	m := message.DecodePropertiesRoom(s.raw, 2)
	if s.added != nil {
		for _, kv := range s.added {
			if kv[0] != "" {
				m[kv[0]] = kv[1]
			}
		}
	}
	return m
}

// propertyMap returns every property: the map when there is one (or nothing is
// stored), else a new map built from the stored form. Callers must not change it.
func (m *Message) propertyMap() map[string]string {
	if m.Properties == nil && m.stored.set() {
		return m.stored.build()
	}
	return m.Properties
}

// materialize moves stored properties into the Properties map, which from then on holds
// them all: the With* methods and anything else that changes properties call it first.
func (m *Message) materialize() {
	if !m.stored.set() {
		return
	}
	if m.Properties == nil {
		m.Properties = m.stored.build()
	}
	m.stored = storedProps{}
}

// Properties returns every property of the message. For a consumed message it is a new
// map on each call, read from the stored record, unless the message was changed (its
// With* methods), after which it is the message's own map, m.Message.Properties. Read a
// single property with Property (or Tags, Keys…), which builds no map. The result must
// not be changed; use WithProperty.
//
// It shadows the Properties field of the embedded Message, which is nil for a consumed
// message until something changes its properties: code written for the map field reads
// them through this method instead, and m.Message.Properties remains the field.
func (m *MessageExt) Properties() map[string]string { return m.propertyMap() }

// storeProperties makes raw (a view over a pull answer) and added m's properties.
func (m *Message) storeProperties(raw string, added *addedProps) {
	m.Properties = nil
	m.stored = storedProps{raw: raw, added: added}
}
