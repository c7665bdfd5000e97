package store

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/message"
)

// The restart storm: a child process opens the store, reports how long Open took,
// appends some messages (each acknowledged once flushed), and is killed with SIGKILL,
// over and over on the same directory. Start-up must cost what the data after the
// checkpoint costs, not grow with the number of unclean restarts.
const (
	restartChild     = "restart"                          // crashChildEnv value of the child
	restartWritesEnv = "ROCKETGO_STORE_RESTART_WRITES"    // messages the child appends
	restartSegEnv    = "ROCKETGO_STORE_RESTART_SEG_BYTES" // CommitLog segment size

	// restartPopulated is how far ahead of its writer a running log keeps pages
	// populated (commitlog's populateAhead).
	restartPopulated = 64 << 20
)

// restartOptions are the options of the storm's child and of the parent's final check:
// SYNC_FLUSH (an ack means on disk) and the default 1 GiB segment, so that the log is a
// small prefix of a large preallocated file, as on a real broker.
func restartOptions(dir string) Options {
	o := DefaultOptions()
	o.Dir = dir
	o.FlushMode = SyncFlush
	if v, err := strconv.ParseInt(os.Getenv(restartSegEnv), 10, 64); err == nil && v > 0 {
		o.CommitLogSegmentBytes = v
	}
	o.DiskWarnRatio, o.DiskMaxRatio = 1, 1
	o.Logger = zerolog.Nop()
	return o
}

// runRestartChild opens the store, prints "open <Open ns> <recovery ns>", appends the requested
// messages printing one ack line per flushed message ("topic queue queueOffset
// physicalOffset bodyHash"), prints "done" and waits to be killed.
func runRestartChild() error {
	writes, _ := strconv.Atoi(os.Getenv(restartWritesEnv))
	seed, _ := strconv.ParseInt(os.Getenv(crashSeedEnv), 10, 64)
	began := time.Now()
	s, err := Open(restartOptions(os.Getenv(crashDirEnv)))
	if err != nil {
		return err
	}
	took := time.Since(began)
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintf(out, "open %d %d\n", took.Nanoseconds(), s.RecoveryStats().Duration.Nanoseconds())
	for i := 0; i < writes; i++ {
		topic := crashTopics[i%len(crashTopics)]
		q := int32(i % crashQueues)
		b := []byte(fmt.Sprintf("restart %d message %d %s", seed, i, strings.Repeat("x", i%700)))
		rec, err := message.EncodeRecord(nil, &message.Ext{Topic: topic, QueueID: q, Body: b, BornHost: bornHost, StoreHost: storeHost})
		if err != nil {
			return err
		}
		r, err := s.Put(rec)
		if err != nil {
			return err
		}
		if err := s.WaitFlushed(context.Background(), r.EndOffset); err != nil {
			return err
		}
		fmt.Fprintf(out, "%s %d %d %d %d\n", topic, q, r.QueueOffset, r.PhysicalOffset, bodyHash(b))
	}
	// A broker that has been up for a while has the pages ahead of its writer populated
	// (and, in SYNC_FLUSH, written back as zeros): the tail every restart has to deal
	// with. Do what its preparer does, so that the kill finds it whatever the timing.
	w := s.cl.Written()
	for _, f := range s.cl.Segments() {
		if f.Contains(w) {
			f.Populate(w-f.Start(), w-f.Start()+restartPopulated)
			f.StartWriteback(w-f.Start(), w-f.Start()+restartPopulated)
		}
	}
	fmt.Fprintln(out, "done")
	if err := out.Flush(); err != nil {
		return err
	}
	// Stay up like a broker until killed; stdin closes if the parent goes away.
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// TestRestartStorm SIGKILLs a child store again and again, once opening an unchanged
// store and once with writes between the kills, and checks that the start-up time does
// not grow with the number of restarts (the fastest of the last 3 within 1.5x of the
// median of the first 3, plus 50 ms: growth raises every late start, while the noise of a
// loaded machine only spikes some of them) and that every acknowledged message is there byte for byte.
// ROCKETGO_LONG=1 raises the restarts from 10 to 50 per mode.
func TestRestartStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	restarts := 10
	if os.Getenv("ROCKETGO_LONG") != "" {
		restarts = 50
	}
	for _, tc := range []struct {
		name   string
		writes int
	}{{"idle", 0}, {"writes", 200}} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			acked := map[ackKey]ack{}
			// The first start creates the store; it is not a restart.
			runRestartChildOnce(t, dir, 0, tc.writes, acked)
			times := make([]time.Duration, restarts)
			recs := make([]time.Duration, restarts)
			for i := range times {
				times[i], recs[i] = runRestartChildOnce(t, dir, int64(i+1), tc.writes, acked)
			}
			first, last := median(times[:3]), median(times[len(times)-3:])
			t.Logf("%d restarts: open first %v, last %v, median of first 3 %v, of last 3 %v, of all %v; "+
				"recovery median of first 3 %v, of last 3 %v, of all %v; %d acks",
				restarts, times[0], times[len(times)-1], first, last, median(times),
				median(recs[:3]), median(recs[len(recs)-3:]), median(recs), len(acked))
			if floor, limit := slices.Min(times[len(times)-3:]), first*3/2+50*time.Millisecond; floor > limit {
				t.Errorf("start-up grew with the restarts: fastest of the last 3 %v > %v (1.5x the median of the first 3 + 50ms); all: %v",
					floor, limit, times)
			}
			s, err := Open(restartOptions(dir))
			if err != nil {
				t.Fatalf("open after the storm: %v", err)
			}
			defer s.Close()
			checkCrashStore(t, s, acked, restarts)
		})
	}
}

// runRestartChildOnce starts a child on dir, collects its acks into acked, kills it once
// it is done and returns the Open and recovery times it reported.
func runRestartChildOnce(t *testing.T, dir string, seed int64, writes int, acked map[ackKey]ack) (open, recovery time.Duration) {
	t.Helper()
	cmd, r, stderr, stop := startChild(t, crashChildEnv+"="+restartChild, crashDirEnv+"="+dir,
		crashSeedEnv+"="+strconv.FormatInt(seed, 10), restartWritesEnv+"="+strconv.Itoa(writes))
	defer stop()
	done := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 3 && f[0] == "open":
			o, _ := strconv.ParseInt(f[1], 10, 64)
			r, _ := strconv.ParseInt(f[2], 10, 64)
			open, recovery = time.Duration(o), time.Duration(r)
		case len(f) == 1 && f[0] == "done":
			done = true
			cmd.Process.Kill()
		case len(f) == 5:
			addAck(t, acked, f, fmt.Sprintf("start %d", seed))
		default:
			t.Fatalf("start %d: bad child line %q", seed, line)
		}
	}
	cmd.Wait()
	if !done {
		t.Fatalf("start %d: child exited before it was killed: %s", seed, stderr.String())
	}
	return open, recovery
}

// median returns the median of d (the upper one of an even count).
func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
