package failover

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/ha"
)

// createTopic creates the test topic on the master and waits until every slave copied
// it: any of them may be the next master.
func createTopic(t *testing.T, c *Cluster, master string) {
	t.Helper()
	ha.CreateTopic(t, master, topic, queues)
	testutil.Eventually(t, 30*time.Second, "the slaves to copy the topic", func() bool {
		for _, b := range c.Brokers {
			if !ha.ServesTopic(b.Addr, topic) {
				return false
			}
		}
		return true
	})
}

// Topic is the test topic every failover test writes to; CreateTopic creates it on the
// master and waits for the slaves, for tests of other modules (tests/compat's run with
// the official client).
const Topic = topic

// CreateTopic is createTopic for other modules.
func CreateTopic(t *testing.T, c *Cluster, master string) { createTopic(t, c, master) }

// Acks collects acknowledged sends for CheckNoLoss: body → queue and offset.
type Acks map[string]ackAt

// Add records that the message with body b was acknowledged at queue q, offset off.
func (a Acks) Add(b string, q int32, off int64) { a[b] = ackAt{queue: q, offset: off, at: time.Now()} }

// Soak reports whether the long variants run (ROCKETGO_SOAK=1).
func Soak() bool { return soak() }

// Missing describes the acknowledged messages whose bodies got lacks, queue by queue:
// how many, and the lowest and highest queue offset among them. Empty when none is.
func (a Acks) Missing(got map[string]bool) string {
	type span struct {
		n      int
		lo, hi int64
	}
	byQueue := map[int32]*span{}
	for b, at := range a {
		if got[b] {
			continue
		}
		s := byQueue[at.queue]
		if s == nil {
			s = &span{lo: at.offset, hi: at.offset}
			byQueue[at.queue] = s
		}
		s.n++
		s.lo, s.hi = min(s.lo, at.offset), max(s.hi, at.offset)
	}
	var out []string
	for _, q := range slices.Sorted(maps.Keys(byQueue)) {
		s := byQueue[q]
		out = append(out, fmt.Sprintf("queue %d: %d missing, offsets %d..%d", q, s.n, s.lo, s.hi))
	}
	return strings.Join(out, "; ")
}
