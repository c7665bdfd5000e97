package client

import (
	"maps"
	"strings"
	"testing"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// TestPullHeaderMatchesEncode: the map-free pull header carries exactly the entries of
// header.PullMessageRequest.Encode for the same fields, and a frame of it in either
// serialization decodes, as the broker decodes it, to those entries and that header.
func TestPullHeaderMatchesEncode(t *testing.T) {
	for _, h := range []header.PullMessageRequest{
		{ConsumerGroup: "G", Topic: "T", QueueID: 3, QueueOffset: 1 << 40, MaxMsgNums: 32,
			SysFlag: header.PullSuspend | header.PullSubscription | header.PullCommitOffset, CommitOffset: 99,
			SuspendTimeoutMillis: 20000, Subscription: "a || b", SubVersion: 1726731935123, ExpressionType: "TAG"},
		{ConsumerGroup: "ns%G", Topic: "%RETRY%ns%G", QueueID: 0, MaxMsgNums: 1, SysFlag: header.PullSuspend,
			Subscription: "", SubVersion: 0},
		{ConsumerGroup: "G", Topic: "T", QueueID: -1, QueueOffset: -5, CommitOffset: -1, Subscription: "a = '\"x\"\\'",
			ExpressionType: "SQL92"},
	} {
		want := h.Encode()
		ph := pullHeader{h}
		if got := codec.ExtMap(&ph); !maps.Equal(got, want) {
			t.Fatalf("entries: got %v, want %v", got, want)
		}
		var r pullRequest
		cmd := r.command(&h)
		if cmd.Code != code.PullMessage || cmd.Language != codec.DefaultLanguage || cmd.Version != codec.DefaultVersion || cmd.Body != nil {
			t.Fatalf("command %+v", cmd)
		}
		for _, ser := range []byte{codec.SerializeJSON, codec.SerializeRocketMQ} {
			cmd.Serialize, cmd.Opaque = ser, 7
			f, err := codec.AppendFrame(nil, cmd, 0)
			if err != nil {
				t.Fatal(err)
			}
			d, err := codec.DecodeFrame(f[codec.LengthPrefixBytes:])
			if err != nil {
				t.Fatalf("serialize %d: %v", ser, err)
			}
			if !maps.Equal(d.ExtFields, want) || d.Code != code.PullMessage || d.Opaque != 7 {
				t.Fatalf("serialize %d: decoded %+v, want entries %v", ser, d, want)
			}
			var back header.PullMessageRequest
			if err := back.Decode(d.ExtFields); err != nil || back != h {
				t.Fatalf("serialize %d: broker view %+v (%v), want %+v", ser, back, err, h)
			}
		}
	}
}

// entryWriter writes entries (key, value, ...) as given, repeated keys included, as no
// ExtWriter of the project does but a peer's header may.
type entryWriter []string

func (w entryWriter) WriteExt(e codec.ExtEncoder) codec.ExtEncoder {
	for i := 0; i+1 < len(w); i += 2 {
		e.Str(w[i], w[i+1])
	}
	return e
}

// checkPullAnswer frames an answer of entries (key, value, key, value, ...) in both
// serializations and holds what the pull loop reads of it through pullAnswer to
// header.PullMessageResponse.Decode of the map the generic decode makes: the same
// header, or the same error.
func checkPullAnswer(t *testing.T, entries []string) {
	t.Helper()
	for _, ser := range []byte{codec.SerializeJSON, codec.SerializeRocketMQ} {
		c := &codec.Command{Code: code.Success, Flag: codec.FlagResponse, Opaque: 3, Ext: entryWriter(entries), Body: []byte("records"), Serialize: ser}
		f, err := codec.AppendFrame(nil, c, 0)
		if err != nil {
			t.Fatalf("entries %q: %v", entries, err)
		}
		frame := f[codec.LengthPrefixBytes:]
		generic, err := codec.DecodeFrame(frame)
		if err != nil {
			t.Fatalf("entries %q serialize %d: %v", entries, ser, err)
		}
		var want header.PullMessageResponse
		werr := want.Decode(generic.ExtFields)

		var a pullAnswer
		a.ReadExt("nextBeginOffset", "1") // left from an earlier pull: reset forgets it
		a.reset()
		resp, err := codec.DecodeFrameExt(frame, &a)
		if err != nil {
			t.Fatalf("entries %q serialize %d: %v", entries, ser, err)
		}
		clear(frame) // the read buffer is reused: nothing may alias it
		got, gerr := a.header()
		if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
			t.Fatalf("entries %q serialize %d: error %v, map decode error %v", entries, ser, gerr, werr)
		}
		if gerr == nil && got != want {
			t.Fatalf("entries %q serialize %d: header %+v, map decode %+v", entries, ser, got, want)
		}
		if string(resp.Body) != "records" || resp.Opaque != 3 || resp.Code != code.Success {
			t.Fatalf("entries %q serialize %d: answer %+v", entries, ser, resp)
		}
		if ser == codec.SerializeRocketMQ && resp != a.ExtCommand() {
			t.Fatalf("a binary answer is decoded into the pull's own command")
		}
	}
}

func TestPullAnswerMatchesDecode(t *testing.T) {
	ok := []string{"suggestWhichBrokerId", "0", "nextBeginOffset", "12", "minOffset", "0", "maxOffset", "40"}
	for _, entries := range [][]string{
		ok,
		append(ok, "extra", "x", "nextBeginOffset", "13"), // the last value wins
		append(ok, "nextBeginOffset", "x", "nextBeginOffset", "14"),
		append(ok, "maxOffset", "41", "maxOffset", "x"),
		{"suggestWhichBrokerId", "1", "nextBeginOffset", "12", "minOffset", "0"}, // a key missing
		{"nextBeginOffset", "12"},
		{"suggestWhichBrokerId", "-0", "nextBeginOffset", "007", "minOffset", "+3", "maxOffset", " 4"},
		{"suggestWhichBrokerId", "0", "nextBeginOffset", "-12", "minOffset", "-9223372036854775808", "maxOffset", "9223372036854775807"},
		{"suggestWhichBrokerId", "0", "nextBeginOffset", "9223372036854775808", "minOffset", "0", "maxOffset", "1"},
		{"suggestWhichBrokerId", "0", "nextBeginOffset", "999999999999999999", "minOffset", "-", "maxOffset", "1"},
		{"suggestWhichBrokerId", "", "nextBeginOffset", "1", "minOffset", "0", "maxOffset", "1x"},
		nil,
	} {
		checkPullAnswer(t, entries)
	}
}

// FuzzPullAnswer: entries separated by NUL bytes (key NUL value NUL ...).
func FuzzPullAnswer(f *testing.F) {
	f.Add("suggestWhichBrokerId\x000\x00nextBeginOffset\x0012\x00minOffset\x000\x00maxOffset\x0040")
	f.Add("nextBeginOffset\x00007\x00nextBeginOffset\x00x\x00minOffset\x00")
	f.Fuzz(func(t *testing.T, s string) {
		entries := strings.Split(s, "\x00")
		if len(s) > 1<<14 {
			return // a header's value is bounded by the frame; keep the inputs small
		}
		checkPullAnswer(t, entries)
	})
}
