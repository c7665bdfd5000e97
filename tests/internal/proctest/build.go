package proctest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Binaries are the built programs and the module root they were built from.
type Binaries struct {
	Root    string // the directory of rocketgo's go.mod
	Namesrv string // bin/mqnamesrv
	Broker  string // bin/mqbroker
	// Controller is bin/mqcontroller (controller mode, docs/failover.md).
	Controller string
}

var built struct {
	once sync.Once
	bin  Binaries
	err  error
}

// Build skips the test under -short and otherwise builds bin/mqnamesrv and
// bin/mqbroker of the working tree once per test binary, into a directory of the
// user's temporary directory that later runs reuse (Go's build cache makes the rebuild
// cheap). Each program is written under a name of this process and renamed into place,
// so packages building at the same time and children still running an older build are
// not disturbed.
func Build(t testing.TB) Binaries {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs bin/mqnamesrv and bin/mqbroker")
	}
	built.once.Do(func() { built.bin, built.err = build() })
	if built.err != nil {
		t.Fatalf("build the programs: %v", built.err)
	}
	return built.bin
}

func build() (Binaries, error) {
	root, err := moduleRoot()
	if err != nil {
		return Binaries{}, err
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return Binaries{}, fmt.Errorf("no go tool: %w", err)
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("rocketgo-proctest-bin-%d", os.Getuid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Binaries{}, err
	}
	b := Binaries{Root: root}
	for _, p := range []struct {
		pkg string
		dst *string
	}{
		{"./bin/mqnamesrv", &b.Namesrv},
		{"./bin/mqbroker", &b.Broker},
		{"./bin/mqcontroller", &b.Controller},
	} {
		final := filepath.Join(dir, filepath.Base(p.pkg))
		tmp := fmt.Sprintf("%s.%d.tmp", final, os.Getpid())
		cmd := exec.Command(goTool, "build", "-o", tmp, p.pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return Binaries{}, fmt.Errorf("go build %s: %v\n%s", p.pkg, err, out)
		}
		if err := os.Rename(tmp, final); err != nil {
			return Binaries{}, err
		}
		*p.dst = final
	}
	return b, nil
}

// moduleRoot is the directory of the main module's go.mod: three levels above this
// file, found from the source path so that it works from any package directory and
// from the nested modules that import this one.
func moduleRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the harness source")
	}
	root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", "..", ".."))
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("module root %s: %w", root, err)
	}
	return root, nil
}
