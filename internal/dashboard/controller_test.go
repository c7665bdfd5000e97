package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/broker/epoch"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/namesrv/controller"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/transport"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// startController starts a one-controller group and waits until it leads.
func startController(t *testing.T) *controller.Standalone {
	t.Helper()
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
	return s
}

// startDashboard serves cfg on 127.0.0.1 and returns its base URL.
func startDashboard(t *testing.T, cfg Config) string {
	t.Helper()
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	addr, err := srv.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + addr + "/"
}

// TestControllerPage shows a broker group's controller state: a real broker registered
// with a real controller as brokerId 1 (elected master), a second replica outside the
// SyncStateSet, and the broker's epoch file served by GET_BROKER_EPOCH_CACHE.
func TestControllerPage(t *testing.T) {
	c := cluster.Start(t)
	ctl := startController(t)
	tc := transport.NewClient(transport.ClientOptions{})
	t.Cleanup(func() { tc.Close() })
	const other = "127.0.0.1:1"
	register := func(addr string) *codec.Command {
		h := header.ControllerRegisterRequest{ClusterName: c.ClusterName(), BrokerName: c.BrokerName(), BrokerAddr: addr, HeartbeatTimeoutMillis: 60000}
		resp, err := tc.Invoke(context.Background(), ctl.Addr(), codec.NewRequest(code.ControllerRegisterBroker, h.Encode(), nil))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	testutil.Eventually(t, 10*time.Second, "the controller to lead", func() bool { return register(c.BrokerAddr()).Code == code.Success })
	if resp := register(other); resp.Code != code.Success {
		t.Fatalf("register %s: %d %s", other, resp.Code, resp.Remark)
	}
	ep, err := epoch.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, en := range []epoch.Entry{{Epoch: 1, Start: 0}, {Epoch: 2, Start: 0}} {
		if err := ep.Append(en); err != nil {
			t.Fatal(err)
		}
	}
	c.Broker().SetControllerHooks(broker.ControllerHooks{Epochs: ep})

	base := startDashboard(t, Config{NameServers: []string{c.NamesrvAddr()}, ControllerAddrs: []string{ctl.Addr()}, Logger: quietLogger(t)})
	resp, err := http.Get(base + "api/controller")
	if err != nil {
		t.Fatal(err)
	}
	var v ctrlView
	err = json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/controller: %d %v", resp.StatusCode, err)
	}
	if !v.Configured || len(v.Groups) != 1 {
		t.Fatalf("controller view %+v", v)
	}
	g := v.Groups[0]
	if g.BrokerName != c.BrokerName() || g.Cluster != c.ClusterName() || g.MasterBrokerID != 1 || g.MasterAddr != c.BrokerAddr() ||
		g.MasterEpoch != 1 || g.SyncStateSetEpoch != 1 || g.Error != "" {
		t.Errorf("group %+v, want %s master brokerId 1 at %s, epochs 1/1", g, c.BrokerName(), c.BrokerAddr())
	}
	wantReplicas := []ctrlReplica{{BrokerID: 1, Addr: c.BrokerAddr(), Alive: true, InSync: true, Role: "MASTER"},
		{BrokerID: 2, Addr: other, Alive: true, InSync: false, Role: "OUT_OF_SYNC"}}
	if !reflect.DeepEqual(g.Replicas, wantReplicas) {
		t.Errorf("replicas %+v, want %+v", g.Replicas, wantReplicas)
	}
	if len(g.Brokers) != 1 {
		t.Fatalf("brokers %+v, want the one the NameServer knows", g.Brokers)
	}
	b := g.Brokers[0]
	wantEpochs := []body.EpochEntry{{Epoch: 1, StartOffset: 0, EndOffset: 0}, {Epoch: 2, StartOffset: 0, EndOffset: b.MaxOffset}}
	if b.Addr != c.BrokerAddr() || b.BrokerID != 0 || b.Error != "" || !reflect.DeepEqual(b.Epochs, wantEpochs) {
		t.Errorf("broker %+v, want %s with epochs %+v", b, c.BrokerAddr(), wantEpochs)
	}

	// Without controller addresses the endpoint asks nothing and says so.
	plain := startDashboard(t, Config{NameServers: []string{c.NamesrvAddr()}, Logger: quietLogger(t)})
	resp, err = http.Get(plain + "api/controller")
	if err != nil {
		t.Fatal(err)
	}
	var none ctrlView
	err = json.NewDecoder(resp.Body).Decode(&none)
	resp.Body.Close()
	if err != nil || none.Configured || len(none.Groups) != 0 {
		t.Fatalf("unconfigured controller view %+v (%v)", none, err)
	}

	if chromePath() == "" {
		t.Skip("no chromium binary found (install chromium, or set $CHROME)")
	}
	br := newBrowser(t, base)
	br.open(t, "controller")
	br.waitJS(t, "master, epochs and SyncStateSet", fmt.Sprintf(`(() => {
		const g = document.getElementById('ctrl-group-0'); if (!g) return false;
		const rows = Array.from(g.querySelectorAll('#ctrl-replicas-0 tbody tr')).map(tr => Array.from(tr.cells).map(td => td.innerText).join('|'));
		return g.querySelector('.ctrl-master-addr').innerText === %q && g.querySelector('.ctrl-master-id').innerText === '1' &&
			g.querySelector('.ctrl-master-epoch').innerText === '1' && g.querySelector('.ctrl-sss-epoch').innerText === '1' &&
			rows.join('\n') === %q &&
			g.querySelector('#ctrl-epochs-0 tbody').innerText.includes(%q);
	})()`, c.BrokerAddr(), "1|"+c.BrokerAddr()+"|MASTER|yes|yes\n2|"+other+"|OUT_OF_SYNC|no|yes",
		fmt.Sprintf("epoch 1: 0..0, epoch 2: 0..%d", b.MaxOffset)))
	br.screenshot(t, "controller")

	br.do(t, "open the page without controllers", chromedp.Navigate(plain+"#/controller"))
	br.waitJS(t, "not configured", `(document.getElementById('ctrl-none')?.innerText || '').startsWith('controller mode not configured')`)
}
