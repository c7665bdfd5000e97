// Command mqbench-official runs mqbench's producer and consumer modes with Apache's Go
// client (github.com/apache/rocketmq-client-go/v2) instead of rocketgo's SDK: the same
// loops (client/bench), the same flags and the same output lines and exit statuses.
// mqbench runs it for `-client official`; it lives in this nested module because the
// official client may only be a dependency of the modules under tests/.
//
//	cd tests/mqbench-official && go build -o "$(dirname "$(command -v mqbench)")/mqbench-official" .
//	mqbench producer -client official -namesrv 127.0.0.1:9876 -topic T -count 1000
//
// TLS is not supported here (mqbench refuses -tls with -client official).
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

	"github.com/apache/rocketmq-client-go/v2/rlog"

	"github.com/rocketgo/rocketgo/client/bench"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line and returns the exit status: 0, 1 when the run failed, 2
// for a usage error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "producer" && args[0] != "consumer") {
		fmt.Fprintln(stderr, "mqbench-official: usage: mqbench-official producer|consumer [flags] (the flags of mqbench's command, without -client and TLS)")
		return 2
	}
	cmd := args[0]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := bench.LoadFlags(fs, cmd)
	verbose := fs.Bool("v", false, "log the client's warnings to stderr")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mqbench-official: %s: unexpected argument %q\n", cmd, fs.Arg(0))
		return 2
	}
	// The client logs at info level to stderr by default: keep its warnings for -v.
	rlog.SetLogLevel("error")
	if *verbose {
		rlog.SetLogLevel("warn")
	}
	c.Out, c.Err = stdout, stderr
	var err error
	if cmd == "producer" {
		err = produce(ctx, *c)
	} else {
		err = consume(ctx, *c)
	}
	if err != nil {
		fmt.Fprintln(stderr, "mqbench:", err)
		return 1
	}
	return 0
}
