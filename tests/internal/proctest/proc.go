package proctest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Bounds of the harness's waits.
const (
	// ReadyTimeout covers a start, recovery included, on a loaded machine.
	ReadyTimeout = 30 * time.Second
	// StopGrace is how long Stop waits for a clean exit after SIGTERM.
	StopGrace = 20 * time.Second
	// tailLines is how much of a child's output a failed test shows.
	tailLines = 200
)

// Spec describes a child process.
type Spec struct {
	Name string   // names the child in the test log
	Bin  string   // the program
	Args []string // its arguments
	Env  []string // added to Env(): the test's environment without ROCKETGO_ settings
	Dir  string   // working directory; "" for the test's
}

// Proc is a child process, started once or more with the same Spec.
type Proc struct {
	Name string

	t    testing.TB
	spec Spec
	out  *output

	mu    sync.Mutex
	cmd   *exec.Cmd
	done  chan struct{} // closed once the current run was reaped
	state *os.ProcessState
}

// Start starts a child. When the test ends the child is killed if still running, and
// the last lines of its output are logged if the test failed.
func Start(t testing.TB, spec Spec) *Proc {
	t.Helper()
	p := &Proc{Name: spec.Name, t: t, spec: spec, out: newOutput()}
	p.Start()
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("---- %s %s: last lines of its output ----\n%s", p.Name, strings.Join(spec.Args, " "), p.out.tail(tailLines))
		}
	})
	return p
}

// Start runs the child again, with the same Spec, after it exited or was killed. Its
// output continues the earlier runs', after a line that marks the new run.
func (p *Proc) Start() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !closed(p.done) {
		p.t.Fatalf("%s: start while running", p.Name)
	}
	p.out.mark(fmt.Sprintf("==== %s start %s", time.Now().Format("15:04:05.000"), p.Name))
	cmd := exec.Command(p.spec.Bin, childArgs(p.spec.Args)...)
	cmd.Dir = p.spec.Dir
	cmd.Env = Env(p.spec.Env...)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	// A test binary that dies without its cleanups (a panic, a timeout) takes its
	// children with it instead of leaving brokers running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.Name, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		p.mu.Lock()
		p.state = cmd.ProcessState
		p.mu.Unlock()
		close(done)
	}()
	p.cmd, p.done, p.state = cmd, done, nil
}

func closed(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// current returns the current run.
func (p *Proc) current() (*exec.Cmd, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd, p.done
}

// Exited reports whether the current run has ended.
func (p *Proc) Exited() bool {
	_, done := p.current()
	return done == nil || closed(done)
}

// Running reports whether the child is running.
func (p *Proc) Running() bool { return !p.Exited() }

// State is how the last run ended; nil while it runs.
func (p *Proc) State() *os.ProcessState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state
}

// Signal sends sig to the running child.
func (p *Proc) Signal(sig os.Signal) {
	p.t.Helper()
	cmd, _ := p.current()
	if err := cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v to %s: %v", sig, p.Name, err)
	}
}

// Kill sends SIGKILL — a crash: nothing is flushed, closed or unregistered — and waits
// until the child is reaped. A child that already exited is left as it is.
func (p *Proc) Kill() {
	cmd, done := p.current()
	if cmd == nil || closed(done) {
		return
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		p.t.Errorf("kill %s: %v", p.Name, err)
	}
	<-done
}

// Stop sends SIGTERM and waits StopGrace for the child to exit; one that does not is
// killed and fails the test.
func (p *Proc) Stop() {
	p.t.Helper()
	cmd, done := p.current()
	if cmd == nil || closed(done) {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(StopGrace):
		p.t.Errorf("%s did not exit within %v of SIGTERM; killing it", p.Name, StopGrace)
		p.Kill()
	}
}

// WaitExit waits up to d for the child to exit and returns its exit code (-1 when a
// signal ended it) and how long the wait took. It fails the test at the deadline.
func (p *Proc) WaitExit(d time.Duration) (int, time.Duration) {
	p.t.Helper()
	began := time.Now()
	_, done := p.current()
	select {
	case <-done:
	case <-time.After(d):
		p.t.Fatalf("%s still running %v later", p.Name, d)
	}
	return p.State().ExitCode(), time.Since(began)
}

// WaitLine waits up to d for an output line containing every one of subs, and fails
// the test when the child exits or the deadline passes first.
func (p *Proc) WaitLine(d time.Duration, subs ...string) string {
	p.t.Helper()
	l, err := p.AwaitLine(d, subs...)
	if err != nil {
		p.t.Fatal(err)
	}
	return l
}

// AwaitLine is WaitLine returning an error instead of failing the test.
func (p *Proc) AwaitLine(d time.Duration, subs ...string) (string, error) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	_, done := p.current()
	for {
		l, ok, changed := p.out.find(subs...)
		if ok {
			return l, nil
		}
		select {
		case <-changed:
		case <-done:
			if l, ok, _ := p.out.find(subs...); ok {
				return l, nil
			}
			return "", fmt.Errorf("%s exited (%v) without a line containing %q", p.Name, p.State(), subs)
		case <-timer.C:
			return "", fmt.Errorf("%s wrote no line containing %q within %v", p.Name, subs, d)
		}
	}
}

// FindLine returns the first output line so far containing every one of subs.
func (p *Proc) FindLine(subs ...string) (string, bool) {
	l, ok, _ := p.out.find(subs...)
	return l, ok
}

// Lines returns the complete output lines so far, of every run.
func (p *Proc) Lines() []string { return p.out.snapshot() }

// Output returns everything the child wrote so far, of every run.
func (p *Proc) Output() string { return p.out.String() }

// LogContains reports whether the child's output holds s.
func (p *Proc) LogContains(s string) bool { return strings.Contains(p.out.String(), s) }

// PortTaken reports whether the child exited because a port it was to bind was taken.
func (p *Proc) PortTaken() bool {
	_, ok := p.FindLine("address already in use")
	return ok && p.Exited()
}

// childArgs keeps a standalone broker's web dashboard off its fixed default port
// (:8080): tests that want it pass -dashboard themselves.
func childArgs(args []string) []string {
	if !slices.Contains(args, "-standalone") || slices.ContainsFunc(args, func(a string) bool {
		return strings.HasPrefix(a, "-dashboard")
	}) {
		return args
	}
	return append(slices.Clone(args), "-dashboard", "")
}
