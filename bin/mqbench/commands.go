package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/bin/internal/tlsflag"
	"github.com/rocketgo/rocketgo/bin/internal/version"
	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/client/bench"
)

// command is one mqbench command: its one-line summary for the usage text, and its
// own flag set (only the flags it uses) with what runs it once the flags are parsed.
type command struct {
	name, summary string
	flags         func(stdout, stderr io.Writer) (*flag.FlagSet, func(context.Context) error)
}

var commands = []command{
	{"figures", `print the figures (a)-(d) of docs/performance.md as "label.figure key=value" lines`, figuresFlags},
	{"producer", "send messages; print TPS, RT and failed sends with their reasons every interval", loadFlags("producer")},
	{"consumer", "consume with a push consumer; print TPS and born/store-to-consume latency every interval", loadFlags("consumer")},
	{"summarize", "read figure lines on stdin; print the median of every key per figure", summarizeFlags},
}

func lookup(name string) *command {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i]
		}
	}
	return nil
}

func versionLine() string { return version.String("mqbench") }

// verboseLogger logs client warnings to stderr with -v, nothing otherwise.
func verboseLogger(verbose bool, stderr io.Writer) zerolog.Logger {
	if verbose {
		return zerolog.New(zerolog.ConsoleWriter{Out: stderr}).Level(zerolog.WarnLevel).With().Timestamp().Logger()
	}
	return zerolog.Nop()
}

func figuresFlags(stdout, stderr io.Writer) (*flag.FlagSet, func(context.Context) error) {
	fs := flag.NewFlagSet("figures", flag.ContinueOnError)
	c := bench.DefaultFiguresConfig()
	fs.StringVar(&c.NameServer, "namesrv", c.NameServer, "NameServer address")
	verbose := fs.Bool("v", false, "log client warnings to stderr")
	profile := fs.String("cpuprofile", "", "write a CPU profile of this process to the file")
	memProfile := fs.String("memprofile", "", "write an allocation profile of this process to the file when the figures are done")
	tlsConfig := tlsflag.Register(fs)
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
	return fs, func(ctx context.Context) error {
		want, err := figureLines(c.Label, c.Phases)
		if err != nil {
			return &usageError{cmd: "figures", msg: "figures: " + err.Error()}
		}
		seen := &figureWatch{w: stdout}
		c.Out, c.Logger = seen, verboseLogger(*verbose, stderr)
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
		if err := bench.RunFigures(ctx, c); err != nil {
			return err
		}
		if *memProfile != "" {
			if err := writeAllocProfile(*memProfile); err != nil {
				return err
			}
		}
		return seen.check(want)
	}
}

// loadFlags is the flag set of the producer or consumer command: the flags of
// bench.LoadFlags, which mqbench-official shares, and mqbench's own.
func loadFlags(cmd string) func(stdout, stderr io.Writer) (*flag.FlagSet, func(context.Context) error) {
	return func(stdout, stderr io.Writer) (*flag.FlagSet, func(context.Context) error) {
		fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
		c := bench.LoadFlags(fs, cmd)
		verbose := fs.Bool("v", false, "log client warnings to stderr")
		tlsConfig := tlsflag.Register(fs)
		which := fs.String("client", "sdk", `client library: "sdk" (rocketgo's) or "official" (Apache's Go client, run as the program mqbench-official)`)
		officialBin := fs.String("official-bin", "", "with -client official: path of mqbench-official (default $"+officialEnv+", then next to mqbench, then $PATH)")
		return fs, func(ctx context.Context) error {
			switch *which {
			case "sdk":
			case "official":
				return execOfficial(fs, cmd, *officialBin)
			default:
				return &usageError{cmd: cmd, msg: fmt.Sprintf("%s: -client %q: want sdk or official", cmd, *which)}
			}
			var err error
			if c.TLS, err = tlsConfig(); err != nil {
				return err
			}
			c.Out, c.Err, c.Logger = stdout, stderr, verboseLogger(*verbose, stderr)
			if cmd == "producer" {
				return bench.Produce(ctx, *c)
			}
			return bench.Consume(ctx, *c)
		}
	}
}

func summarizeFlags(stdout, _ io.Writer) (*flag.FlagSet, func(context.Context) error) {
	fs := flag.NewFlagSet("summarize", flag.ContinueOnError)
	return fs, func(context.Context) error { return bench.Summarize(os.Stdin, stdout) }
}

// parse parses a command's flags without the flag package printing anything: run
// prints the one-line error and the usage itself. Arguments left over are an error.
func parse(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// writeUsage writes the usage of cmd, or the top-level usage when cmd is "".
func writeUsage(w io.Writer, cmd string) {
	if c := lookup(cmd); c != nil {
		fmt.Fprintf(w, "Usage: mqbench %s [flags]\n\n%s.\n\nFlags:\n", c.name, upperFirst(c.summary))
		fs, _ := c.flags(io.Discard, io.Discard)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n == 0 {
			fmt.Fprintln(w, "  (none)")
			return
		}
		fs.SetOutput(w)
		fs.PrintDefaults()
		return
	}
	fmt.Fprint(w, `mqbench loads a RocketMQ cluster through its NameServer and prints what it measured.

Usage:
  mqbench <command> [flags]
  mqbench help [command]
  mqbench -version

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run "mqbench <command> -h" for the flags of a command. Exit status: 0 success,
1 the run failed (every send failed, nothing consumed, a figure printed nothing),
2 usage error.
`)
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// writeAllocProfile writes the process's allocation profile (every allocation since it
// started, sampled at the runtime's default rate) to path: `go tool pprof
// -sample_index=alloc_space` shows what sets the garbage collector's pace.
func writeAllocProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
