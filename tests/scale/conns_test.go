package scale

import (
	"bufio"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

// maxRSSPerConn bounds the broker's RSS per idle, heartbeated connection: two
// goroutines' stacks, the connection's small read buffer and its client record.
const maxRSSPerConn = 64 << 10

// TestIdleConnections opens 200 client connections (5,000 under ROCKETGO_SCALE=1) to
// one broker, each sending one HEART_BEAT of its own producer client and then staying
// idle, and measures the broker's RSS and Go heap per connection at each step. It
// asserts the growth per connection stays under maxRSSPerConn.
func TestIdleConnections(t *testing.T) {
	steps := sizes([]int{50, 100, 200}, []int{100, 1000, 5000})
	bins := proctest.Build(t)
	// A recording NameServer: a broker without one would try the default 9876.
	broker, addr := startBroker(t, bins, newRecorder(t).addr(), t.TempDir())
	base := struct{ rss, heap int64 }{rss(t, broker), heap(t, broker)}
	record(t, "conns", map[string]float64{"conns": 0, "rss_bytes": float64(base.rss), "heap_bytes": float64(base.heap)})

	var held []net.Conn
	t.Cleanup(func() {
		for _, c := range held {
			_ = c.Close()
		}
	})
	var rsss []int64
	for _, n := range steps {
		more, err := heartbeatConns(addr, len(held), n)
		held = append(held, more...)
		if err != nil {
			t.Fatalf("at %d connections: %v", len(held), err)
		}
		r, h := rss(t, broker), heap(t, broker)
		rsss = append(rsss, r)
		record(t, "conns", map[string]float64{
			"conns": float64(n), "rss_bytes": float64(r), "heap_bytes": float64(h),
			"rss_per_conn":  float64(r-base.rss) / float64(n),
			"heap_per_conn": float64(h-base.heap) / float64(n),
		})
	}
	if per := perUnit(steps, rsss); per > maxRSSPerConn {
		t.Errorf("broker RSS grows by %.0f bytes per idle connection, over the bound of %d", per, maxRSSPerConn)
	}
}

// heartbeatConns dials connections from, …, to-1 (16 at a time), sends each one
// HEART_BEAT of producer client "scale-<i>" and waits for its success answer; the
// connections stay open for the caller.
func heartbeatConns(addr string, from, to int) ([]net.Conn, error) {
	conns := make([]net.Conn, to-from)
	errs := make(chan error, to-from)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			nc, err := heartbeat(addr, fmt.Sprintf("127.0.0.1@scale-%d", from+i))
			if err != nil {
				errs <- err
				return
			}
			conns[i] = nc
		}()
	}
	wg.Wait()
	close(errs)
	var held []net.Conn
	for _, c := range conns {
		if c != nil {
			held = append(held, c)
		}
	}
	return held, <-errs
}

// heartbeat dials the broker and registers producer client id of group scale-pg.
func heartbeat(addr, id string) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	hb := body.HeartbeatData{ClientID: id, ProducerDataSet: []body.ProducerData{{GroupName: "scale-pg"}}, ConsumerDataSet: []body.ConsumerData{}}
	req := codec.NewRequest(code.HeartBeat, nil, hb.Encode())
	req.Opaque = 1
	_ = nc.SetDeadline(time.Now().Add(30 * time.Second))
	if err := writeFrame(nc, req); err != nil {
		nc.Close()
		return nil, err
	}
	resp, err := readFrame(bufio.NewReader(nc))
	if err == nil && resp.Code != code.Success {
		err = fmt.Errorf("heartbeat of %s: code %d remark %q", id, resp.Code, resp.Remark)
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	_ = nc.SetDeadline(time.Time{})
	return nc, nil
}
