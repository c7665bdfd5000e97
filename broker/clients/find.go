package clients

import (
	"sort"

	"github.com/rocketgo/rocketgo/remoting/server"
)

// FindConsumer returns a live connection of client clientID in consumer group group
// (ConsumerManager.findChannel): the one that heartbeated last when the client has
// several.
func (c *Table) FindConsumer(group, clientID string) (*server.Conn, Channel, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.mu.consumers[group]
	if g == nil {
		return nil, Channel{}, false
	}
	var conn *server.Conn
	var best Channel
	for cn, ch := range g.channels {
		if ch.ClientID == clientID && (conn == nil || ch.LastUpdate.After(best.LastUpdate)) {
			conn, best = cn, *ch
		}
	}
	return conn, best, conn != nil
}

// TopicConsumers returns the online consumer groups subscribing to topic, sorted
// (ConsumerManager.queryTopicConsumeByWho).
func (c *Table) TopicConsumers(topic string) []string {
	c.mu.Lock()
	var out []string
	for group, g := range c.mu.consumers {
		if _, ok := g.subs[topic]; ok {
			out = append(out, group)
		}
	}
	c.mu.Unlock()
	sort.Strings(out)
	return out
}
