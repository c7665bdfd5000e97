// Command mqbench loads a running rocketgo (or RocketMQ) cluster, reached through its
// NameServer, the way RocketMQ's benchmark tools do, and prints the figures of docs/performance.md
// in the peer harness's "label.figure key=value" format:
//
//	mqbench figures  -namesrv 127.0.0.1:9876 -broker-pid 1234     # figures (a)-(d)
//	mqbench producer -namesrv 127.0.0.1:9876 -topic T -threads 4 -async
//	mqbench consumer -namesrv 127.0.0.1:9876 -topic T -group G
//	mqbench figures  -namesrv 127.0.0.1:9876 -tls -tls-ca ca.pem     # the same over TLS
//	mqbench summarize < lines.txt                                 # medians per figure
//	mqbench -version
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/bin/internal/tlsflag"
	"github.com/rocketgo/rocketgo/bin/internal/version"
	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/client/bench"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: mqbench figures|producer|consumer|summarize [flags] | -version")
		os.Exit(2)
	}
	if a := os.Args[1]; a == "-version" || a == "--version" {
		fmt.Println(version.String("mqbench"))
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "mqbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cmd string, args []string) error {
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	ns := fs.String("namesrv", "127.0.0.1:9876", "NameServer address")
	verbose := fs.Bool("v", false, "log client warnings to stderr")
	profile := fs.String("cpuprofile", "", "write a CPU profile of this process to the file")
	tlsConfig := tlsflag.Register(fs)
	logger := func() zerolog.Logger {
		if *verbose {
			return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).Level(zerolog.WarnLevel).With().Timestamp().Logger()
		}
		return zerolog.Nop()
	}
	switch cmd {
	case "figures":
		c := bench.DefaultFiguresConfig()
		fs.IntVar(&c.N, "n", c.N, "(a)/(c) message count")
		fs.IntVar(&c.Size, "size", c.Size, "payload bytes")
		fs.IntVar(&c.SyncN, "sync-n", c.SyncN, "(b) most sync sends")
		fs.IntVar(&c.Rate, "rate", c.Rate, "(d) messages per second")
		fs.DurationVar(&c.Dur, "dur", c.Dur, "(d) duration")
		fs.IntVar(&c.Window, "window", c.Window, "(a) most async sends in flight")
		fs.IntVar(&c.Fetch, "fetch", c.Fetch, "(c) pull batch size")
		fs.IntVar(&c.Queues, "queues", c.Queues, "queues of each benchmark topic")
		fs.StringVar(&c.Phases, "phases", c.Phases, "figures to run: a,b,c,d")
		fs.DurationVar(&c.Deadline, "deadline", c.Deadline, "bound of each figure")
		fs.StringVar(&c.Label, "label", c.Label, "figure prefix")
		fs.IntVar(&c.BrokerPID, "broker-pid", 0, "broker process id: report its CPU per message")
		ak := fs.String("accessKey", "", "ACL access key: sign every request (a broker with aclEnable)")
		sk := fs.String("secretKey", "", "ACL secret key")
		fs.Parse(args)
		c.NameServer, c.Out, c.Logger = *ns, os.Stdout, logger()
		var err error
		if c.TLS, err = tlsConfig(); err != nil {
			return err
		}
		if *ak != "" {
			c.Credentials = &client.Credentials{AccessKey: *ak, SecretKey: *sk}
		}
		if *profile != "" {
			f, err := os.Create(*profile)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
		}
		return bench.RunFigures(ctx, c)
	case "producer", "consumer":
		c := bench.LoadConfig{Out: os.Stdout}
		fs.StringVar(&c.Topic, "topic", "BenchmarkTest", "topic")
		fs.StringVar(&c.Group, "group", "benchmark_"+cmd, "producer or consumer group")
		fs.IntVar(&c.Size, "size", 1024, "payload bytes")
		fs.IntVar(&c.Threads, "threads", 4, "sending goroutines")
		fs.BoolVar(&c.Async, "async", false, "send asynchronously")
		fs.IntVar(&c.Window, "window", 256, "async sends in flight per goroutine")
		fs.IntVar(&c.Batch, "batch", 1, "messages per send")
		fs.Int64Var(&c.Count, "count", 0, "stop after this many messages (0: no limit)")
		fs.DurationVar(&c.Duration, "dur", 0, "stop after this long (0: until interrupted)")
		fs.DurationVar(&c.Interval, "interval", 2*time.Second, "reporting period")
		fs.Parse(args)
		var err error
		if c.TLS, err = tlsConfig(); err != nil {
			return err
		}
		c.NameServer, c.Logger = *ns, logger()
		if cmd == "producer" {
			return bench.Produce(ctx, c)
		}
		return bench.Consume(ctx, c)
	case "summarize":
		return bench.Summarize(os.Stdin, os.Stdout)
	}
	return fmt.Errorf("unknown command %q", cmd)
}
