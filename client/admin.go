package client

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// AdminOption configures an Admin client. Every Option is also an AdminOption.
type AdminOption interface{ applyAdmin(*adminOptions) }

// adminOptions are the settings of an Admin client.
type adminOptions struct {
	client clientOptions
}

// Admin manages topics and inspects consumer groups and messages, like RocketMQ's
// mqadmin. Its methods are safe for concurrent use. Create one with NewAdmin and Close
// it when done.
type Admin struct {
	o      adminOptions
	log    zerolog.Logger
	inst   *instance
	closed atomic.Bool
}

// NewAdmin returns an admin client connected to the shared instance of its options.
func NewAdmin(opts ...AdminOption) (*Admin, error) {
	o := adminOptions{client: defaultClientOptions()}
	for _, opt := range opts {
		if opt != nil {
			opt.applyAdmin(&o)
		}
	}
	if len(o.client.nameServers) == 0 {
		return nil, fmt.Errorf("new admin: %w: %w", ErrInvalidOption, ErrNoNameServer)
	}
	inst, err := acquireInstance(o.client)
	if err != nil {
		return nil, fmt.Errorf("new admin: %w", err)
	}
	return &Admin{o: o, inst: inst, log: o.client.logger.With().Str("component", "admin").Logger()}, nil
}

// Close releases the admin's share of the client instance. Calls after Close fail with
// ErrClosed; closing twice is a no-op.
func (a *Admin) Close() error {
	if a.closed.CompareAndSwap(false, true) {
		a.inst.release()
	}
	return nil
}

func (a *Admin) wrap(name string) string   { return WrapNamespace(a.o.client.namespace, name) }
func (a *Admin) unwrap(name string) string { return UnwrapNamespace(a.o.client.namespace, name) }

// Target names the brokers an admin request goes to: the given broker addresses, or
// every master of the named cluster. The zero Target means every master of every
// cluster the NameServer knows.
type Target struct {
	Cluster     string
	BrokerAddrs []string
}

// OnCluster targets every master of a cluster.
func OnCluster(name string) Target { return Target{Cluster: name} }

// OnBrokers targets the given broker addresses.
func OnBrokers(addrs ...string) Target { return Target{BrokerAddrs: addrs} }

// check fails after Close.
func (a *Admin) check() error {
	if a.closed.Load() {
		return ErrClosed
	}
	return nil
}

// compareQueues orders queues by topic, broker name and queue id.
func compareQueues(x, y MessageQueue) int {
	switch {
	case x.Less(y):
		return -1
	case y.Less(x):
		return 1
	}
	return 0
}

// targetAddrs resolves a Target to broker addresses, sorted and without duplicates.
func (a *Admin) targetAddrs(ctx context.Context, t Target) ([]string, error) {
	if len(t.BrokerAddrs) > 0 {
		out := slices.Clone(t.BrokerAddrs)
		slices.Sort(out)
		return slices.Compact(out), nil
	}
	ci, err := a.Clusters(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	if t.Cluster != "" {
		var ok bool
		if names, ok = ci.ClusterAddrTable[t.Cluster]; !ok {
			return nil, fmt.Errorf("%w: cluster %q", ErrBrokerNotFound, t.Cluster)
		}
	} else {
		names = slices.Collect(maps.Keys(ci.BrokerAddrTable))
	}
	var out []string
	for _, n := range names {
		if addr := ci.BrokerAddrTable[n].BrokerAddrs[0]; addr != "" {
			out = append(out, addr)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no master in %s", ErrBrokerNotFound, targetName(t))
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func targetName(t Target) string {
	if t.Cluster != "" {
		return "cluster " + t.Cluster
	}
	return "any cluster"
}

// routeMasters returns the master addresses of a route, sorted.
func routeMasters(r *body.TopicRouteData) []string {
	var out []string
	for _, b := range r.BrokerDatas {
		if addr := b.BrokerAddrs[0]; addr != "" {
			out = append(out, addr)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// eachBroker runs fn for every address in parallel (fanOut) and joins the failures,
// each naming the operation and the broker.
func (a *Admin) eachBroker(ctx context.Context, addrs []string, fn func(ctx context.Context, addr string) error, op string) error {
	return fanOut(ctx, addrs, func(ctx context.Context, addr string) error {
		if err := fn(ctx, addr); err != nil {
			return fmt.Errorf("%s on %s: %w", op, addr, err)
		}
		return nil
	})
}

// invokeOK invokes req and turns a non-success answer into a *BrokerError.
func (a *Admin) invokeOK(ctx context.Context, addr string, req *codec.Command) (*codec.Command, error) {
	resp, err := a.inst.invoke(ctx, addr, req)
	if err != nil {
		return nil, err
	}
	if resp.Code != code.Success {
		return nil, brokerErr(resp.Code, resp.Remark)
	}
	return resp, nil
}

// expectSuccess is invokeOK for a request whose answer carries nothing.
func (a *Admin) expectSuccess(ctx context.Context, addr string, req *codec.Command) error {
	_, err := a.invokeOK(ctx, addr, req)
	return err
}

// BrokerRuntimeStats returns the runtime figures of the broker at addr
// (GET_BROKER_RUNTIME_INFO, 28): the key/value table mqadmin brokerStatus prints.
func (a *Admin) BrokerRuntimeStats(ctx context.Context, addr string) (map[string]string, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.GetBrokerRuntimeInfo, nil, nil))
	if err != nil {
		return nil, fmt.Errorf("runtime stats of %s: %w", addr, err)
	}
	kv, err := body.DecodeKVTable(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("runtime stats of %s: %w: %w", addr, ErrBadResponse, err)
	}
	return kv.Table, nil
}
