package lint

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// serverOnlyDeps are the modules behind the broker's event-loop server (gnet, its
// goroutine pool ants, its logger zap and zap's file rotation lumberjack). An
// application that only produces and consumes must not link them.
var serverOnlyDeps = []string{"github.com/panjf2000/", "go.uber.org/zap", "gopkg.in/natefinch/lumberjack"}

// depGraph runs `go list -deps` on patterns from the repository root and returns every
// package it lists (the patterns' own packages first, then their dependencies, tests
// excluded) with its direct imports.
func depGraph(t *testing.T, patterns ...string) (roots []string, imports map[string][]string) {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	list := func(args ...string) []string {
		cmd := exec.Command("go", append([]string{"list"}, args...)...)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			msg := err.Error()
			if ee, ok := err.(*exec.ExitError); ok {
				msg = string(ee.Stderr)
			}
			t.Fatalf("go list %s: %s", strings.Join(args, " "), msg)
		}
		return strings.Split(strings.TrimSpace(string(out)), "\n")
	}
	roots = list(patterns...)
	imports = make(map[string][]string)
	for _, line := range list(append([]string{"-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}"}, patterns...)...) {
		fields := strings.Fields(line)
		if len(fields) > 0 {
			imports[fields[0]] = fields[1:]
		}
	}
	return roots, imports
}

// importChain returns the shortest import path from one of roots to target, both ends
// included, or nil if none of them reaches it.
func importChain(roots []string, imports map[string][]string, target string) []string {
	prev := make(map[string]string)
	queue := slices.Clone(roots)
	for _, r := range roots {
		prev[r] = ""
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == target {
			var chain []string
			for ; p != ""; p = prev[p] {
				chain = append(chain, p)
			}
			slices.Reverse(chain)
			return chain
		}
		for _, next := range imports[p] {
			if _, seen := prev[next]; !seen {
				prev[next] = p
				queue = append(queue, next)
			}
		}
	}
	return nil
}

// TestSDKDoesNotLinkServerDeps keeps the Go SDK light: client/... reaches the broker
// over remoting/transport and remoting/codec only, never the gnet server.
func TestSDKDoesNotLinkServerDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	roots, imports := depGraph(t, "./client/...")
	// One error per forbidden module, naming the package reached by the shortest chain.
	for _, prefix := range serverOnlyDeps {
		var chain []string
		n := 0
		for p := range imports {
			if !strings.HasPrefix(p, prefix) {
				continue
			}
			n++
			if c := importChain(roots, imports, p); chain == nil || len(c) < len(chain) {
				chain = c
			}
		}
		if n > 0 {
			t.Errorf("client/... depends on %s (%d packages under %s): %s",
				chain[len(chain)-1], n, prefix, strings.Join(chain, " → "))
		}
	}
	if _, ok := imports[module+"/remoting/transport"]; !ok {
		t.Fatalf("client/... does not depend on %s/remoting/transport; is the graph right?", module)
	}
}

// TestCodecImportsNothingOutsideTheModule keeps remoting/codec fuzzable and linkable
// anywhere: the standard library and this module only.
func TestCodecImportsNothingOutsideTheModule(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	roots, imports := depGraph(t, "./remoting/codec")
	for p := range imports {
		first, _, _ := strings.Cut(p, "/")
		if strings.Contains(first, ".") && !strings.HasPrefix(p, module+"/") {
			t.Errorf("remoting/codec depends on %s: %s", p, strings.Join(importChain(roots, imports, p), " → "))
		}
	}
}
