package admincli

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/namesrv/controller"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// TestControllerCommands runs getControllerMetaData, getSyncStateSet and electMaster
// against a one-controller group (tools/command/controller and tools/command/ha of
// Apache RocketMQ 5).
func TestControllerCommands(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raftAddr := ln.Addr().String()
	ln.Close()
	o := controller.DefaultOptions()
	o.ListenAddr, o.Peers, o.SelfID, o.StorePath = "127.0.0.1:0", "n0-"+raftAddr, "n0", t.TempDir()
	s, err := controller.StartStandalone(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tc := transport.NewClient(transport.ClientOptions{})
	t.Cleanup(func() { tc.Close() })
	register := func(addr string) *codec.Command {
		h := header.ControllerRegisterRequest{ClusterName: "C", BrokerName: "g", BrokerAddr: addr, HeartbeatTimeoutMillis: 60000}
		resp, err := tc.Invoke(context.Background(), s.Addr(), codec.NewRequest(code.ControllerRegisterBroker, h.Encode(), nil))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	testutil.Eventually(t, 10*time.Second, "the controller to lead", func() bool { return register("10.0.0.1:10911").Code == code.Success })
	register("10.0.0.2:10911")

	n := &normalizer{pairs: []string{s.Addr(), "<CONTROLLER>", raftAddr, "<RAFT>"}}
	golden(t, "getControllerMetaData.golden", n.apply(mustRun(t, "getControllerMetaData", "-a", s.Addr())))
	golden(t, "getSyncStateSet.golden", n.apply(mustRun(t, "getSyncStateSet", "-a", s.Addr(), "-b", "g")))
	golden(t, "electMaster.golden", n.apply(mustRun(t, "electMaster", "-a", s.Addr(), "-bn", "g", "-b", "1")))
	if _, errs, rc := run(t, "electMaster", "-a", s.Addr(), "-bn", "g", "-b", "2"); rc == 0 {
		t.Fatalf("electing a broker outside the SyncStateSet succeeded: %s", errs)
	}
}
