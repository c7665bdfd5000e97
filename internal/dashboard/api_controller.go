package dashboard

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/rocketgo/rocketgo/internal/ctrlclient"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// Controller-mode state (docs/failover.md, docs/dashboard.md "Controller"): the
// requests mqadmin getSyncStateSet and getBrokerEpoch send.

// ctrlReplica is one member of a broker group as the controller knows it.
type ctrlReplica struct {
	BrokerID int64  `json:"brokerId"`
	Addr     string `json:"addr"`
	Alive    bool   `json:"alive"`
	InSync   bool   `json:"inSync"`
	// Role is MASTER, SLAVE (a SyncStateSet member) or OUT_OF_SYNC.
	Role string `json:"role"`
}

// ctrlBroker is one broker address of a group (from the NameServer) with its epoch
// entries (GET_BROKER_EPOCH_CACHE), or the error it answered.
type ctrlBroker struct {
	BrokerID  int64             `json:"brokerId"`
	Addr      string            `json:"addr"`
	MaxOffset int64             `json:"maxOffset"`
	Epochs    []body.EpochEntry `json:"epochs"`
	Error     string            `json:"error,omitempty"`
}

// ctrlGroup is one broker group of the Controller page.
type ctrlGroup struct {
	Cluster           string        `json:"cluster"`
	BrokerName        string        `json:"brokerName"`
	MasterBrokerID    int64         `json:"masterBrokerId"`
	MasterAddr        string        `json:"masterAddr"`
	MasterEpoch       int32         `json:"masterEpoch"`
	SyncStateSetEpoch int32         `json:"syncStateSetEpoch"`
	Replicas          []ctrlReplica `json:"replicas"`
	Brokers           []ctrlBroker  `json:"brokers"`
	// Error says why the controller had no state for the group (not in controller mode).
	Error string `json:"error,omitempty"`
}

// ctrlView is the answer of GET /api/controller.
type ctrlView struct {
	Configured  bool        `json:"configured"`
	Controllers []string    `json:"controllers"`
	Groups      []ctrlGroup `json:"groups"`
}

// controller answers every broker group the NameServer knows with the controller's
// master, epochs and SyncStateSet (CONTROLLER_GET_SYNC_STATE_DATA to the leader among
// Config.ControllerAddrs) and each broker's epoch entries. Without controller
// addresses it answers configured=false and asks nothing.
func (s *Server) controller(ctx context.Context, _ *http.Request) (any, error) {
	v := ctrlView{Controllers: s.cfg.ControllerAddrs, Groups: []ctrlGroup{}}
	if len(s.cfg.ControllerAddrs) == 0 {
		v.Controllers = []string{}
		return v, nil
	}
	v.Configured = true
	ci, err := s.admin.Clusters(ctx)
	if err != nil {
		return nil, err
	}
	clusterOf := map[string]string{}
	for c, names := range ci.ClusterAddrTable {
		for _, n := range names {
			clusterOf[n] = c
		}
	}
	names := slices.Sorted(maps.Keys(ci.BrokerAddrTable))
	if len(names) == 0 {
		return v, nil
	}
	t := transport.NewClient(transport.ClientOptions{TLS: s.cfg.TLS, Logger: s.cfg.Logger})
	defer t.Close()
	bd := body.EncodeJSON(names)
	resp, err := ctrlclient.New(s.cfg.ControllerAddrs, t).Invoke(ctx, func() *codec.Command {
		return codec.NewRequest(code.ControllerGetSyncStateData, nil, bd)
	})
	if err != nil {
		return nil, fmt.Errorf("controller: %w", err)
	}
	if resp.Code != code.Success {
		return nil, fmt.Errorf("controller: CODE: %d DESC: %s", resp.Code, resp.Remark)
	}
	var info body.BrokerReplicasInfo
	if err := body.DecodeJSON(resp.Body, &info); err != nil {
		return nil, fmt.Errorf("controller: %w", err)
	}
	for _, name := range names {
		g := ctrlGroup{Cluster: clusterOf[name], BrokerName: name, Replicas: []ctrlReplica{}, Brokers: []ctrlBroker{}}
		if ri, ok := info.ReplicasInfoTable[name]; ok {
			g.MasterBrokerID, g.MasterAddr, g.MasterEpoch, g.SyncStateSetEpoch = ri.MasterBrokerID, ri.MasterAddress, ri.MasterEpoch, ri.SyncStateSetEpoch
			g.Replicas = replicaRows(ri)
		} else {
			g.Error = "the controller has no state for this group (not in controller mode)"
		}
		addrs := ci.BrokerAddrTable[name].BrokerAddrs
		for _, id := range slices.Sorted(maps.Keys(addrs)) {
			g.Brokers = append(g.Brokers, s.epochCache(ctx, t, id, addrs[id]))
		}
		v.Groups = append(v.Groups, g)
	}
	return v, nil
}

// replicaRows lists the SyncStateSet, then the replicas outside it, each by brokerId.
func replicaRows(ri body.ReplicasInfo) []ctrlReplica {
	rows := []ctrlReplica{}
	add := func(rs []body.ReplicaIdentity, inSync bool) {
		for _, r := range rs {
			row := ctrlReplica{BrokerID: r.BrokerID, Addr: r.BrokerAddress, Alive: r.Alive, InSync: inSync, Role: "OUT_OF_SYNC"}
			switch {
			case r.BrokerID == ri.MasterBrokerID && ri.MasterAddress != "":
				row.Role = "MASTER"
			case inSync:
				row.Role = "SLAVE"
			}
			rows = append(rows, row)
		}
	}
	add(ri.InSyncReplicas, true)
	add(ri.NotInSyncReplicas, false)
	slices.SortStableFunc(rows, func(x, y ctrlReplica) int { return int(x.BrokerID - y.BrokerID) })
	return rows
}

// epochCache asks one broker for its epoch entries (GET_BROKER_EPOCH_CACHE).
func (s *Server) epochCache(ctx context.Context, t *transport.Client, id int64, addr string) ctrlBroker {
	b := ctrlBroker{BrokerID: id, Addr: addr, Epochs: []body.EpochEntry{}}
	resp, err := t.Invoke(ctx, addr, codec.NewRequest(code.GetBrokerEpochCache, nil, nil))
	if err != nil {
		b.Error = err.Error()
		return b
	}
	if resp.Code != code.Success {
		b.Error = fmt.Sprintf("CODE: %d DESC: %s", resp.Code, resp.Remark)
		return b
	}
	var c body.EpochEntryCache
	if err := body.DecodeJSON(resp.Body, &c); err != nil {
		b.Error = err.Error()
		return b
	}
	b.MaxOffset = c.MaxOffset
	if c.EpochList != nil {
		b.Epochs = c.EpochList
	}
	return b
}
