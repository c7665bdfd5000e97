package broker

import (
	"context"
	"encoding/json"
	"hash/crc32"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// captured is one request a fake NameServer received.
type captured struct {
	code int32
	ext  map[string]string
	body []byte
}

// startFakeNamesrv serves REGISTER_BROKER and UNREGISTER_BROKER on 127.0.0.1:0,
// answering 0 and handing every request to the returned channel.
func startFakeNamesrv(t *testing.T) (string, <-chan captured) {
	t.Helper()
	ch := make(chan captured, 64)
	srv := server.NewServer(server.ServerOptions{Addr: "127.0.0.1:0", Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	h := func(_ *server.Conn, req *codec.Command) *codec.Command {
		ch <- captured{code: req.Code, ext: req.ExtFields, body: append([]byte(nil), req.Body...)}
		return req.NewResponse(code.Success, "")
	}
	srv.Handle(code.RegisterBroker, h)
	srv.Handle(code.UnregisterBroker, h)
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addr().String(), ch
}

func nextCaptured(t *testing.T, ch <-chan captured, want int32, within time.Duration) captured {
	t.Helper()
	select {
	case c := <-ch:
		if c.code != want {
			t.Fatalf("namesrv received code %d, want %d", c.code, want)
		}
		return c
	case <-time.After(within):
		t.Fatalf("namesrv received no %d within %v", want, within)
	}
	return captured{}
}

// checkRegistration verifies a REGISTER_BROKER request from e's broker and returns its
// decoded body.
func checkRegistration(t *testing.T, e *regEnv, c captured) *body.RegisterBrokerBody {
	t.Helper()
	var h header.RegisterBrokerRequest
	if err := h.Decode(c.ext); err != nil {
		t.Fatalf("register header %v: %v", c.ext, err)
	}
	if h.BrokerName != "broker-r" || h.ClusterName != "ClusterR" || h.BrokerAddr != e.b.Addr() || h.BrokerID != 0 || h.Compressed {
		t.Fatalf("register header: %+v (broker at %s)", h, e.b.Addr())
	}
	if want := int32(crc32.ChecksumIEEE(c.body) & 0x7fffffff); h.BodyCRC32 != want || h.BodyCRC32 == 0 {
		t.Fatalf("bodyCrc32: got %d, want %d (Java's UtilAll.crc32)", h.BodyCRC32, want)
	}
	if !json.Valid(c.body) {
		t.Fatalf("register body is not JSON: %s", c.body)
	}
	rb, err := body.DecodeRegisterBrokerBody(c.body, false)
	if err != nil {
		t.Fatalf("register body: %v", err)
	}
	return rb
}

func TestRegistrarFakeNamesrv(t *testing.T) {
	addr, got := startFakeNamesrv(t)
	e := startRegistryBroker(t, func(o *Options) {
		o.NamesrvAddrs = []string{addr}
		o.BrokerName, o.ClusterName = "broker-r", "ClusterR"
		o.RegisterPeriod = time.Minute // no periodic round can interfere within the test
	})

	rb := checkRegistration(t, e, nextCaptured(t, got, code.RegisterBroker, 5*time.Second))
	first := rb.TopicConfigSerializeWrapper
	if tc, ok := first.TopicConfigTable["TBW102"]; !ok || tc.Perm != 7 {
		t.Fatalf("first registration lacks TBW102 with perm 7: %+v", first.TopicConfigTable["TBW102"])
	}
	if _, ok := first.TopicConfigTable["%RETRY%cg"]; ok {
		t.Fatal("retry topic registered before any heartbeat")
	}

	// A heartbeat creates %RETRY%cg: the topic table's change re-registers at once, long
	// before the one-minute period.
	e.heartbeat(e.cli, "10.0.0.1@1", []string{"cg"}, []string{"T"})
	rb = checkRegistration(t, e, nextCaptured(t, got, code.RegisterBroker, 5*time.Second))
	second := rb.TopicConfigSerializeWrapper
	tc, ok := second.TopicConfigTable["%RETRY%cg"]
	if !ok || tc.ReadQueueNums != 1 || tc.Perm != 6 {
		t.Fatalf("re-registration lacks %%RETRY%%cg (1 queue, perm 6): %+v", tc)
	}
	if second.DataVersion.Counter <= first.DataVersion.Counter {
		t.Fatalf("dataVersion did not move: %+v then %+v", first.DataVersion, second.DataVersion)
	}

	// Close unregisters.
	if err := e.b.Close(); err != nil {
		t.Fatal(err)
	}
	for {
		var c captured
		select {
		case c = <-got:
		case <-time.After(5 * time.Second):
			t.Fatal("no UNREGISTER_BROKER within 5s of Close")
		}
		if c.code == code.RegisterBroker {
			continue // a round that was in flight
		}
		if c.code != code.UnregisterBroker || c.ext["brokerName"] != "broker-r" || c.ext["brokerAddr"] != e.b.Addr() ||
			c.ext["clusterName"] != "ClusterR" || c.ext["brokerId"] != "0" {
			t.Fatalf("unregister: code %d ext %v", c.code, c.ext)
		}
		break
	}
}

func TestRegistrarPeriodClamp(t *testing.T) {
	for _, tc := range []struct{ in, want time.Duration }{
		{time.Second, 10 * time.Second}, {30 * time.Second, 30 * time.Second}, {time.Hour, time.Minute},
	} {
		o := Options{RegisterPeriod: tc.in}
		if got := o.ClampedRegisterPeriod(); got != tc.want {
			t.Fatalf("clamp %v: got %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestRegistrarUnreachableNamesrv(t *testing.T) {
	// Nothing listens there: registration fails, is logged, and the broker serves.
	addr, got := startFakeNamesrv(t)
	e := startRegistryBroker(t, func(o *Options) {
		o.NamesrvAddrs = []string{"127.0.0.1:1", addr}
		o.BrokerName, o.ClusterName = "broker-r", "ClusterR"
	})
	checkRegistration(t, e, nextCaptured(t, got, code.RegisterBroker, 10*time.Second))
	e.heartbeat(e.cli, "10.0.0.1@1", nil, nil, "pg")
}

func TestRegistrarRealNamesrv(t *testing.T) {
	ns := startNamesrv(t)
	e := startRegistryBroker(t, func(o *Options) {
		o.NamesrvAddrs = []string{ns.Addr()}
		o.RegisterPeriod = time.Minute
	})
	route := func(topic string) (*body.TopicRouteData, int32) { return e.route(ns.Addr(), topic) }
	waitRoute := func(topic string) *body.TopicRouteData {
		deadline := time.Now().Add(10 * time.Second)
		for {
			if rd, c := route(topic); c == code.Success {
				return rd
			}
			if time.Now().After(deadline) {
				t.Fatalf("no route for %s within 10s", topic)
			}
			time.Sleep(20 * time.Millisecond) // poll interval
		}
	}
	rd := waitRoute("TBW102")
	if len(rd.BrokerDatas) != 1 || rd.BrokerDatas[0].BrokerAddrs[0] != e.b.Addr() {
		t.Fatalf("TBW102 route: %+v, want broker at %s", rd.BrokerDatas, e.b.Addr())
	}
	// A new topic reaches the NameServer through the immediate re-registration.
	e.heartbeat(e.cli, "10.0.0.1@1", []string{"rg"}, nil)
	rd = waitRoute("%RETRY%rg")
	if len(rd.QueueDatas) != 1 || rd.QueueDatas[0].ReadQueueNums != 1 || rd.QueueDatas[0].BrokerName != e.b.opts.BrokerName {
		t.Fatalf("%%RETRY%%rg route: %+v", rd.QueueDatas)
	}
}
