package proctest

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Pid returns the process id of the child's current run, 0 when it is not running.
func (p *Proc) Pid() int {
	cmd, done := p.current()
	if cmd == nil || cmd.Process == nil || closed(done) {
		return 0
	}
	return cmd.Process.Pid
}

// RSS returns the child's resident set size in bytes (VmRSS of /proc/<pid>/status).
func (p *Proc) RSS() (int64, error) {
	pid := p.Pid()
	if pid == 0 {
		return 0, fmt.Errorf("%s is not running", p.Name)
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("VmRSS line %q: %w", sc.Text(), err)
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
