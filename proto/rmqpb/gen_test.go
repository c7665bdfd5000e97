package rmqpb

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedCodeIsCurrent regenerates the Go code from the .proto files into a
// temporary folder and compares it with the committed files. It needs protoc,
// protoc-gen-go and protoc-gen-go-grpc (installed by .ci/run); without them it skips,
// saying which is missing.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	for _, tool := range []string{"protoc", "protoc-gen-go", "protoc-gen-go-grpc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed: cannot check the generated code", tool)
		}
	}
	src, err := os.ReadFile("gen.go")
	if err != nil {
		t.Fatal(err)
	}
	var args []string
	for _, line := range strings.Split(string(src), "\n") {
		if rest, ok := strings.CutPrefix(line, "//go:generate protoc "); ok {
			args = strings.Fields(rest)
		}
	}
	if args == nil {
		t.Fatal("gen.go has no //go:generate protoc line")
	}
	out := t.TempDir()
	for i, a := range args {
		for _, flag := range []string{"--go_out=", "--go-grpc_out="} {
			if strings.HasPrefix(a, flag) {
				args[i] = flag + out
			}
		}
	}
	cmd := exec.Command("protoc", args...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("protoc: %v\n%s", err, b)
	}
	for _, f := range []string{"definition.pb.go", "service.pb.go", "service_grpc.pb.go"} {
		want, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Fatalf("regenerated %s: %v", f, err)
		}
		got, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what go generate ./proto/rmqpb makes now: regenerate and commit it", f)
		}
	}
}
