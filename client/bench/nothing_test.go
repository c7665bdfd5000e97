package bench

import "testing"

// A consumer run that received nothing fails with one line naming the topic, the group,
// the time and the likely cause, which depends on where a new group starts.
func TestNothingConsumed(t *testing.T) {
	for _, tc := range []struct {
		fromFirst bool
		want      string
	}{
		{false, "consumer: no message received from topic T by group G in 3.0 s (a new group starts after the newest message unless -from-first)"},
		{true, "consumer: no message received from topic T by group G in 3.0 s (the topic holds no message, or they went to another group)"},
	} {
		err := nothingConsumed(LoadConfig{Topic: "T", Group: "G", FromFirst: tc.fromFirst}, "3.0")
		if err == nil || err.Error() != tc.want {
			t.Fatalf("from-first %v: got %v, want %q", tc.fromFirst, err, tc.want)
		}
	}
}
