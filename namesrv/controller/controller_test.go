package controller

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/ctrlclient"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Three controllers in one process: a follower answers CONTROLLER_NOT_LEADER naming
// the leader; a broker group's master is replaced from the SyncStateSet when its
// heartbeats stop.
func TestControllerGroupElects(t *testing.T) {
	var peers []string
	for i := 0; i < 3; i++ {
		peers = append(peers, fmt.Sprintf("n%d-%s", i, freeAddr(t)))
	}
	var addrs []string
	var ss []*Standalone
	for i := 0; i < 3; i++ {
		o := DefaultOptions()
		o.ListenAddr, o.Peers, o.SelfID = "127.0.0.1:0", strings.Join(peers, ";"), fmt.Sprintf("n%d", i)
		o.StorePath, o.ScanNotActiveBrokerInterval, o.DefaultHeartbeatTimeout = t.TempDir(), 50*time.Millisecond, time.Second
		s, err := StartStandalone(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		ss = append(ss, s)
		addrs = append(addrs, s.Addr())
	}
	tc := transport.NewClient(transport.ClientOptions{})
	t.Cleanup(func() { tc.Close() })
	cc := ctrlclient.New(addrs, tc)
	call := func(c int32, h map[string]string, b []byte) *codec.Command {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := cc.Invoke(ctx, func() *codec.Command { return codec.NewRequest(c, h, b) })
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	beat := func(c int32, addr string) header.ReplicaInfo {
		t.Helper()
		h := header.ControllerRegisterRequest{ClusterName: "C", BrokerName: "g", BrokerAddr: addr, HeartbeatTimeoutMillis: 300}
		resp := call(c, h.Encode(), nil)
		if resp.Code != code.Success {
			t.Fatalf("%d from %s: %d %s", c, addr, resp.Code, resp.Remark)
		}
		var ri header.ReplicaInfo
		if err := ri.Decode(resp.ExtFields); err != nil {
			t.Fatal(err)
		}
		return ri
	}
	testutil.Eventually(t, 10*time.Second, "a leader", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := cc.Invoke(ctx, func() *codec.Command { return codec.NewRequest(code.ControllerGetSyncStateData, nil, nil) })
		return err == nil
	})
	lastB1 := time.Now()
	if ri := beat(code.ControllerRegisterBroker, "b1:1"); ri.BrokerID != 1 || ri.MasterAddr != "b1:1" || ri.MasterEpoch != 1 {
		t.Fatalf("first broker: %+v", ri)
	}
	if ri := beat(code.ControllerRegisterBroker, "b2:1"); ri.BrokerID != 2 || ri.MasterAddr != "b1:1" {
		t.Fatalf("second broker: %+v", ri)
	}
	h := header.AlterSyncStateSetRequest{BrokerName: "g", MasterBrokerID: 1, MasterEpoch: 1}
	set := body.EncodeJSON(body.SyncStateSet{SyncStateSet: []int64{1, 2}, SyncStateSetEpoch: 1})
	if resp := call(code.ControllerAlterSyncStateSet, h.Encode(), set); resp.Code != code.Success {
		t.Fatalf("alter: %d %s", resp.Code, resp.Remark)
	}
	// Every follower refuses, naming the leader.
	var lead string
	for _, a := range addrs {
		resp, err := tc.Invoke(context.Background(), a, codec.NewRequest(code.ControllerGetReplicaInfo, map[string]string{"brokerName": "g"}, nil))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Code == code.Success {
			lead = a
		}
	}
	for _, a := range addrs {
		resp, _ := tc.Invoke(context.Background(), a, codec.NewRequest(code.ControllerGetReplicaInfo, map[string]string{"brokerName": "g"}, nil))
		if a != lead && (resp.Code != code.ControllerNotLeader || resp.ExtFields["leaderAddress"] != lead) {
			t.Fatalf("follower %s: %d %q %v, leader %s", a, resp.Code, resp.Remark, resp.ExtFields, lead)
		}
	}
	// b1 stops; b2 keeps beating and is elected.
	var ri header.ReplicaInfo
	testutil.Eventually(t, 5*time.Second, "b2 elected", func() bool {
		ri = beat(code.BrokerHeartbeat, "b2:1")
		return ri.MasterAddr == "b2:1"
	})
	if ri.MasterEpoch != 2 || time.Since(lastB1) < 300*time.Millisecond {
		t.Fatalf("election %+v %v after b1's last heartbeat (timeout 300ms)", ri, time.Since(lastB1))
	}
}
