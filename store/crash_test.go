package store

import (
	"bufio"
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/message"
)

// The crash test runs the test binary itself as a child process that appends to a store
// and reports every acknowledged append on stdout; the parent kills it with SIGKILL at a
// random moment and checks the store in-process.
const (
	crashChildEnv = "ROCKETGO_STORE_CRASH_CHILD" // set: run as the child
	crashDirEnv   = "ROCKETGO_STORE_CRASH_DIR"
	crashModeEnv  = "ROCKETGO_STORE_CRASH_MODE"
	crashSeedEnv  = "ROCKETGO_STORE_CRASH_SEED"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) == indexCrashChild {
		if err := runIndexCrashChild(); err != nil {
			fmt.Fprintln(os.Stderr, "index crash child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	if os.Getenv(crashChildEnv) == restartChild {
		if err := runRestartChild(); err != nil {
			fmt.Fprintln(os.Stderr, "restart child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	if os.Getenv(crashChildEnv) != "" {
		if err := runCrashChild(); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(2)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashOptions are the options both the child and the parent open the store with.
func crashOptions(dir string, mode FlushMode) Options {
	o := DefaultOptions()
	o.Dir = dir
	o.CommitLogSegmentBytes = 256 << 10
	o.ConsumeQueueUnits = 200
	o.FlushMode = mode
	o.FlushInterval = 10 * time.Millisecond
	o.CheckpointInterval = 15 * time.Millisecond
	o.MaxMessageBytes = 8 << 10
	o.DiskWarnRatio, o.DiskMaxRatio = 1, 1
	o.Logger = zerolog.Nop()
	return o
}

// crashTopics and crashQueues are where the child writes.
var crashTopics = []string{"CrashA", "CrashB"}

const crashQueues = 3

func bodyHash(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// runCrashChild appends until killed. Each acknowledged append is one line:
// "topic queue queueOffset physicalOffset bodyHash". With SYNC_FLUSH a line is written
// once the record is flushed; with ASYNC_FLUSH once it is in the mapping.
func runCrashChild() error {
	mode := FlushMode(os.Getenv(crashModeEnv))
	seed, _ := strconv.ParseInt(os.Getenv(crashSeedEnv), 10, 64)
	s, err := Open(crashOptions(os.Getenv(crashDirEnv), mode))
	if err != nil {
		return err
	}
	var outMu sync.Mutex
	out := os.Stdout
	fmt.Fprintln(out, "ready")
	var wg sync.WaitGroup
	for g := 0; g < 6; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewSource(seed*100 + int64(g)))
			for {
				topic := crashTopics[rng.Intn(len(crashTopics))]
				q := int32(rng.Intn(crashQueues))
				b := make([]byte, 1+rng.Intn(3000))
				rng.Read(b)
				r := childPut(s, &message.Ext{Topic: topic, QueueID: q, Body: b, BornHost: bornHost, StoreHost: storeHost,
					Properties: map[string]string{message.PropKeys: fmt.Sprintf("g%d", g)}})
				if mode == SyncFlush {
					if err := s.WaitFlushed(context.Background(), r.EndOffset); err != nil {
						fmt.Fprintln(os.Stderr, "flush:", err)
						os.Exit(3)
					}
				}
				line := fmt.Sprintf("%s %d %d %d %d\n", topic, q, r.QueueOffset, r.PhysicalOffset, bodyHash(b))
				outMu.Lock()
				io.WriteString(out, line)
				outMu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	return nil
}

type ackKey struct {
	topic string
	queue int32
	qo    int64
}

type ack struct {
	phys int64
	hash uint64
}

// TestCrashKill kills a child process appending to the store at random moments and
// checks after each kill that every acknowledged append is readable through its
// ConsumeQueue with identical bytes, that queue offsets are dense, and that appends go
// on. ROCKETGO_LONG=1 raises the kills from 3 to 20 per flush mode.
func TestCrashKill(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	kills := 3
	if os.Getenv("ROCKETGO_LONG") != "" {
		kills = 20
	}
	forEachMode(t, func(t *testing.T, mode FlushMode) {
		dir := filepath.Join(t.TempDir(), "store")
		acked := map[ackKey]ack{}
		rng := rand.New(rand.NewSource(time.Now().UnixNano()))
		for k := 0; k < kills; k++ {
			lines := runAndKill(t, dir, mode, int64(k), 20+rng.Intn(1500))
			for _, l := range lines {
				f := strings.Fields(l)
				if len(f) != 5 {
					t.Fatalf("bad ack line %q", l)
				}
				addAck(t, acked, f, fmt.Sprintf("kill %d", k))
			}
			s, err := Open(crashOptions(dir, mode))
			if err != nil {
				t.Fatalf("kill %d: reopen: %v", k, err)
			}
			checkCrashStore(t, s, acked, k)
			// Appends go on where the queue ended.
			for _, topic := range crashTopics {
				max := s.MaxOffset(topic, 0)
				r := put(t, s, msg{topic: topic, queue: 0, body: []byte("parent")})
				if r.QueueOffset != max {
					t.Fatalf("kill %d: append after recovery got queue offset %d, want %d", k, r.QueueOffset, max)
				}
			}
			if err := s.Close(); err != nil {
				t.Fatalf("kill %d: close: %v", k, err)
			}
			t.Logf("kill %d: %d acks so far, recovery %+v", k, len(acked), s.RecoveryStats())
		}
	})
}

// addAck adds the ack line split into f ("topic queue queueOffset physicalOffset
// bodyHash") to acked; a queue offset acknowledged twice fails the test.
func addAck(t *testing.T, acked map[ackKey]ack, f []string, when string) {
	t.Helper()
	q, _ := strconv.Atoi(f[1])
	qo, _ := strconv.ParseInt(f[2], 10, 64)
	phys, _ := strconv.ParseInt(f[3], 10, 64)
	h, _ := strconv.ParseUint(f[4], 10, 64)
	key := ackKey{f[0], int32(q), qo}
	if prev, dup := acked[key]; dup {
		t.Fatalf("%s: %v acknowledged twice (phys %d and %d)", when, key, prev.phys, phys)
	}
	acked[key] = ack{phys, h}
}

// runAndKill starts a child on dir, reads acks until it has seen after of them, kills
// it with SIGKILL, and returns every complete ack line it printed.
func runAndKill(t *testing.T, dir string, mode FlushMode, seed int64, after int) []string {
	t.Helper()
	cmd, r, stderr, stop := startChild(t, crashChildEnv+"=1", crashDirEnv+"="+dir, crashModeEnv+"="+string(mode),
		crashSeedEnv+"="+strconv.FormatInt(seed, 10))
	defer stop()
	var lines []string
	killed := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			break // EOF after the kill; a partial last line is not an ack
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "ready" {
			continue
		}
		lines = append(lines, line)
		if !killed && len(lines) >= after {
			cmd.Process.Kill()
			killed = true
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("child exited before the kill: %s", stderr.String())
	}
	return lines
}

// startChild starts the test binary as a child process with env added to the
// environment, its stdout to be read from r and its stderr collected. The child is
// killed if it still runs after a minute; stop ends that watch and closes its stdin.
func startChild(t *testing.T, env ...string) (cmd *exec.Cmd, r *bufio.Reader, stderr *strings.Builder, stop func()) {
	t.Helper()
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr = &strings.Builder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	return cmd, bufio.NewReader(stdout), stderr, func() {
		deadline.Stop()
		stdin.Close()
	}
}

// checkCrashStore checks every acknowledged append and the density of every queue.
func checkCrashStore(t *testing.T, s *Store, acked map[ackKey]ack, kill int) {
	t.Helper()
	for k, a := range acked {
		g := s.GetMessages(k.topic, k.queue, k.qo, 1, 0, nil)
		if g.Status != Found || len(g.Records) != 1 {
			t.Fatalf("kill %d: acked %v at %d: %s (min %d max %d)", kill, k, a.phys, g.Status, g.MinOffset, g.MaxOffset)
		}
		rec := g.Records[0]
		if message.RecordPhysicalOffset(rec) != a.phys || bodyHash(message.RecordBody(rec)) != a.hash {
			t.Fatalf("kill %d: acked %v: record at %d with body hash %d, want %d and %d", kill, k,
				message.RecordPhysicalOffset(rec), bodyHash(message.RecordBody(rec)), a.phys, a.hash)
		}
	}
	for _, topic := range crashTopics {
		for q := int32(0); q < crashQueues; q++ {
			next := int64(0)
			for {
				g := s.GetMessages(topic, q, next, 32, 0, nil)
				if g.Status != Found {
					if g.Status != OffsetOverflowOne && g.Status != NoMatchedLogicQueue {
						t.Fatalf("kill %d: %s/%d at %d: %s", kill, topic, q, next, g.Status)
					}
					break
				}
				for _, rec := range g.Records {
					if got := message.RecordQueueOffset(rec); got != next {
						t.Fatalf("kill %d: %s/%d: unit %d holds queue offset %d", kill, topic, q, next, got)
					}
					if _, err := message.VerifyRecord(rec); err != nil {
						t.Fatalf("kill %d: %s/%d at %d: %v", kill, topic, q, next, err)
					}
					next++
				}
			}
			if next != s.MaxOffset(topic, q) {
				t.Fatalf("kill %d: %s/%d: read %d units, max offset %d", kill, topic, q, next, s.MaxOffset(topic, q))
			}
		}
	}
}

// childPut encodes m and puts it, for a child process that is about to be killed: a put
// that fails ends the child with status 3, which its parent reports.
func childPut(s *Store, m *message.Ext) PutResult {
	rec, err := message.EncodeRecord(nil, m)
	if err != nil {
		panic(err)
	}
	r, err := s.Put(rec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "put:", err)
		os.Exit(3)
	}
	return r
}
