package conf

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Version is what every program prints for -version: the module, its version, and the
// VCS revision it was built from (with its commit time, and "modified" when the work tree
// had uncommitted changes), as the Go toolchain stamped them into the binary. A binary
// built with -buildvcs=false says "revision unknown".
func Version(program string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return program + ": no build information"
	}
	rev, when, modified := "unknown", "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s revision %s", program, bi.Main.Path, bi.Main.Version, rev)
	if when != "" {
		fmt.Fprintf(&b, " %s", when)
	}
	if modified {
		b.WriteString(" modified")
	}
	fmt.Fprintf(&b, " %s", bi.GoVersion)
	return b.String()
}
