package jsonstr

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAppend(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"<&>", `"<&>"`},
		{"tab\tnl\ncr\r", `"tab\tnl\ncr\r"`},
		{"\x00\x1f", `"\u0000\u001f"`},
		{"héllo 世界", `"héllo 世界"`},
		{"bad\xffutf8", `"bad\ufffdutf8"`},
		{"\b\f", `"\b\f"`},
		{"line\u2028sep\u2029", `"line\u2028sep\u2029"`},
	}
	for _, tt := range tests {
		got := string(Append(nil, tt.in))
		if got != tt.want {
			t.Fatalf("Append(%q): got %s, want %s", tt.in, got, tt.want)
		}
		var back string
		if err := json.Unmarshal([]byte(got), &back); err != nil {
			t.Fatalf("Append(%q) = %s: not a JSON string: %v", tt.in, got, err)
		}
		if want := strings.ToValidUTF8(tt.in, "\uFFFD"); back != want {
			t.Fatalf("round trip of %q: got %q, want %q", tt.in, back, want)
		}
	}
}
