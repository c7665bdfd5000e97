package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinary builds mqadmin and checks what a shell user sees: the command list on
// stdout with status 0, and an unknown command refused on stderr with status 1
// (MQAdminStartup.java prints "The sub command %s not exist.").
func TestBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "mqadmin")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "help").Output()
	if err != nil || !strings.HasPrefix(string(out), "The most commonly used mqadmin commands are:\n") {
		t.Fatalf("mqadmin help: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "noSuchCommand")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || stderr.String() != "The sub command noSuchCommand not exist.\n" {
		t.Fatalf("unknown command: %v, stderr %q", err, stderr.String())
	}
	cmd = exec.Command(bin, "topicList")
	cmd.Env = append(os.Environ(), "NAMESRV_ADDR=")
	if err := cmd.Run(); !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("topicList without a name server: %v, want exit 1", err)
	}
}
