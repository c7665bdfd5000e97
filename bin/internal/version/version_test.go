package version

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/rocketgo/rocketgo", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "01d812951fb9dd659cbf04fce97333d16963f492"},
			{Key: "vcs.time", Value: "2026-01-02T03:04:05Z"},
			{Key: "vcs.modified", Value: "true"},
		}}
	want := "mqbroker github.com/rocketgo/rocketgo v1.2.3 revision 01d812951fb9dd659cbf04fce97333d16963f492 2026-01-02T03:04:05Z modified go1.26.8"
	if got := format("mqbroker", bi); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	bi.Settings = nil
	if got := format("mqbench", bi); got != "mqbench github.com/rocketgo/rocketgo v1.2.3 revision unknown go1.26.8" {
		t.Fatalf("without VCS stamps: %q", got)
	}
}

func TestStringNamesTheModule(t *testing.T) {
	v := String("mqbroker")
	if !strings.HasPrefix(v, "mqbroker github.com/rocketgo/rocketgo ") || !strings.Contains(v, " revision ") || !strings.Contains(v, " go1.") {
		t.Fatalf("version %q", v)
	}
}

// Every program in bin/, built as a user builds it, prints the commit it was built from.
func TestProgramsPrintTheirRevision(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every program")
	}
	out, err := exec.Command("git", "rev-parse", "HEAD", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("no git checkout to build from: %v", err)
	}
	lines := strings.Fields(string(out))
	// The go command stamps a clone, not a worktree (whose .git is a file).
	want := "revision unknown"
	if fi, err := os.Stat(filepath.Join(lines[1], ".git")); err == nil && fi.IsDir() {
		want = "revision " + lines[0]
	} else {
		t.Logf("%s is a git worktree: the go command stamps no revision", lines[1])
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-buildvcs=true", "-o", dir, "../../mqbroker", "../../mqnamesrv", "../../mqbench")
	build.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, prog := range []string{"mqbroker", "mqnamesrv", "mqbench"} {
		out, err = exec.Command(filepath.Join(dir, prog), "-version").Output()
		if err != nil {
			t.Fatalf("%s -version: %v", prog, err)
		}
		line := strings.TrimSpace(string(out))
		if !strings.HasPrefix(line, prog+" github.com/rocketgo/rocketgo ") || !strings.Contains(line, " "+want+" ") || strings.Contains(line, "\n") {
			t.Errorf("%s -version printed %q, want one line with the module and %q", prog, line, want)
		}
	}
}
