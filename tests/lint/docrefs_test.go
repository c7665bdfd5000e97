package lint

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Code and documents cite the project's documents by file and section, for example
// "docs/protocol.md §4.1" in a comment. TestDocReferences keeps those citations honest:
// every cited Markdown file must exist in the repository, and every cited section must
// be a heading of that file (or an item of a numbered list directly under a heading, as
// "§11.14" is the 14th gotcha of section 11).

// mdExt is built so that this file's own source cites no document.
const mdExt = "." + "md"

var (
	// A path ending in the Markdown extension; a URL is recognised by what precedes it.
	mdFileRE = regexp.MustCompile(`[A-Za-z0-9_./-]*[A-Za-z0-9_-]\` + mdExt + `\b`)
	// One section after a file: "§4.1", "§ 2", "Appendix B".
	sectionRE = `(?:§\s?[0-9]+(?:\.[0-9]+)*|Appendix [A-Z]\b)`
	// The sections right after a file: "§2.3, §4.7", "§1.4 and Appendix A".
	sectionListRE = regexp.MustCompile(`^\s*` + sectionRE + `(?:\s*(?:,|and|&)\s*` + sectionRE + `)*`)
	oneSectionRE  = regexp.MustCompile(sectionRE)
	headingRE     = regexp.MustCompile(`^#{1,6}\s+(?:§\s?)?([0-9]+(?:\.[0-9]+)*)\.?(?:\s|$)`)
	appendixRE    = regexp.MustCompile(`^#{1,6}\s+Appendix\s+([A-Z])\b`)
	listItemRE    = regexp.MustCompile(`^([0-9]+)\.\s`)
	// Comment markers that continue a sentence onto the next line.
	commentLeadRE = regexp.MustCompile(`^\s*(?://+|#+|\*|--)?\s*`)
)

// docRef is one citation: the file it names and the sections it names, if any.
type docRef struct {
	from     string // citing file, slash-separated, relative to the root
	line     int
	target   string // as written
	sections []string
}

func TestDocReferences(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	files := citingFiles(t, root)
	if len(files) < 10 {
		t.Fatalf("found only %d files to scan under %s; is the walk rooted right?", len(files), root)
	}
	sections := map[string]map[string]bool{} // resolved path → section ids
	refs := 0
	for _, rel := range files {
		src, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range findDocRefs(rel, string(src)) {
			refs++
			path, ok := resolveDoc(root, r)
			if !ok {
				t.Errorf("%s:%d: cites %s, which is not a file of the repository", r.from, r.line, r.target)
				continue
			}
			if len(r.sections) == 0 {
				continue
			}
			have, ok := sections[path]
			if !ok {
				have = docSections(t, filepath.Join(root, filepath.FromSlash(path)))
				sections[path] = have
			}
			for _, s := range r.sections {
				if !have[s] {
					if !strings.HasPrefix(s, "Appendix") {
						s = "§" + s
					}
					t.Errorf("%s:%d: cites %s %s, but %s has no such section", r.from, r.line, r.target, s, path)
				}
			}
		}
	}
	t.Logf("%d document references in %d files", refs, len(files))
}

// citingFiles lists the files whose citations are checked: every tracked Go file, shell
// script, README and docs/ document (the walk stands in when git is not available).
func citingFiles(t *testing.T, root string) []string {
	t.Helper()
	var all []string
	if out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output(); err == nil && len(out) > 0 {
		for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
			all = append(all, f)
		}
	} else {
		err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == ".git" {
				return filepath.SkipDir
			}
			if !d.IsDir() {
				rel, _ := filepath.Rel(root, path)
				all = append(all, filepath.ToSlash(rel))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var files []string
	for _, f := range all {
		base := f[strings.LastIndex(f, "/")+1:]
		switch {
		case strings.HasSuffix(f, ".go"), strings.HasSuffix(f, ".sh"), base == "README"+mdExt,
			strings.HasPrefix(f, "docs/") && strings.HasSuffix(f, mdExt):
			files = append(files, f)
		}
	}
	return files
}

// findDocRefs returns the citations in src. Lines are joined with their comment markers
// removed, so a citation broken across comment lines ("docs/protocol.md" at the end of
// one, "§2.4" at the start of the next) is still one citation.
func findDocRefs(rel, src string) []docRef {
	lines := strings.Split(src, "\n")
	var text strings.Builder
	starts := make([]int, len(lines))
	for i, l := range lines {
		starts[i] = text.Len()
		if i > 0 {
			l = commentLeadRE.ReplaceAllString(l, "")
		}
		text.WriteString(l)
		text.WriteByte(' ')
	}
	joined := text.String()
	lineOf := func(off int) int {
		i := 0
		for i+1 < len(starts) && starts[i+1] <= off {
			i++
		}
		return i + 1
	}
	var refs []docRef
	for _, m := range mdFileRE.FindAllStringIndex(joined, -1) {
		target := joined[m[0]:m[1]]
		if strings.HasPrefix(target, "//") || (m[0] > 0 && joined[m[0]-1] == ':') {
			continue // a URL
		}
		r := docRef{from: rel, line: lineOf(m[0]), target: target}
		if list := sectionListRE.FindString(joined[m[1]:]); list != "" {
			for _, s := range oneSectionRE.FindAllString(list, -1) {
				s = strings.TrimSpace(strings.TrimPrefix(s, "§"))
				r.sections = append(r.sections, s)
			}
		}
		refs = append(refs, r)
	}
	return refs
}

// resolveDoc finds the cited file: relative to the citing file's folder first (a link
// between documents), then to the repository root.
func resolveDoc(root string, r docRef) (string, bool) {
	dir := ""
	if i := strings.LastIndex(r.from, "/"); i >= 0 {
		dir = r.from[:i]
	}
	for _, cand := range []string{filepath.ToSlash(filepath.Join(dir, r.target)), filepath.ToSlash(filepath.Clean(r.target))} {
		if strings.HasPrefix(cand, "../") || cand == ".." {
			continue // outside the repository
		}
		if st, err := os.Stat(filepath.Join(root, filepath.FromSlash(cand))); err == nil && !st.IsDir() {
			return cand, true
		}
	}
	return "", false
}

// docSections lists the section ids of a Markdown file: numbered headings ("4.1" from
// "### 4.1 CommitLog record"), appendices ("Appendix C"), and the items of a numbered
// list directly under a heading numbered N ("11.14" for item 14 under "## 11.").
func docSections(t *testing.T, path string) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	current := "" // number of the heading the following lines are under
	fence := false
	for _, l := range strings.Split(string(src), "\n") {
		if strings.HasPrefix(l, "```") {
			fence = !fence
			continue
		}
		if fence {
			continue
		}
		if m := headingRE.FindStringSubmatch(l); m != nil {
			current = m[1]
			ids[current] = true
			continue
		}
		if m := appendixRE.FindStringSubmatch(l); m != nil {
			current = ""
			ids["Appendix "+m[1]] = true
			continue
		}
		if strings.HasPrefix(l, "#") {
			current = ""
			continue
		}
		if m := listItemRE.FindStringSubmatch(l); m != nil && current != "" {
			ids[current+"."+m[1]] = true
		}
	}
	return ids
}

// TestDocReferenceParsing pins down what counts as a citation.
func TestDocReferenceParsing(t *testing.T) {
	src := "// see docs/protocol" + mdExt + " §2.3, §4.7 and\n// Appendix A; also docs/style" + mdExt + "\n" +
		"// §11 and https://example.com/x/README" + mdExt + " (a URL)\n"
	refs := findDocRefs("a/b.go", src)
	if len(refs) != 2 {
		t.Fatalf("got %d refs %+v, want 2", len(refs), refs)
	}
	if got := strings.Join(refs[0].sections, "|"); refs[0].line != 1 || got != "2.3|4.7|Appendix A" {
		t.Fatalf("first ref: got line %d sections %q, want line 1 sections 2.3|4.7|Appendix A", refs[0].line, got)
	}
	if got := strings.Join(refs[1].sections, "|"); refs[1].line != 2 || got != "11" {
		t.Fatalf("second ref: got line %d sections %q, want line 2 sections 11", refs[1].line, got)
	}

	dir := t.TempDir()
	doc := "# T\n## 0. Summary\n1. one\n2. two\n## 4. Encoding\n### 4.1 Record\n" +
		"```\n### 9.9 not a heading\n```\n## Appendix C. Facts\n3. not numbered under a section\n"
	if err := os.WriteFile(filepath.Join(dir, "x"+mdExt), []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	ids := docSections(t, filepath.Join(dir, "x"+mdExt))
	for _, want := range []string{"0", "0.1", "0.2", "4", "4.1", "Appendix C"} {
		if !ids[want] {
			t.Errorf("section %s missing from %v", want, ids)
		}
	}
	for _, bad := range []string{"9.9", "0.3", "Appendix C.3"} {
		if ids[bad] {
			t.Errorf("section %s found, want none", bad)
		}
	}
}
