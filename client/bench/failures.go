package bench

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// maxReasons bounds the distinct error texts kept: errors that embed ever-changing
// values (offsets, ids) must not grow memory without bound. Texts past it are counted
// under one "other reasons" entry.
const maxReasons = 32

// failures tallies why sends failed: each distinct error text with its count and the
// time it was first seen, in order of first appearance.
type failures struct {
	mu      sync.Mutex
	byText  map[string]*reason
	order   []*reason
	other   int64
	printed int // order[:printed] were printed by printNew
}

type reason struct {
	text  string
	first time.Time
	count int64
}

// add counts one failure.
func (f *failures) add(err error) {
	text := strings.ReplaceAll(err.Error(), "\n", " ")
	f.mu.Lock()
	defer f.mu.Unlock()
	if r, ok := f.byText[text]; ok {
		r.count++
		return
	}
	if len(f.order) >= maxReasons {
		f.other++
		return
	}
	if f.byText == nil {
		f.byText = map[string]*reason{}
	}
	r := &reason{text: text, first: time.Now(), count: 1}
	f.byText[text] = r
	f.order = append(f.order, r)
}

// printNew writes one line for each reason first seen since the previous call, with
// its count so far.
func (f *failures) printNew(w io.Writer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.order[f.printed:] {
		fmt.Fprintf(w, "%s Send Failed reason (new, %d so far): %s\n", r.first.Format("15:04:05"), r.count, r.text)
	}
	f.printed = len(f.order)
}

// printSummary writes every reason with its total count.
func (f *failures) printSummary(w io.Writer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.order {
		fmt.Fprintf(w, "[summary] Send Failed reason (%d, first at %s): %s\n", r.count, r.first.Format("15:04:05"), r.text)
	}
	if f.other > 0 {
		fmt.Fprintf(w, "[summary] Send Failed reason (%d): other reasons past the first %d\n", f.other, maxReasons)
	}
}

// first is the text of the first reason seen, "" when none.
func (f *failures) first() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.order) == 0 {
		return ""
	}
	return f.order[0].text
}
