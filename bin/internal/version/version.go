// Package version is what every program in bin/ prints for -version, read from the
// build information the Go toolchain stamps into the binary.
package version

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
)

// String is what every program prints for -version: the module, its version, and the
// VCS revision it was built from (with its commit time, and "modified" when the work tree
// had uncommitted changes), as the Go toolchain stamped them into the binary. A binary
// built with -buildvcs=false, or outside a git clone (the go command does not stamp a
// git worktree, whose .git is a file), says "revision unknown".
func String(program string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return program + ": no build information"
	}
	return format(program, bi)
}

// format writes the version line of bi.
func format(program string, bi *debug.BuildInfo) string {
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

// Parse adds -version to fs, parses args and refuses positional arguments. When -version
// is given it prints String(fs.Name()) to stdout and reports printed, and the program
// exits.
func Parse(fs *flag.FlagSet, args []string, stdout io.Writer) (printed bool, err error) {
	show := fs.Bool("version", false, "print the version and VCS revision and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return false, err
		}
		return false, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if !*show {
		return false, nil
	}
	_, err = fmt.Fprintln(stdout, String(fs.Name()))
	return true, err
}

// ErrUsage marks a command line the flag set refused; the flag package has already
// printed the problem and the usage.
var ErrUsage = errors.New("usage")

// Exit ends a program after run returned err, with the exit statuses of Go's flag
// package: 0 for success and -h, 2 for a bad command line, 1 for anything else (with the
// reason on stderr, prefixed with the program's name).
func Exit(prog string, err error) {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, ErrUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, prog+":", err)
		os.Exit(1)
	}
}
