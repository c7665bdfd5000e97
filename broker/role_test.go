package broker

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/broker/ha"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/store"
)

func TestRoleOptions(t *testing.T) {
	valid := []func(*Options){
		func(o *Options) { o.BrokerRole = RoleSyncMaster },
		func(o *Options) { o.BrokerRole, o.BrokerID = RoleSlave, 1 },
		func(o *Options) { o.BrokerRole, o.BrokerID, o.HAMasterAddr = RoleSlave, 3, "10.0.0.1:10912" },
		func(o *Options) { o.HAListenPort = 20912 },
	}
	for i, mod := range valid {
		o := DefaultOptions()
		mod(&o)
		if err := o.Validate(); err != nil {
			t.Errorf("valid case %d: %v", i, err)
		}
	}
	cases := []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"slave with id 0", func(o *Options) { o.BrokerRole = RoleSlave }, "brokerId > 0"},
		{"master with id 1", func(o *Options) { o.BrokerID = 1 }, "brokerId 0"},
		{"unknown role", func(o *Options) { o.BrokerRole = "LEADER" }, "brokerRole"},
		{"ha port", func(o *Options) { o.HAListenPort = 70000 }, "haListenPort"},
		{"negative ha port", func(o *Options) { o.HAListenPort = -2 }, "haListenPort"},
		{"ha master", func(o *Options) { o.BrokerRole, o.BrokerID, o.HAMasterAddr = RoleSlave, 1, "master:10912" }, "haMasterAddress"},
		{"batch", func(o *Options) { o.HATransferBatchBytes = 100 }, "haTransferBatchSize"},
		{"housekeeping", func(o *Options) { o.HAHousekeepingInterval = o.HASendHeartbeatInterval }, "haHousekeepingInterval"},
		{"slave timeout", func(o *Options) { o.SlaveTimeout = 0 }, "slaveTimeout"},
		{"fall behind", func(o *Options) { o.HASlaveFallbehindMax = 0 }, "haSlaveFallbehindMax"},
		{"ratio", func(o *Options) { o.AccessMessageInMemoryMaxRatio = 101 }, "accessMessageInMemoryMaxRatio"},
		{"sync interval", func(o *Options) { o.SlaveSyncInterval = time.Millisecond }, "slaveSyncInterval"},
	}
	for _, c := range cases {
		o := DefaultOptions()
		c.mod(&o)
		if err := o.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error mentioning %q", c.name, err, c.want)
		}
	}
	for _, c := range []struct {
		listen string
		port   int
		want   string
	}{
		{"0.0.0.0:10911", 0, "0.0.0.0:10912"},
		{"127.0.0.1:0", 0, "127.0.0.1:0"},
		{"127.0.0.1:10911", 30000, "127.0.0.1:30000"},
		{"127.0.0.1:10911", -1, "127.0.0.1:0"},
	} {
		if got := (Options{ListenAddr: c.listen, HAListenPort: c.port}).HAListenAddr(); got != c.want {
			t.Errorf("ha listen address of %s with port %d: %s, want %s", c.listen, c.port, got, c.want)
		}
	}
}

// fastHA makes replication quick to notice changes in tests.
func fastHA(o *Options, so *store.Options) {
	o.HASendHeartbeatInterval = 50 * time.Millisecond
	o.HAHousekeepingInterval = 2 * time.Second
	o.SlaveSyncInterval = 100 * time.Millisecond
	so.CommitLogSegmentBytes = 1 << 20
}

// pair is a master harness and a slave harness replicating from it, without
// NameServers: the slave is told the master's addresses directly.
func newPair(t *testing.T, role string, opts ...harnessOpt) (master, slave *harness) {
	t.Helper()
	master = newHarness(t, append([]harnessOpt{fastHA, func(o *Options, _ *store.Options) { o.BrokerRole = role }}, opts...)...)
	haAddr := master.b.haServerAddr()
	if haAddr == "" {
		t.Fatalf("master registers no HA address")
	}
	slave = newHarness(t, append([]harnessOpt{fastHA, func(o *Options, _ *store.Options) {
		o.BrokerRole, o.BrokerID, o.HAMasterAddr = RoleSlave, 1, haAddr
	}}, opts...)...)
	slave.b.repl.meta.SetMasterAddr(master.b.Addr())
	return master, slave
}

// waitReplicated waits until the slave's log ends where the master's does.
func waitReplicated(t *testing.T, master, slave *harness) {
	t.Helper()
	testutil.Eventually(t, 10*time.Second, "the slave to catch up", func() bool {
		return slave.b.store.MaxPhysicalOffset() == master.b.store.MaxPhysicalOffset()
	})

}

func TestSlaveServesWhatTheMasterStored(t *testing.T) {
	master, slave := newPair(t, RoleAsyncMaster)
	master.createTopic("HA", 2, 6)
	var sent []string
	for i := 0; i < 40; i++ {
		b := fmt.Sprintf("ha-%02d", i)
		master.send("HA", int32(i%2), b, map[string]string{"TAGS": "t"})
		sent = append(sent, b)
	}
	waitReplicated(t, master, slave)

	// Metadata: the topic and the consumer offsets reach the slave.
	commit := &header.UpdateConsumerOffsetRequest{ConsumerGroup: "g@x", Topic: "HA", QueueID: 1, CommitOffset: 7}
	wantCode(t, "commit on master", master.call(code.UpdateConsumerOffset, commit.Encode(), nil), code.Success, "")
	sg := []byte(`{"groupName":"gcfg","consumeEnable":true,"retryMaxTimes":5,"retryQueueNums":1}`)
	wantCode(t, "group on master", master.call(code.UpdateAndCreateSubGroup, nil, sg), code.Success, "")
	testutil.Eventually(t, 10*time.Second, "metadata on the slave", func() bool {
		_, ok := slave.b.topics.Get("HA")
		off, okOff := slave.b.offsets.Get("g@x", "HA", 1)
		g, okG := slave.b.groups.Get("gcfg")
		return ok && okOff && off == 7 && okG && g.GetRetryMaxTimes() == 5
	})

	// A deleted topic leaves the slave's table too.
	master.createTopic("Gone", 1, 6)
	testutil.Eventually(t, 10*time.Second, "the second topic on the slave", func() bool { _, ok := slave.b.topics.Get("Gone"); return ok })
	del := &header.DeleteTopicRequest{Topic: "Gone"}
	wantCode(t, "delete on master", master.call(code.DeleteTopicInBroker, del.Encode(), nil), code.Success, "")
	testutil.Eventually(t, 10*time.Second, "the deletion on the slave", func() bool { _, ok := slave.b.topics.Get("Gone"); return !ok })

	// Pulls from the slave return the master's records, byte for byte.
	for q := int32(0); q < 2; q++ {
		waitMax(t, slave.b, "HA", q, 20)
		mr := master.pull(pullReq("g", "HA", q, 0))
		sr := slave.pull(pullReq("g", "HA", q, 0))
		wantCode(t, "pull from slave", sr, code.Success, "")
		if !bytes.Equal(mr.Body, sr.Body) || len(sr.Body) == 0 {
			t.Fatalf("queue %d: the slave's pull body (%d bytes) differs from the master's (%d)", q, len(sr.Body), len(mr.Body))
		}
		if got := records(t, sr.Body); len(got) != 20 || string(got[0].Body) != sent[q] {
			t.Fatalf("queue %d: %d records from the slave, first %q", q, len(got), got[0].Body)
		}
		if s := pullHeader(t, sr).SuggestWhichBrokerID; s != 0 {
			t.Fatalf("slave suggests broker %d with slaveReadEnable off, want 0", s)
		}
	}

	// A slave refuses sends, with a code producers retry elsewhere.
	wantCode(t, "send to slave", slave.sendWith(sendReq("HA", 0, nil), []byte("x")), code.ServiceNotAvailable, "slave")

	// A consumer ahead of the slave keeps its offset: never moved by a slave.
	resp := slave.pull(pullReq("g", "HA", 0, 25))
	wantCode(t, "pull ahead of the slave", resp, code.PullNotFound, "replication")
	if ph := pullHeader(t, resp); ph.NextBeginOffset != 25 {
		t.Fatalf("pull ahead of the slave: nextBeginOffset %d, want 25 (unchanged)", ph.NextBeginOffset)
	}
	// The master still corrects such an offset, as RocketMQ does.
	resp = master.pull(pullReq("g", "HA", 0, 25))
	if ph := pullHeader(t, resp); resp.Code != code.PullOffsetMoved || ph.NextBeginOffset != 20 {
		t.Fatalf("pull ahead on the master: code %d next %d, want %d and 20", resp.Code, ph.NextBeginOffset, code.PullOffsetMoved)
	}

	// The runtime info tells where replication stands.
	info := runtimeInfo(t, master)
	if info["brokerRole"] != RoleAsyncMaster || info["haSlaveCount"] != "1" || info["haSlaveAckOffset"] != info["commitLogMaxOffset"] {
		t.Fatalf("master runtime info: role %q slaves %q acked %q max %q", info["brokerRole"], info["haSlaveCount"], info["haSlaveAckOffset"], info["commitLogMaxOffset"])
	}
	sinfo := runtimeInfo(t, slave)
	if sinfo["haReplicating"] != "true" || sinfo["commitLogMaxOffset"] != info["commitLogMaxOffset"] {
		t.Fatalf("slave runtime info: replicating %q max %q", sinfo["haReplicating"], sinfo["commitLogMaxOffset"])
	}
}

func runtimeInfo(t *testing.T, h *harness) map[string]string {
	t.Helper()
	resp := h.call(code.GetBrokerRuntimeInfo, nil, nil)
	wantCode(t, "runtime info", resp, code.Success, "")
	kv, err := body.DecodeKVTable(resp.Body)
	if err != nil {
		t.Fatalf("runtime info: %v", err)
	}
	return kv.Table
}

func TestSyncMasterAnswers(t *testing.T) {
	master := newHarness(t, fastHA, func(o *Options, so *store.Options) {
		o.BrokerRole = RoleSyncMaster
		o.SlaveTimeout = 300 * time.Millisecond
	})
	master.createTopic("SM", 1, 6)
	// No slave: stored, answered SLAVE_NOT_AVAILABLE at once, which counts as sent.
	resp := master.sendWith(sendReq("SM", 0, nil), []byte("alone"))
	wantCode(t, "send without a slave", resp, code.SlaveNotAvailable, "no slave")
	if resp.ExtFields["msgId"] == "" || resp.ExtFields["queueOffset"] != "0" {
		t.Fatalf("a SLAVE_NOT_AVAILABLE answer lacks the send result: %v", resp.ExtFields)
	}
	// WAIT=false answers at once.
	wantCode(t, "send without waiting", master.sendWith(sendReq("SM", 0, map[string]string{"WAIT": "false"}), []byte("nowait")), code.Success, "")

	// A connected slave that never acknowledges: FLUSH_SLAVE_TIMEOUT after slaveTimeout.
	id, _, err := master.b.store.LogID(false)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", master.b.haServerAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(ha.AppendHello(nil, ha.Hello{Version: ha.Version, LogID: id, BrokerID: 1, BrokerName: "broker-t",
		SegmentBytes: master.so.CommitLogSegmentBytes, Offset: 0}))
	if typ, _, _, err := ha.ReadFrame(c, nil, 0); err != nil || typ != ha.TypeWelcome {
		t.Fatalf("fake slave handshake: %d %v", typ, err)
	}
	began := time.Now()
	resp = master.sendWith(sendReq("SM", 0, nil), []byte("unacked"))
	wantCode(t, "send with a silent slave", resp, code.FlushSlaveTimeout, "")
	if d := time.Since(began); d < 250*time.Millisecond {
		t.Fatalf("FLUSH_SLAVE_TIMEOUT after %v, before the 300ms slaveTimeout", d)
	}
	c.Close()
	testutil.Eventually(t, 5*time.Second, "the fake slave to be dropped", func() bool { return len(master.b.repl.server.Slaves()) == 0 })

	// A real slave: every send is answered SEND_OK once the slave has the record.
	slave := newHarness(t, fastHA, func(o *Options, _ *store.Options) {
		o.BrokerRole, o.BrokerID, o.BrokerName, o.HAMasterAddr = RoleSlave, 1, "broker-t", master.b.haServerAddr()
	})
	testutil.Eventually(t, 10*time.Second, "the slave to connect", func() bool { return len(master.b.repl.server.Slaves()) == 1 })
	for i := 0; i < 20; i++ {
		resp := master.sendWith(sendReq("SM", 0, nil), []byte("replicated-"+strconv.Itoa(i)))
		wantCode(t, "send with a slave", resp, code.Success, "")
		var r header.SendMessageResponse
		if err := r.Decode(resp.ExtFields); err != nil {
			t.Fatal(err)
		}
		// Acknowledged means the slave's log holds the record's end.
		if got := slave.b.store.MaxPhysicalOffset(); got < recordEnd(t, master, r) {
			t.Fatalf("send %d acknowledged while the slave's log ends at %d", i, got)
		}
	}
}

// recordEnd returns the CommitLog offset just past the record a send stored.
func recordEnd(t *testing.T, h *harness, r header.SendMessageResponse) int64 {
	t.Helper()
	res := h.b.store.GetMessages("SM", r.QueueID, r.QueueOffset, 1, 0, nil)
	testutil.Eventually(t, 5*time.Second, "the record to be dispatched", func() bool {
		res = h.b.store.GetMessages("SM", r.QueueID, r.QueueOffset, 1, 0, nil)
		return len(res.Records) == 1
	})

	rec := res.Records[0]
	return int64(len(rec)) + message.RecordPhysicalOffset(rec)
}

func TestSuggestSlaveForLaggingConsumers(t *testing.T) {
	master, slave := newPair(t, RoleAsyncMaster, func(o *Options, _ *store.Options) {
		o.SlaveReadEnable = true
		o.AccessMessageInMemoryMaxRatio = 0 // any distance from the log's end is "far"
	})
	master.createTopic("SL", 1, 6)
	for i := 0; i < 10; i++ {
		master.send("SL", 0, "m"+strconv.Itoa(i), nil)
	}
	waitReplicated(t, master, slave)
	p := pullReq("g", "SL", 0, 0)
	p.MaxMsgNums = 2
	if s := pullHeader(t, master.pull(p)).SuggestWhichBrokerID; s != 1 {
		t.Fatalf("a consumer far behind is suggested broker %d, want the slave (1)", s)
	}
	p.MaxMsgNums = 32 // reads up to the end: close enough
	if s := pullHeader(t, master.pull(p)).SuggestWhichBrokerID; s != 0 {
		t.Fatalf("a consumer at the end is suggested broker %d, want the master (0)", s)
	}
	waitMax(t, slave.b, "SL", 0, 10)
	testutil.Eventually(t, 10*time.Second, "the topic on the slave", func() bool { _, ok := slave.b.topics.Get("SL"); return ok })
	p.MaxMsgNums = 2
	if s := pullHeader(t, slave.pull(p)).SuggestWhichBrokerID; s != 1 {
		t.Fatalf("the slave suggests broker %d to a lagging consumer, want itself (1)", s)
	}
}

func TestConsumerOffsetSnapshot(t *testing.T) {
	master := newHarness(t)
	for _, c := range []struct {
		group string
		q     int32
		off   int64
	}{{"g1", 0, 5}, {"g1", 3, 9}, {"g@2", 1, 11}} {
		h := &header.UpdateConsumerOffsetRequest{ConsumerGroup: c.group, Topic: "T", QueueID: c.q, CommitOffset: c.off}
		wantCode(t, "commit", master.call(code.UpdateConsumerOffset, h.Encode(), nil), code.Success, "")
	}
	resp := master.call(code.GetAllConsumerOffset, nil, nil)
	wantCode(t, "get all consumer offsets", resp, code.Success, "")
	want := `{"offsetTable":{"T@g1":{"0":5,"3":9},"T@g@2":{"1":11}}}`
	if string(resp.Body) != want {
		t.Fatalf("body %s, want %s", resp.Body, want)
	}
}

// TestRuntimeInfoDuringStart: GET_BROKER_RUNTIME_INFO runs on a worker that exists from
// the moment the remoting port serves, and a client that knows the address already (a
// fixed listenPort, a broker restarted on its old port) may ask for it while Start is
// still starting replication. The answer names the HA listener's address, which Start
// sets then: reading it must be safe from the start. The race detector fails this test
// when it is not.
func TestRuntimeInfoDuringStart(t *testing.T) {
	stop, done := make(chan struct{}), make(chan struct{})
	stopServing := sync.OnceFunc(func() { close(stop); <-done })
	var served atomic.Int64
	h := newHarnessWith(t, func(b *Broker) {
		t.Cleanup(stopServing) // also when Start fails
		// A worker serving the request throughout Start.
		go func() {
			defer close(done)
			req := codec.NewRequest(code.GetBrokerRuntimeInfo, nil, nil)
			for {
				select {
				case <-stop:
					return
				default:
				}
				if resp := b.handleRuntimeInfo(nil, req); resp.Code != code.Success {
					t.Errorf("runtime info during start: code %d %s", resp.Code, resp.Remark)
					return
				}
				served.Add(1)
			}
		}()
	})
	// Not vacuous: the worker has served at least once before it is stopped.
	testutil.Eventually(t, 10*time.Second, "the worker to serve runtime info", func() bool { return served.Load() > 0 })
	stopServing()
	if info := runtimeInfo(t, h); info["haServerAddr"] == "" {
		t.Fatalf("runtime info of a started master has no haServerAddr: %v", info)
	}
}
