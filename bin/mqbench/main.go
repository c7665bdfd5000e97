// Command mqbench loads a running rocketgo (or RocketMQ) cluster, reached through its
// NameServer, the way RocketMQ's benchmark tools do, and prints the figures of docs/performance.md
// in the peer harness's "label.figure key=value" format:
//
//	mqbench figures  -namesrv 127.0.0.1:9876 -broker-pid 1234     # figures (a)-(d)
//	mqbench producer -namesrv 127.0.0.1:9876 -topic T -threads 4 -async
//	mqbench producer -client official -namesrv 127.0.0.1:9876     # Apache's Go client
//	mqbench consumer -namesrv 127.0.0.1:9876 -topic T -group G
//	mqbench figures  -namesrv 127.0.0.1:9876 -tls -tls-ca ca.pem     # the same over TLS
//	mqbench summarize < lines.txt                                 # medians per figure
//	mqbench -h | mqbench help [command] | mqbench <command> -h
//	mqbench -version
//
// Exit status: 0 on success, 1 when the run failed (including a producer run in which
// every send failed, a consumer run that received no message, and a figures run in
// which a figure printed nothing), 2 for a usage error. docs/mqbench.md lists the commands and flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is a mistake in the command line: exit status 2, with the usage.
type usageError struct {
	cmd string // the command whose usage applies; "" for the top-level one
	msg string
}

func (e *usageError) Error() string { return e.msg }

// run runs the command line args and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "mqbench: no command")
		writeUsage(stderr, "")
		return 2
	}
	err := dispatch(ctx, args, stdout, stderr)
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "mqbench:", ue.msg)
		writeUsage(stderr, ue.cmd)
		return 2
	default:
		fmt.Fprintln(stderr, "mqbench:", err)
		return 1
	}
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	switch cmd := args[0]; cmd {
	case "-version", "--version", "version":
		fmt.Fprintln(stdout, versionLine())
		return nil
	case "-h", "-help", "--help", "help":
		if len(args) > 1 && cmd == "help" {
			if lookup(args[1]) == nil {
				return &usageError{msg: fmt.Sprintf("unknown command %q", args[1])}
			}
			writeUsage(stdout, args[1])
			return nil
		}
		writeUsage(stdout, "")
		return nil
	default:
		c := lookup(cmd)
		if c == nil {
			return &usageError{msg: fmt.Sprintf("unknown command %q", cmd)}
		}
		fs, exec := c.flags(stdout, stderr)
		if err := parse(fs, args[1:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				writeUsage(stdout, cmd)
				return nil
			}
			return &usageError{cmd: cmd, msg: cmd + ": " + err.Error()}
		}
		return exec(ctx)
	}
}
