package ha

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

// Binaries are the built mqnamesrv and mqbroker programs.
type Binaries = proctest.Binaries

// Build builds the programs once per test binary; see proctest.Build.
func Build(t testing.TB) Binaries { return proctest.Build(t) }

// Invoke sends a request to addr and waits up to 10 s for the answer.
func Invoke(addr string, req *codec.Command) (*codec.Command, error) {
	return proctest.Invoke(addr, req)
}

// Namesrv is a NameServer process.
type Namesrv struct {
	*proctest.Proc
	Addr string
}

// StartNamesrv starts mqnamesrv on addr ("" picks a free port) and waits until it
// accepts connections. dir is unused: the harness keeps the output in memory.
func StartNamesrv(t testing.TB, bin Binaries, dir, name, addr string) *Namesrv {
	t.Helper()
	n := &Namesrv{}
	n.Proc = proctest.Launch(t, func() proctest.Spec {
		n.Addr = addr
		if n.Addr == "" {
			n.Addr = proctest.FreeAddr(t)
		}
		return proctest.Spec{Name: name, Bin: bin.Namesrv, Dir: dir, Args: []string{"-listen", n.Addr, "-loglevel", "info"}}
	}, func(*proctest.Proc) bool { return dialable(n.Addr) })
	return n
}

// BrokerConfig describes a broker process.
type BrokerConfig struct {
	Name     string   // brokerName
	ID       int64    // brokerId
	Role     string   // brokerRole
	Listen   string   // listen address; "" picks one with a free port after it
	HAPort   int      // haListenPort; 0 for the listen port + 1
	Namesrv  []string // NameServer addresses
	StoreDir string   // "" is a directory of its own in dir
	Flush    string   // flushDiskType; "" for ASYNC_FLUSH
	// Broker and Store hold more options of those sections, by their YAML key.
	Broker map[string]any
	Store  map[string]any
}

// Broker is a broker process.
type Broker struct {
	*proctest.Proc
	Cfg  BrokerConfig
	Addr string // the remoting address clients dial
}

// StartBroker writes the broker's YAML configuration into dir, starts mqbroker with it
// and waits until it answers GET_BROKER_RUNTIME_INFO.
func StartBroker(t testing.TB, bin Binaries, dir string, cfg BrokerConfig) *Broker {
	t.Helper()
	if cfg.StoreDir == "" {
		cfg.StoreDir = filepath.Join(dir, fmt.Sprintf("%s-%d-store", cfg.Name, cfg.ID))
	}
	if cfg.Flush == "" {
		cfg.Flush = "ASYNC_FLUSH"
	}
	name := fmt.Sprintf("%s-%d", cfg.Name, cfg.ID)
	path := filepath.Join(dir, name+".yaml")
	b := &Broker{}
	b.Proc = proctest.Launch(t, func() proctest.Spec {
		b.Cfg = cfg
		if b.Cfg.Listen == "" {
			b.Cfg.Listen = proctest.FreeAddr(t) // its port+1 (the HA port) was free too
		}
		b.Addr = b.Cfg.Listen
		if err := os.WriteFile(path, []byte(brokerYAML(b.Cfg)), 0o644); err != nil {
			t.Fatal(err)
		}
		return proctest.Spec{Name: name, Bin: bin.Broker, Dir: dir, Args: []string{"-c", path, "-loglevel", "info"}}
	}, b.serves)
	return b
}

// serves is the broker's readiness: it answers GET_BROKER_RUNTIME_INFO.
func (b *Broker) serves(*proctest.Proc) bool {
	_, err := RuntimeInfo(b.Addr)
	return err == nil
}

// Restart starts the broker again after Kill or Stop, with the same configuration and
// store, and waits until it serves.
func (b *Broker) Restart(t testing.TB) {
	t.Helper()
	b.Proc.Restart(b.serves)
}

// brokerYAML renders the configuration file of a broker.
func brokerYAML(c BrokerConfig) string {
	var sb strings.Builder
	sb.WriteString("broker:\n")
	kv := map[string]any{
		"listenAddr":               c.Listen,
		"brokerIP1":                "127.0.0.1",
		"brokerName":               c.Name,
		"brokerClusterName":        "HACluster",
		"brokerId":                 c.ID,
		"brokerRole":               c.Role,
		"namesrvAddr":              strings.Join(c.Namesrv, ";"),
		"registerNameServerPeriod": "10s",
		"haSendHeartbeatInterval":  "500ms",
		"haHousekeepingInterval":   "5s",
		"slaveSyncInterval":        "500ms",
	}
	if c.HAPort > 0 {
		kv["haListenPort"] = c.HAPort
	}
	for k, v := range c.Broker {
		kv[k] = v
	}
	writeSection(&sb, kv)
	sb.WriteString("store:\n")
	skv := map[string]any{
		"storePathRootDir":            c.StoreDir,
		"mappedFileSizeCommitLog":     4 << 20,
		"consumeQueueUnitsPerFile":    100000,
		"flushDiskType":               c.Flush,
		"diskSpaceCleanForciblyRatio": 0.99,
		"diskSpaceWarningLevelRatio":  0.99,
	}
	for k, v := range c.Store {
		skv[k] = v
	}
	writeSection(&sb, skv)
	return sb.String()
}

func writeSection(sb *strings.Builder, kv map[string]any) {
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch v := kv[k].(type) {
		case string:
			fmt.Fprintf(sb, "  %s: %q\n", k, v)
		default:
			fmt.Fprintf(sb, "  %s: %v\n", k, v)
		}
	}
}

// dialable reports whether a TCP connection to addr succeeds.
func dialable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// RuntimeInfo returns a broker's GET_BROKER_RUNTIME_INFO table.
func RuntimeInfo(addr string) (map[string]string, error) {
	resp, err := Invoke(addr, codec.NewRequest(code.GetBrokerRuntimeInfo, nil, nil))
	if err != nil {
		return nil, err
	}
	if resp.Code != code.Success {
		return nil, fmt.Errorf("runtime info: code %d %s", resp.Code, resp.Remark)
	}
	kv, err := body.DecodeKVTable(resp.Body)
	if err != nil {
		return nil, err
	}
	return kv.Table, nil
}

// InfoInt returns one integer of a broker's runtime info, -1 when it cannot be read.
func InfoInt(addr, key string) int64 {
	info, err := RuntimeInfo(addr)
	if err != nil {
		return -1
	}
	v, err := strconv.ParseInt(info[key], 10, 64)
	if err != nil {
		return -1
	}
	return v
}

// WaitReplicated waits until the slave's CommitLog ends where the master's does and
// returns that offset.
func WaitReplicated(t testing.TB, master, slave *Broker, timeout time.Duration) int64 {
	t.Helper()
	var m, s int64
	testutil.Eventually(t, timeout, "the slave to catch up", func() bool {
		m, s = InfoInt(master.Addr, "commitLogMaxOffset"), InfoInt(slave.Addr, "commitLogMaxOffset")
		return m > 0 && m == s
	})
	return m
}
