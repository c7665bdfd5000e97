package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// figureNames are the line names of the figures, by the letter -phases selects them with.
var figureNames = map[string]string{"a": "a_async_pub", "b": "b_sync_pub", "c": "c_pull_consume", "d": "d_e2e_latency"}

// figureLines returns the names of the lines the figures of phases print
// ("label.a_async_pub", ...), or an error naming a letter that is no figure.
func figureLines(label, phases string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(phases, ",") {
		p = strings.TrimSpace(p)
		name, ok := figureNames[p]
		if !ok {
			return nil, fmt.Errorf("-phases %q: %q is not one of a, b, c, d", phases, p)
		}
		out = append(out, label+"."+name)
	}
	return out, nil
}

// figureWatch passes the figure lines on to w and remembers them, so that a run whose
// figure printed nothing, or counted no message, ends with an error.
type figureWatch struct {
	w       io.Writer
	mu      sync.Mutex
	partial []byte
	lines   []string
}

func (f *figureWatch) Write(p []byte) (int, error) {
	f.mu.Lock()
	f.partial = append(f.partial, p...)
	for {
		i := bytes.IndexByte(f.partial, '\n')
		if i < 0 {
			break
		}
		f.lines = append(f.lines, string(f.partial[:i]))
		f.partial = f.partial[i+1:]
	}
	f.mu.Unlock()
	return f.w.Write(p)
}

// check returns an error unless each of want was printed with a message count above 0.
func (f *figureWatch) check(want []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, name := range want {
		var line string
		for _, l := range f.lines {
			if fs := strings.Fields(l); len(fs) > 0 && fs[0] == name {
				line = l
			}
		}
		switch {
		case line == "":
			return fmt.Errorf("figure %s printed nothing", name)
		case strings.Contains(" "+line+" ", " msgs=0 "):
			return fmt.Errorf("figure %s measured no message: %s", name, line)
		}
	}
	return nil
}
