// Package lint checks the project's layering and hygiene rules that the compiler does
// not: imports point downward only, library code never prints, and there are no
// grab-bag packages.
package lint

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/rocketgo/rocketgo"

// forbidden lists, for each package prefix, the module packages it must never import.
var forbidden = map[string][]string{
	"proto":    {"remoting", "store", "broker", "namesrv", "client", "conf"},
	"remoting": {"store", "broker", "namesrv", "client", "conf"},
	"store":    {"broker", "namesrv", "client", "remoting", "conf"},
	"namesrv":  {"broker", "store", "client", "conf"},
	"broker":   {"client", "conf", "namesrv"},
	"client":   {"store", "broker", "namesrv", "conf"},
}

type goFile struct {
	rel     string // path relative to the repository root, slash-separated
	imports []string
	prints  bool // calls fmt.Print*
	test    bool
}

func repoFiles(t *testing.T) []goFile {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var files []goFile
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if name == ".git" || name == "testdata" || (path != root && fileExists(filepath.Join(path, "go.mod"))) {
				return filepath.SkipDir // nested modules follow their own rules
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		gf := goFile{rel: filepath.ToSlash(rel), test: strings.HasSuffix(path, "_test.go")}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			gf.imports = append(gf.imports, p)
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		gf.prints = strings.Contains(string(src), "fmt.Print")
		files = append(files, gf)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d Go files under %s; is the walk rooted right?", len(files), root)
	}
	return files
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Test files may reach across (a broker test starting a real NameServer), so only
// library code is checked.
func TestImportsPointDownward(t *testing.T) {
	for _, f := range repoFiles(t) {
		if f.test {
			continue
		}
		top, _, _ := strings.Cut(f.rel, "/")
		for _, imp := range f.imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			target, _, _ := strings.Cut(strings.TrimPrefix(imp, module+"/"), "/")
			for _, bad := range forbidden[top] {
				if target == bad {
					t.Errorf("%s imports %s: %s must not depend on %s", f.rel, imp, top, bad)
				}
			}
		}
	}
}

func TestOnlyTheServerImportsGnet(t *testing.T) {
	for _, f := range repoFiles(t) {
		for _, imp := range f.imports {
			if strings.HasPrefix(imp, "github.com/panjf2000/gnet") && !strings.HasPrefix(f.rel, "remoting/server/") {
				t.Errorf("%s imports gnet; only remoting/server/ may", f.rel)
			}
		}
	}
}

func TestOnlyConfAndBinImportViper(t *testing.T) {
	for _, f := range repoFiles(t) {
		for _, imp := range f.imports {
			if strings.HasPrefix(imp, "github.com/spf13/viper") && !strings.HasPrefix(f.rel, "conf/") && !strings.HasPrefix(f.rel, "bin/") {
				t.Errorf("%s imports viper; only conf/ and bin/ may", f.rel)
			}
		}
	}
}

func TestLibraryCodeDoesNotPrint(t *testing.T) {
	for _, f := range repoFiles(t) {
		if f.test || strings.HasPrefix(f.rel, "bin/") || strings.HasPrefix(f.rel, "tests/") {
			continue
		}
		if f.prints {
			t.Errorf("%s calls fmt.Print*: library code logs through its injected zerolog.Logger", f.rel)
		}
	}
}

func TestNoGrabBagPackages(t *testing.T) {
	for _, f := range repoFiles(t) {
		for _, part := range strings.Split(filepath.Dir(f.rel), "/") {
			switch part {
			case "util", "utils", "common", "base", "helper", "helpers", "misc":
				t.Errorf("%s lives in a %q package: name packages for what they own", f.rel, part)
			}
		}
	}
}

func TestNoGlobalLogger(t *testing.T) {
	for _, f := range repoFiles(t) {
		for _, imp := range f.imports {
			if imp == "github.com/rs/zerolog/log" {
				t.Errorf("%s imports zerolog/log: pass a zerolog.Logger down instead", f.rel)
			}
		}
	}
}
