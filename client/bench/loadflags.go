package bench

import (
	"flag"
	"time"
)

// LoadFlags registers on fs the flags of the producer or the consumer mode (cmd is
// "producer" or "consumer"), each mode only its own, and returns the configuration
// they fill once fs is parsed. mqbench and mqbench-official (tests/mqbench-official)
// both call it, so the two programs take the same flags with the same defaults.
func LoadFlags(fs *flag.FlagSet, cmd string) *LoadConfig {
	c := &LoadConfig{}
	fs.StringVar(&c.NameServer, "namesrv", "127.0.0.1:9876", "NameServer address")
	fs.StringVar(&c.Topic, "topic", "BenchmarkTest", "topic")
	fs.StringVar(&c.Group, "group", "benchmark_"+cmd, cmd+" group")
	if cmd == "producer" {
		fs.IntVar(&c.Size, "size", 1024, "payload bytes")
		fs.IntVar(&c.Threads, "threads", 4, "sending goroutines")
		fs.BoolVar(&c.Async, "async", false, "send asynchronously")
		fs.IntVar(&c.Window, "window", 256, "with -async: sends in flight per goroutine")
		fs.IntVar(&c.Batch, "batch", 1, "messages per send (a batch when > 1)")
	} else {
		fs.BoolVar(&c.FromFirst, "from-first", false, "a new group starts at the oldest stored message (default: after the last)")
	}
	fs.Int64Var(&c.Count, "count", 0, "stop after this many messages (0: no limit)")
	fs.DurationVar(&c.Duration, "dur", 0, "stop after this long (0: until interrupted)")
	fs.DurationVar(&c.Interval, "interval", 2*time.Second, "reporting period")
	return c
}
