package namesrv

import (
	"context"
	"strconv"
	"testing"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/transport"
)

// benchTable is a table with 4 broker groups (master and slave) sharing 1000 topics.
func benchTable() *routeTable {
	rt := newRouteTable()
	w := &body.TopicConfigSerializeWrapper{TopicConfigTable: map[string]body.TopicConfig{}, DataVersion: body.DataVersion{Counter: 1}}
	for i := range 1000 {
		name := "topic-" + strconv.Itoa(i)
		w.TopicConfigTable[name] = tc(name, 8, 8, 6)
	}
	for g := range 4 {
		name := "broker-" + strconv.Itoa(g)
		for id := range 2 {
			addr := "10.0.0." + strconv.Itoa(g*2+id) + ":10911"
			rt.register(reg("C", name, int64(id), addr, w, uint64(g*2+id), t0))
		}
	}
	return rt
}

func BenchmarkRouteLookupAndEncode(b *testing.B) {
	rt := benchTable()
	r, _ := rt.route("topic-7")
	b.SetBytes(int64(len(r.Encode())))
	b.ReportAllocs()
	for b.Loop() {
		r, ok := rt.route("topic-7")
		if !ok {
			b.Fatal("no route")
		}
		_ = r.Encode()
	}
}

func BenchmarkGetRouteInfoTCP(b *testing.B) {
	clk := &manualClock{t: t0}
	o := DefaultOptions()
	o.ListenAddr = "127.0.0.1:0"
	o.Now = clk.Now
	s := New(o)
	s.routes = benchTable()
	if err := s.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := transport.NewClient(transport.ClientOptions{})
	defer c.Close()
	ctx := context.Background()
	resp, err := c.Invoke(ctx, s.Addr(), routeReq("topic-7"))
	if err != nil || resp.Code != code.Success {
		b.Fatalf("route: %v %+v", err, resp)
	}
	b.SetBytes(int64(len(resp.Body)))
	b.ReportAllocs()
	for b.Loop() {
		resp, err := c.Invoke(ctx, s.Addr(), routeReq("topic-7"))
		if err != nil || resp.Code != code.Success {
			b.Fatalf("route: %v", err)
		}
	}
}
