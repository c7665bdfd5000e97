package filter

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// TestDataDriven runs the scripts of testdata/: a message's properties are set, then
// expressions are compiled and evaluated against them. eval prints, for each line of
// its input, the canonical form of the compiled expression and its three-valued result
// (TRUE, FALSE or NULL for unknown; a type mismatch is "mismatch"), and whether the
// broker delivers the message: only on TRUE. A refused expression prints its error.
//
//	props        (input: key=value lines; an empty input clears)
//	eval         (input: one expression a line)
func TestDataDriven(t *testing.T) {
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		msg := map[string]string{}
		get := func(name string) (string, bool) { v, ok := msg[name]; return v, ok }
		datadriven.RunTest(t, path, func(t *testing.T, d *datadriven.TestData) string {
			switch d.Cmd {
			case "props":
				msg = map[string]string{}
				var keys []string
				for _, l := range strings.Split(d.Input, "\n") {
					if l == "" {
						continue
					}
					k, v, ok := strings.Cut(l, "=")
					if !ok {
						d.Fatalf(t, "property %q is not key=value", l)
					}
					msg[k] = v
					keys = append(keys, k)
				}
				sort.Strings(keys)
				return fmt.Sprintf("%d properties: %s\n", len(keys), strings.Join(keys, " "))
			case "eval":
				var out strings.Builder
				for _, src := range strings.Split(d.Input, "\n") {
					e, err := Compile(src)
					if err != nil {
						fmt.Fprintf(&out, "%s\n  error: %v\n", src, err)
						continue
					}
					v, err := e.root.eval(get)
					result := v.String()
					if err != nil {
						result = "mismatch"
					}
					deliver := "skip"
					if e.Match(get) {
						deliver = "deliver"
					}
					fmt.Fprintf(&out, "%s\n  %s → %s, %s\n", src, e, result, deliver)
				}
				return out.String()
			}
			d.Fatalf(t, "unknown command %s", d.Cmd)
			return ""
		})
	})
}
