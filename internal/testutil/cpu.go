package testutil

import (
	"syscall"
	"testing"
	"time"
)

// ProcessCPU returns the CPU time (user and system) the process has used so far, every
// goroutine's included. Benchmarks divide its growth by b.N to report the CPU a piece
// of work costs where background goroutines share it.
func ProcessCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
