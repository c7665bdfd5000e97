package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the usage goldens in testdata")

// mqbench runs the command line in this process and returns its exit status and output.
func mqbench(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

// TestUsageGolden: the usage texts a user reads, top-level and per command, are the
// goldens in testdata (regenerate with -update and read the diff); -h, help and
// help <command> print them on stdout with exit status 0.
func TestUsageGolden(t *testing.T) {
	cases := map[string][][]string{
		"usage.txt": {{"-h"}, {"help"}, {"--help"}},
	}
	for _, c := range commands {
		cases["usage_"+c.name+".txt"] = [][]string{{c.name, "-h"}, {"help", c.name}, {c.name, "-help"}}
	}
	for golden, lines := range cases {
		path := filepath.Join("testdata", golden)
		for i, args := range lines {
			code, out, errOut := mqbench(t, args...)
			if code != 0 || errOut != "" {
				t.Fatalf("mqbench %v: exit %d, stderr %q", args, code, errOut)
			}
			if *update && i == 0 {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Fatalf("mqbench %v printed:\n%s\nwant (%s):\n%s", args, out, path, want)
			}
		}
	}
}

// TestFlagsOfEachCommand: each command takes only the flags it uses.
func TestFlagsOfEachCommand(t *testing.T) {
	for cmd, absent := range map[string][]string{
		"consumer":  {"size", "threads", "async", "window", "batch", "cpuprofile", "n", "phases"},
		"producer":  {"from-first", "cpuprofile", "n", "phases", "accessKey"},
		"figures":   {"client", "topic", "threads", "count"},
		"summarize": {"namesrv", "v", "tls", "cpuprofile"},
	} {
		fs, _ := lookup(cmd).flags(nil, nil)
		for _, name := range absent {
			if fs.Lookup(name) != nil {
				t.Errorf("%s registers -%s, which it does not use", cmd, name)
			}
		}
	}
}

// TestUsageErrors: a command line mqbench cannot run prints one line saying why and the
// usage on stderr, nothing on stdout, and exits with status 2.
func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args      []string
		line      string
		usageHead string
	}{
		{nil, "mqbench: no command", "mqbench loads"},
		{[]string{"nope"}, `mqbench: unknown command "nope"`, "mqbench loads"},
		{[]string{"help", "nope"}, `mqbench: unknown command "nope"`, "mqbench loads"},
		{[]string{"producer", "-bogus"}, "mqbench: producer: flag provided but not defined: -bogus", "Usage: mqbench producer"},
		{[]string{"consumer", "-size", "10"}, "mqbench: consumer: flag provided but not defined: -size", "Usage: mqbench consumer"},
		{[]string{"producer", "-threads", "x"}, `mqbench: producer: invalid value "x" for flag -threads: parse error`, "Usage: mqbench producer"},
		{[]string{"producer", "extra"}, `mqbench: producer: unexpected argument "extra"`, "Usage: mqbench producer"},
		{[]string{"producer", "-client", "java"}, `mqbench: producer: -client "java": want sdk or official`, "Usage: mqbench producer"},
		{[]string{"consumer", "-client", "official", "-tls"}, "mqbench: consumer: -tls: TLS is not supported with -client official", "Usage: mqbench consumer"},
		{[]string{"figures", "-phases", "a,e"}, `mqbench: figures: -phases "a,e": "e" is not one of a, b, c, d`, "Usage: mqbench figures"},
		{[]string{"summarize", "-x"}, "mqbench: summarize: flag provided but not defined: -x", "Usage: mqbench summarize"},
	} {
		code, out, errOut := mqbench(t, tc.args...)
		lines := strings.SplitN(errOut, "\n", 3)
		if code != 2 || out != "" || len(lines) < 3 || lines[0] != tc.line || !strings.HasPrefix(lines[1], tc.usageHead) {
			t.Errorf("mqbench %q: exit %d, stdout %q, stderr:\n%s\nwant exit 2, %q then the usage %q", tc.args, code, out, errOut, tc.line, tc.usageHead)
		}
	}
}

// TestOfficialNotFound: -client official without mqbench-official anywhere says in one
// line how to build it, and exits with status 1.
func TestOfficialNotFound(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	t.Setenv(officialEnv, "")
	code, out, errOut := mqbench(t, "producer", "-client", "official", "-count", "1")
	if code != 1 || out != "" || strings.Count(errOut, "\n") != 1 ||
		!strings.Contains(errOut, "-client official needs the program mqbench-official") || !strings.Contains(errOut, "cd tests/mqbench-official && go build") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	missing := filepath.Join(t.TempDir(), "nothing")
	code, _, errOut = mqbench(t, "consumer", "-client", "official", "-official-bin", missing)
	if code != 1 || errOut != "mqbench: -client official: "+missing+" is not an executable file\n" {
		t.Fatalf("-official-bin %s: exit %d, stderr %q", missing, code, errOut)
	}
}

// TestFigureWatch: a figures run whose figure printed no line, or counted no message,
// is an error naming the figure.
func TestFigureWatch(t *testing.T) {
	want, err := figureLines("x", "a, c")
	if err != nil || strings.Join(want, " ") != "x.a_async_pub x.c_pull_consume" {
		t.Fatalf("figureLines: %v %v", want, err)
	}
	var out bytes.Buffer
	w := &figureWatch{w: &out}
	w.Write([]byte("x.a_async_pub msgs=10 stored=10 errs=0\nx.c_pull"))
	if err := w.check(want); err == nil || err.Error() != "figure x.c_pull_consume printed nothing" {
		t.Fatalf("half a line: %v", err)
	}
	w.Write([]byte("_consume msgs=0 ack=commit\n"))
	if err := w.check(want); err == nil || !strings.HasPrefix(err.Error(), "figure x.c_pull_consume measured no message") {
		t.Fatalf("msgs=0: %v", err)
	}
	w.Write([]byte("x.c_pull_consume msgs=10 ack=commit\n"))
	if err := w.check(want); err != nil {
		t.Fatalf("both printed: %v", err)
	}
	if !strings.HasPrefix(out.String(), "x.a_async_pub msgs=10") || strings.Count(out.String(), "\n") != 3 {
		t.Fatalf("passed on: %q", out.String())
	}
}
