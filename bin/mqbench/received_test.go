package main

import (
	"fmt"
	"strings"
	"testing"
)

// The consumer's output goes through unchanged, written in any pieces, and a run whose
// summary counts no message fails with one line naming the topic, group and time.
func TestConsumeWatch(t *testing.T) {
	out := "12:00:01 Consume TPS: 0 Average(B2C) RT(ms): 0.000 Average(S2C) RT(ms): 0.000 MAX(B2C) RT(ms): 0.000 MAX(S2C) RT(ms): 0.000\n" +
		"[summary] Consume TPS: %d Messages: %d Average(B2C) RT(ms): 0.000 Average(S2C) RT(ms): 0.000 MAX(B2C) RT(ms): 0.000 MAX(S2C) RT(ms): 0.000 Seconds: 3.0\n"
	for _, tc := range []struct {
		msgs      int
		fromFirst bool
		want      string
	}{
		{0, false, "consumer: no message received from topic T by group G in 3.0 s (a new group starts after the newest message unless -from-first)"},
		{0, true, "consumer: no message received from topic T by group G in 3.0 s (the topic holds no message, or they went to another group)"},
		{7, false, ""},
	} {
		text := fmt.Sprintf(out, tc.msgs*10, tc.msgs)
		var sb strings.Builder
		w := &consumeWatch{w: &sb}
		for i := 0; i < len(text); i += 13 { // pieces that split lines anywhere
			if _, err := w.Write([]byte(text[i:min(i+13, len(text))])); err != nil {
				t.Fatal(err)
			}
		}
		if sb.String() != text {
			t.Fatalf("output changed:\n%q\nwant\n%q", sb.String(), text)
		}
		err := w.check("T", "G", tc.fromFirst)
		if got := fmt.Sprint(err); (tc.want == "" && err != nil) || (tc.want != "" && got != tc.want) {
			t.Fatalf("%d messages, from-first %v: got %v, want %q", tc.msgs, tc.fromFirst, err, tc.want)
		}
	}
	// No summary (interrupted before it): nothing to judge.
	if err := (&consumeWatch{}).check("T", "G", false); err != nil {
		t.Fatal(err)
	}
}
