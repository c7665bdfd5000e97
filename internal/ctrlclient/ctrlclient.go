// Package ctrlclient calls a controller group (docs/failover.md §3): it sends a request
// to the controller it believes leads, and follows CONTROLLER_NOT_LEADER to the leader
// it names, trying every configured controller in turn. Brokers and mqadmin use it.
package ctrlclient

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// ErrNoLeader: no controller answered as leader (a majority is down, or an election is
// under way).
var ErrNoLeader = errors.New("ctrlclient: no controller leader reachable")

// Client calls the controllers at Addrs.
type Client struct {
	addrs []string
	t     *transport.Client
	mu    sync.Mutex
	last  string // the leader that answered last
}

// New returns a client of the controllers at addrs over t.
func New(addrs []string, t *transport.Client) *Client {
	return &Client{addrs: addrs, t: t}
}

// Invoke sends req to the leader and returns its answer: any code but
// CONTROLLER_NOT_LEADER. A request is built anew for each try by mk.
func (c *Client) Invoke(ctx context.Context, mk func() *codec.Command) (*codec.Command, error) {
	c.mu.Lock()
	order := make([]string, 0, len(c.addrs)+1)
	if c.last != "" {
		order = append(order, c.last)
	}
	c.mu.Unlock()
	order = append(order, c.addrs...)
	tried := map[string]bool{}
	var errs []error
	for i := 0; i < len(order) && i < 2*len(c.addrs)+2; i++ {
		addr := order[i]
		if tried[addr] {
			continue
		}
		tried[addr] = true
		resp, err := c.t.Invoke(ctx, addr, mk())
		if err != nil {
			// A connection that timed out may be one the peer never serves (accepted
			// while it restarted its server): the next call dials afresh.
			c.t.CloseAddr(addr)
			errs = append(errs, fmt.Errorf("%s: %w", addr, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		if resp.Code == code.RequestCodeNotSupported {
			// A controller still starting, or not a controller at all.
			errs = append(errs, fmt.Errorf("%s: %s", addr, resp.Remark))
			continue
		}
		if resp.Code == code.ControllerNotLeader {
			if l := resp.ExtFields["leaderAddress"]; l != "" && !tried[l] {
				order = append(order[:i+1], append([]string{l}, order[i+1:]...)...)
			}
			errs = append(errs, fmt.Errorf("%s: %s", addr, resp.Remark))
			continue
		}
		c.mu.Lock()
		c.last = addr
		c.mu.Unlock()
		return resp, nil
	}
	return nil, fmt.Errorf("%w: %w", ErrNoLeader, errors.Join(errs...))
}

// Any sends req to the first controller that answers, leader or not
// (CONTROLLER_GET_METADATA_INFO).
func (c *Client) Any(ctx context.Context, addr string, req *codec.Command) (*codec.Command, error) {
	if addr == "" && len(c.addrs) > 0 {
		addr = c.addrs[0]
	}
	return c.t.Invoke(ctx, addr, req)
}
