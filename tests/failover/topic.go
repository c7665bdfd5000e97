package failover

import (
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
