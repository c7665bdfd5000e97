package store

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/message"
)

// indexCrashChild is the crashChildEnv value of the key index's crash child: it appends
// records with keys until killed. The key index runs without pebble's write-ahead log,
// so a kill loses what the index had not flushed, and recovery must index the log again
// from the applied offset pebble kept.
const indexCrashChild = "index"

// indexCrashOptions flush the key index at every checkpoint, a few times in a child's
// life, so that a kill keeps a part of the index and loses the rest.
func indexCrashOptions(dir string) Options {
	o := crashOptions(dir, AsyncFlush)
	o.CheckpointInterval = 40 * time.Millisecond
	return o
}

// runIndexCrashChild appends records until killed, from 4 goroutines. Record n of
// goroutine g carries KEYS "g<g> k<seed>-<g>-<n>" and prints "<phys> <g> <n>" once
// acknowledged.
func runIndexCrashChild() error {
	seed := os.Getenv(crashSeedEnv)
	s, err := Open(indexCrashOptions(os.Getenv(crashDirEnv)))
	if err != nil {
		return err
	}
	var outMu sync.Mutex
	fmt.Fprintln(os.Stdout, "ready")
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for n := 0; ; n++ {
				r := childPut(s, &message.Ext{Topic: "IndexCrash", QueueID: int32(g), Body: make([]byte, 200),
					BornHost: bornHost, StoreHost: storeHost,
					Properties: map[string]string{message.PropKeys: fmt.Sprintf("g%d k%s-%d-%d", g, seed, g, n)}})
				outMu.Lock()
				fmt.Fprintf(os.Stdout, "%d %d %d\n", r.PhysicalOffset, g, n)
				outMu.Unlock()
			}
		}(g)
	}
	wg.Wait()
	return nil
}

// TestIndexCrashKill kills the index crash child mid-load, several times on one store,
// and checks after each restart that QueryByKey finds exactly the records that survived:
// each record under its own key, and every record of a goroutine, none missing and none
// extra, under the goroutine's shared key.
func TestIndexCrashKill(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := filepath.Join(t.TempDir(), "store")
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	acked := map[int64]bool{}
	for k := 0; k < 3; k++ {
		cmd, r, stderr, stop := startChild(t, crashChildEnv+"="+indexCrashChild, crashDirEnv+"="+dir,
			crashSeedEnv+"="+strconv.Itoa(k))
		after, n := 1000+rng.Intn(5000), 0
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				break
			}
			if f := strings.Fields(line); len(f) == 3 {
				phys, _ := strconv.ParseInt(f[0], 10, 64)
				acked[phys] = true
				if n++; n == after {
					cmd.Process.Kill()
				}
			}
		}
		cmd.Wait()
		stop()
		if n < after {
			t.Fatalf("kill %d: child exited before the kill: %s", k, stderr.String())
		}

		s, err := Open(indexCrashOptions(dir))
		if err != nil {
			t.Fatalf("kill %d: reopen: %v", k, err)
		}
		if err := s.waitIndexed(s.cl.Written()); err != nil {
			t.Fatal(err)
		}
		st := s.RecoveryStats()
		// What survived, read through the ConsumeQueues.
		byG := map[string][]int64{}
		survived := map[int64]bool{}
		for q := int32(0); q < 4; q++ {
			for next := int64(0); ; {
				g := s.GetMessages("IndexCrash", q, next, 64, 0, nil)
				if g.Status != Found {
					break
				}
				for _, rec := range g.Records {
					phys := message.RecordPhysicalOffset(rec)
					survived[phys] = true
					keys := strings.Fields(message.DecodeProperties(string(message.RecordProperties(rec)))[message.PropKeys])
					if len(keys) != 2 {
						t.Fatalf("kill %d: record at %d has keys %q", k, phys, keys)
					}
					byG[keys[0]] = append(byG[keys[0]], phys)
					got, err := s.QueryByKey("IndexCrash", keys[1], 0, 1<<62, 4)
					if err != nil || len(got) != 1 || got[0] != phys {
						t.Fatalf("kill %d: query %s: %v %v, want [%d] (recovery %+v)", k, keys[1], got, err, phys, st)
					}
					next++
				}
			}
		}
		for phys := range acked {
			if !survived[phys] {
				t.Fatalf("kill %d: acknowledged record at %d lost", k, phys)
			}
		}
		for gk, want := range byG {
			slices.Sort(want)
			slices.Reverse(want)
			got, err := s.QueryByKey("IndexCrash", gk, 0, 1<<62, 1<<16)
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("kill %d: query %s: %d offsets (%v), want the %d that survived", k, gk, len(got), err, len(want))
			}
		}
		t.Logf("kill %d: %d records, index resumed at %d of %d", k, len(survived), st.ReindexedFrom, st.EndOffset)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
