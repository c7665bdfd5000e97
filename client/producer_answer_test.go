package client

import (
	"strings"
	"testing"

	"github.com/rocketgo/rocketgo/proto/header"
)

// checkSendAnswer feeds entries (key, value, key, value, ...) to a sendAnswer and holds
// its decode to header.SendMessageResponse.Decode of the map the entries make (the last
// value of a key wins in both).
func checkSendAnswer(t *testing.T, entries []string) {
	t.Helper()
	// Entries as strings (a JSON header) and as bytes (a binary one), the bytes
	// overwritten after each call as the read buffer would be.
	for _, asBytes := range []bool{false, true} {
		var a sendAnswer
		m := map[string]string{}
		for i := 0; i+1 < len(entries); i += 2 {
			if asBytes {
				k, v := []byte(entries[i]), []byte(entries[i+1])
				a.ReadExtBytes(k, v)
				clear(k)
				clear(v)
			} else {
				a.ReadExt(entries[i], entries[i+1])
			}
			m[entries[i]] = entries[i+1]
		}
		got, err := a.decode()
		var want header.SendMessageResponse
		werr := want.Decode(m)
		if (err == nil) != (werr == nil) || err != nil && err.Error() != werr.Error() {
			t.Fatalf("entries %q (bytes %v): decode error %v, map decode error %v", entries, asBytes, err, werr)
		}
		if err == nil && got != want {
			t.Fatalf("entries %q (bytes %v): decode %+v, map decode %+v", entries, asBytes, got, want)
		}
		// The asynchronous send's decode, with the id copied into the result's box,
		// gives the same, and the box's id outlives the answer's reuse.
		box := new(sendResultBox)
		boxed, berr := a.decodeIn(box)
		a.reset()
		a.ReadExtBytes([]byte("msgId"), []byte("FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"))
		if (berr == nil) != (werr == nil) || berr == nil && boxed != want {
			t.Fatalf("entries %q (bytes %v): boxed decode %+v (%v), map decode %+v (%v)", entries, asBytes, boxed, berr, want, werr)
		}
	}
}

func TestSendAnswerMatchesDecode(t *testing.T) {
	ok := []string{"msgId", "7F00000100002A9F0000000000000064", "queueId", "3", "queueOffset", "12"}
	for _, entries := range [][]string{
		ok,
		append(ok, "transactionId", "tx", "MSG_REGION", "DefaultRegion", "TRACE_ON", "true", "extra", "x"),
		append(ok, "TRACE_ON", "false", "queueId", "4"), // the last value wins
		append(ok, "TRACE_ON", "TRUE"),                  // case-insensitive, via Decode
		append(ok, "TRACE_ON", "yes"),
		append(ok, "MSG_REGION", "R1", "MSG_REGION", "R2", "MSG_REGION", "R1"),
		{"msgId", "m", "queueId", "3"},
		{"msgId", "m", "queueId", "2147483648", "queueOffset", "0"},
		{"msgId", "m", "queueId", "+1", "queueOffset", "-9223372036854775808"},
		{"msgId", "m", "queueId", " 1", "queueOffset", "1"},
		// Numbers parsed on the spot from a binary header, and those left to Decode.
		{"msgId", "m", "queueId", "-0", "queueOffset", "007"},
		{"msgId", "m", "queueId", "0", "queueOffset", "-12"},
		{"msgId", "m", "queueId", "-2147483649", "queueOffset", "1"},
		{"msgId", "m", "queueId", "2147483647", "queueOffset", "999999999999999999"},
		{"msgId", "m", "queueId", "1", "queueOffset", "9223372036854775807"},
		{"msgId", "m", "queueId", "1", "queueOffset", "-"},
		{"msgId", "m", "queueId", "1", "queueOffset", "1x"},
		{"msgId", "m", "queueId", "1", "queueOffset", "5", "queueOffset", "x"},
		{"msgId", "m", "queueId", "1", "queueOffset", "x", "queueOffset", "5"},
		// Offset message ids kept in the answer (up to 32 bytes) and longer ones
		// (an IPv6 broker's), and the last of several winning either way.
		{"msgId", "7F00000100002A9F0000000000000064", "queueId", "1", "queueOffset", "5"},
		{"msgId", "7F00000100002A9F0000000000000064", "queueId", "1", "queueOffset", "5", "msgId", ""},
		{"msgId", "00000000000000000000FFFF7F00000100002A9F0000000000000064", "queueId", "1", "queueOffset", "5"},
		{"msgId", "7F00000100002A9F0000000000000064", "msgId", "00000000000000000000FFFF7F00000100002A9F0000000000000064", "queueId", "1", "queueOffset", "5"},
		{"msgId", "00000000000000000000FFFF7F00000100002A9F0000000000000064", "msgId", "short", "queueId", "1", "queueOffset", "5"},
		nil,
	} {
		checkSendAnswer(t, entries)
	}
}

// FuzzSendAnswer: entries separated by NUL bytes (key NUL value NUL ...).
func FuzzSendAnswer(f *testing.F) {
	f.Add("msgId\x00m\x00queueId\x003\x00queueOffset\x0012")
	f.Add("msgId\x00m\x00queueId\x003\x00queueOffset\x0012\x00TRACE_ON\x00tRuE\x00MSG_REGION\x00r")
	f.Add("queueId\x00x\x00queueOffset\x00")
	f.Fuzz(func(t *testing.T, s string) {
		checkSendAnswer(t, strings.Split(s, "\x00"))
	})
}
