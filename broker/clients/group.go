package clients

import (
	"slices"
	"strings"

	"github.com/rocketgo/rocketgo/remoting/server"
)

// Member is one live connection of a consumer group and what its heartbeat said.
type Member struct {
	Conn    *server.Conn
	Channel Channel
}

// ConsumerMembers returns the live connections of group, by client id — the broker's
// INVOKE_BROKER_TO_RESET_OFFSET and INVOKE_BROKER_TO_GET_CONSUMER_STATUS address each.
func (c *Table) ConsumerMembers(group string) []Member {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.mu.consumers[group]
	if g == nil {
		return nil
	}
	out := make([]Member, 0, len(g.channels))
	for conn, ch := range g.channels {
		out = append(out, Member{Conn: conn, Channel: *ch})
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.Channel.ClientID, b.Channel.ClientID) })
	return out
}
