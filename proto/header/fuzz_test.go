package header

import (
	"bytes"
	"errors"
	"reflect"
	"sort"
	"testing"

	"github.com/rocketgo/rocketgo/proto/code"
)

// mapFromBytes turns fuzz input into an extFields map: one "key=value" per line, split at
// the first '='; a line without '=' is a key with an empty value; a repeated key keeps
// its last value.
func mapFromBytes(data []byte) map[string]string {
	m := map[string]string{}
	for _, line := range bytes.Split(data, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		k, v, _ := bytes.Cut(line, []byte{'='})
		m[string(k)] = string(v)
	}
	return m
}

// mapToBytes is the inverse of mapFromBytes for maps without '\n' or '=' in keys.
func mapToBytes(m map[string]string) []byte {
	var b bytes.Buffer
	keys := sortedKeys(m)
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(m[k])
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// checkDecodeError asserts the shape every decode error must have.
func checkDecodeError(t *testing.T, name string, err error) {
	t.Helper()
	var ke *KeyError
	if !errors.As(err, &ke) || !(errors.Is(err, ErrMissingKey) || errors.Is(err, ErrBadValue)) {
		t.Fatalf("%s: error %v is not a KeyError wrapping a sentinel", name, err)
	}
	if len(ke.Value) > maxQuotedValue+3 {
		t.Fatalf("%s: error repeats %d bytes of the value", name, len(ke.Value))
	}
}

// FuzzHeaderDecode decodes an arbitrary map through every decoder. The property: no
// panic; an error is a *KeyError; and whatever decodes re-encodes to a map that decodes
// to the same value and re-encodes to the same map.
func FuzzHeaderDecode(f *testing.F) {
	for _, m := range []map[string]string{goSend, goSendHalf, goBatch, goPullPush, goPullPullConsumer} {
		f.Add(mapToBytes(m))
	}
	for _, tc := range cases() {
		f.Add(mapToBytes(tc.sample.Encode()))
	}
	f.Add([]byte("queueId=+0007\ntopic=\nconsumerGroup=g\nisForce=TRUE\n"))
	f.Add([]byte("offset=-9223372036854775808\ntimestamp=9223372036854775807\n"))

	all := cases()
	f.Fuzz(func(t *testing.T, data []byte) {
		ext := mapFromBytes(data)
		for _, tc := range all {
			h1 := tc.new()
			if err := h1.Decode(ext); err != nil {
				checkDecodeError(t, tc.name, err)
				continue
			}
			enc1 := h1.Encode()
			h2 := tc.new()
			if err := h2.Decode(enc1); err != nil {
				t.Fatalf("%s: re-decode of %q: %v", tc.name, enc1, err)
			}
			if !reflect.DeepEqual(h1, h2) {
				t.Fatalf("%s: round trip changed the value: %+v → %+v", tc.name, h1, h2)
			}
			if enc2 := h2.Encode(); !reflect.DeepEqual(enc1, enc2) {
				t.Fatalf("%s: encoding not stable: %q → %q", tc.name, enc1, enc2)
			}
		}
		for _, c := range []int32{code.SendMessage, code.SendMessageV2, code.SendBatchMessage,
			code.SendReplyMessage, code.SendReplyMessageV2} {
			h, err := DecodeSend(c, ext)
			if err != nil {
				checkDecodeError(t, "DecodeSend", err)
				continue
			}
			var back SendMessageRequestV2
			if err := back.Decode(h.Encode()); err != nil || !reflect.DeepEqual(back.SendMessageRequest, h.SendMessageRequest) {
				t.Fatalf("DecodeSend(%d): short round trip: %+v → %+v (%v)", c, h, back, err)
			}
		}
	})
}
