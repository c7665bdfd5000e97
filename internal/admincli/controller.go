package admincli

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/internal/ctrlclient"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// Controller-mode commands (docs/failover.md): tools/command/controller and
// tools/command/ha of Apache RocketMQ 5.

var getControllerMetaDataCmd = &Command{
	Name: "getControllerMetaData", Desc: "Get controller cluster's metadata",
	Opts: []Option{{Short: "a", Long: "controllerAddress", HasArg: true, Required: true, Desc: "the address of controller"}},
	Run:  runGetControllerMetaData,
}

var getSyncStateSetCmd = &Command{
	Name: "getSyncStateSet", Desc: "Fetch syncStateSet for target brokers",
	Opts: []Option{
		{Short: "a", Long: "controllerAddress", HasArg: true, Required: true, Desc: "the address of controller"},
		{Short: "b", Long: "brokerName", HasArg: true, Desc: "which broker to fetch syncStateSet", Group: "target", GroupRequired: true},
		{Short: "c", Long: "clusterName", HasArg: true, Desc: "which cluster", Group: "target"},
	},
	Run: runGetSyncStateSet,
}

var getBrokerEpochCmd = &Command{
	Name: "getBrokerEpoch", Desc: "Fetch broker epoch entries",
	Opts: []Option{
		{Short: "b", Long: "brokerName", HasArg: true, Desc: "which broker to fetch epoch", Group: "target", GroupRequired: true},
		{Short: "c", Long: "clusterName", HasArg: true, Desc: "which cluster", Group: "target"},
	},
	Run: runGetBrokerEpoch,
}

var electMasterCmd = &Command{
	Name: "electMaster", Desc: "Re-elect the specified broker as master.",
	Opts: []Option{
		{Short: "a", Long: "controllerAddress", HasArg: true, Required: true, Desc: "The address of controller"},
		{Short: "b", Long: "brokerId", HasArg: true, Required: true, Desc: "The id of the broker which requires to become master"},
		{Short: "bn", Long: "brokerName", HasArg: true, Required: true, Desc: "The broker name of the replicas that require to be manipulated"},
		{Short: "c", Long: "clusterName", HasArg: true, Desc: "the clusterName of broker"},
	},
	Run: runElectMaster,
}

// controllerTimeout bounds one controller request of a command.
const controllerTimeout = 5 * time.Second

// controllerCall sends one request to the controller leader reached from -a.
func controllerCall(e *Env, req func() *codec.Command) (*codec.Command, error) {
	t := transport.NewClient(transport.ClientOptions{DialTimeout: 3 * time.Second})
	defer t.Close()
	c := ctrlclient.New(splitAddrs(e.flags.Get("a")), t)
	ctx, cancel := context.WithTimeout(e.Ctx, controllerTimeout)
	defer cancel()
	resp, err := c.Invoke(ctx, req)
	if err != nil {
		return nil, err
	}
	if resp.Code != code.Success {
		return nil, fmt.Errorf("CODE: %d DESC: %s", resp.Code, resp.Remark)
	}
	return resp, nil
}

func splitAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ";") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

func runGetControllerMetaData(e *Env, f *Flags) error {
	t := transport.NewClient(transport.ClientOptions{DialTimeout: 3 * time.Second})
	defer t.Close()
	ctx, cancel := context.WithTimeout(e.Ctx, controllerTimeout)
	defer cancel()
	resp, err := t.Invoke(ctx, f.Get("a"), codec.NewRequest(code.ControllerGetMetadataInfo, nil, nil))
	if err != nil {
		return err
	}
	var h header.ControllerMetadata
	if err := h.Decode(resp.ExtFields); err != nil {
		return err
	}
	e.printf("\n#ControllerGroup\t%s", h.Group)
	e.printf("\n#ControllerLeaderId\t%s", h.ControllerLeaderID)
	e.printf("\n#ControllerLeaderAddress\t%s", h.ControllerLeaderAddress)
	for _, p := range splitAddrs(h.Peers) {
		e.printf("\n#Peer:\t%s", p)
	}
	e.printf("\n")
	return nil
}

// groupNames returns -b, or every brokerName of -c from the NameServers.
func groupNames(e *Env, f *Flags) ([]string, error) {
	if f.Has("b") {
		return []string{f.Get("b")}, nil
	}
	a, err := e.Admin()
	if err != nil {
		return nil, err
	}
	ci, err := a.Clusters(e.Ctx)
	if err != nil {
		return nil, err
	}
	names, ok := ci.ClusterAddrTable[f.Get("c")]
	if !ok {
		return nil, fmt.Errorf("cluster %q not found", f.Get("c"))
	}
	return slices.Sorted(slices.Values(names)), nil
}

func runGetSyncStateSet(e *Env, f *Flags) error {
	names, err := groupNames(e, f)
	if err != nil {
		return err
	}
	bd := body.EncodeJSON(names)
	resp, err := controllerCall(e, func() *codec.Command { return codec.NewRequest(code.ControllerGetSyncStateData, nil, bd) })
	if err != nil {
		return err
	}
	var info body.BrokerReplicasInfo
	if err := body.DecodeJSON(resp.Body, &info); err != nil {
		return err
	}
	for _, name := range names {
		ri, ok := info.ReplicasInfoTable[name]
		if !ok {
			continue
		}
		e.printf("\n#brokerName\t%s\n#MasterBrokerId\t%d\n#MasterAddr\t%s\n#MasterEpoch\t%d\n#SyncStateSetEpoch\t%d\n#SyncStateSetNums\t%d\n",
			name, ri.MasterBrokerID, ri.MasterAddress, ri.MasterEpoch, ri.SyncStateSetEpoch, len(ri.InSyncReplicas))
		for _, r := range ri.InSyncReplicas {
			e.printf("\n#InSyncReplica:\t%s", replicaString(r))
		}
		for _, r := range ri.NotInSyncReplicas {
			e.printf("\n#OutOfSyncReplica:\t%s", replicaString(r))
		}
		e.printf("\n")
	}
	return nil
}

// replicaString is ReplicaIdentity.toString.
func replicaString(r body.ReplicaIdentity) string {
	return fmt.Sprintf("ReplicaIdentity{brokerName='%s', brokerId=%d, brokerAddress='%s', alive=%t}", r.BrokerName, r.BrokerID, r.BrokerAddress, r.Alive)
}

func runGetBrokerEpoch(e *Env, f *Flags) error {
	a, err := e.Admin()
	if err != nil {
		return err
	}
	names, err := groupNames(e, f)
	if err != nil {
		return err
	}
	ci, err := a.Clusters(e.Ctx)
	if err != nil {
		return err
	}
	t := transport.NewClient(transport.ClientOptions{DialTimeout: 3 * time.Second})
	defer t.Close()
	for _, name := range names {
		bd, ok := ci.BrokerAddrTable[name]
		if !ok {
			return fmt.Errorf("broker %q not found", name)
		}
		ids := slices.Sorted(func(yield func(int64) bool) {
			for id := range bd.BrokerAddrs {
				if !yield(id) {
					return
				}
			}
		})
		for _, id := range ids {
			addr := bd.BrokerAddrs[id]
			ctx, cancel := context.WithTimeout(e.Ctx, controllerTimeout)
			resp, err := t.Invoke(ctx, addr, codec.NewRequest(code.GetBrokerEpochCache, nil, nil))
			cancel()
			if err != nil {
				return fmt.Errorf("%s: %w", addr, err)
			}
			if resp.Code != code.Success {
				return fmt.Errorf("%s: CODE: %d DESC: %s", addr, resp.Code, resp.Remark)
			}
			var c body.EpochEntryCache
			if err := body.DecodeJSON(resp.Body, &c); err != nil {
				return err
			}
			e.printf("\n#clusterName\t%s\n#brokerName\t%s\n#brokerAddr\t%s\n#brokerId\t%d", c.ClusterName, c.BrokerName, addr, id)
			for _, en := range c.EpochList {
				e.printf("\n#Epoch: EpochEntry{epoch=%d, startOffset=%d, endOffset=%d}", en.Epoch, en.StartOffset, en.EndOffset)
			}
			e.printf("\n")
		}
	}
	return nil
}

func runElectMaster(e *Env, f *Flags) error {
	id, err := strconv.ParseInt(f.Get("b"), 10, 64)
	if err != nil || id <= 0 {
		return fmt.Errorf("-b %q: want a brokerId > 0", f.Get("b"))
	}
	h := header.BrokerNameRequest{ClusterName: f.Get("c"), BrokerName: f.Get("bn"), BrokerID: id}
	resp, err := controllerCall(e, func() *codec.Command { return codec.NewRequest(code.ControllerElectMaster, h.Encode(), nil) })
	if err != nil {
		return err
	}
	var ri header.ReplicaInfo
	if err := ri.Decode(resp.ExtFields); err != nil {
		return err
	}
	var g body.BrokerMemberGroup
	if err := body.DecodeJSON(resp.Body, &g); err != nil {
		return err
	}
	e.printf("\n#ClusterName\t%s\n#BrokerName\t%s\n#BrokerMasterAddr\t%s\n#MasterEpoch\t%d\n#SyncStateSetEpoch\t%d\n",
		g.Cluster, g.BrokerName, resp.ExtFields["newMasterAddress"], ri.MasterEpoch, ri.SyncStateSetEpoch)
	return nil
}
