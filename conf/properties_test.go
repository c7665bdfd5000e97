package conf

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/store"
)

func writeNamed(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// Apache 4.9's sample files load unchanged, each key with Apache's meaning.
func TestApacheSamplesLoad(t *testing.T) {
	cases := []struct {
		file string
		role string
	}{
		{"testdata/apache/broker.conf", "ASYNC_MASTER"},
		{"testdata/apache/2m-2s-sync/broker-a.properties", "SYNC_MASTER"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			cfg, warn, err := LoadFile(c.file, Broker)
			if err != nil {
				t.Fatal(err)
			}
			if len(warn) != 0 {
				t.Errorf("warnings %q, want none: every key of the sample is implemented", warn)
			}
			want := Default()
			want.Broker.ClusterName, want.Broker.BrokerName, want.Broker.BrokerID = "DefaultCluster", "broker-a", 0
			want.Broker.BrokerRole = c.role
			want.Store.DeleteWhenHour = 4
			want.Store.FileReservedTime = 48 * time.Hour
			want.Store.FlushMode = store.AsyncFlush
			if got, w := flatten(reflect.ValueOf(cfg), ""), flatten(reflect.ValueOf(want), ""); !reflect.DeepEqual(got, w) {
				for k := range w {
					if !reflect.DeepEqual(got[k], w[k]) {
						t.Errorf("%s = %v, want %v", k, got[k], w[k])
					}
				}
			}
		})
	}
}

// Every Apache key rocketgo maps, in Apache's spelling and unit, and Java's syntax.
func TestApacheKeysAndSyntax(t *testing.T) {
	p := writeNamed(t, "broker.conf", `# comment
! another comment
brokerClusterName = ProdCluster
brokerName: broker-b
brokerId 0
namesrvAddr=10.0.0.1:9876;\
    10.0.0.2:9876
listenPort=10921
brokerIP1=192.168.1.5
storePathRootDir=/data/rocketmq/store
storePathCommitLog=/data/rocketmq/store/commitlog
mapedFileSizeCommitLog=536870912
mappedFileSizeConsumeQueue=6000000
flushDiskType=SYNC_FLUSH
brokerRole=SYNC_MASTER
deleteWhen=04;16
fileReservedTime=120
diskMaxUsedSpaceRatio=80
diskSpaceCleanForciblyRatio=88
diskSpaceWarningLevelRatio=95
autoCreateTopicEnable=false
flushIntervalCommitLog=200
transactionTimeOut=3000
timerMaxDelaySec=86400
regionId=East\u0031
brokerPermission=6
sendMessageThreadPoolNums=16
`)
	cfg, warn, err := LoadFile(p, Broker)
	if err != nil {
		t.Fatal(err)
	}
	b, s := cfg.Broker, cfg.Store
	checks := []struct {
		name      string
		got, want any
	}{
		{"brokerClusterName", b.ClusterName, "ProdCluster"},
		{"brokerName", b.BrokerName, "broker-b"},
		{"namesrvAddr", b.NamesrvAddrs, []string{"10.0.0.1:9876", "10.0.0.2:9876"}},
		{"listenPort", b.ListenAddr, "0.0.0.0:10921"},
		{"brokerIP1", b.AdvertiseIP, "192.168.1.5"},
		{"storePathRootDir", s.Dir, "/data/rocketmq/store"},
		{"mapedFileSizeCommitLog", s.CommitLogSegmentBytes, int64(512 << 20)},
		{"mappedFileSizeConsumeQueue", s.ConsumeQueueUnits, 300000},
		{"flushDiskType", s.FlushMode, store.SyncFlush},
		{"brokerRole", b.BrokerRole, "SYNC_MASTER"},
		{"deleteWhen", s.DeleteWhenHour, 4},
		{"fileReservedTime", s.FileReservedTime, 120 * time.Hour},
		{"diskMaxUsedSpaceRatio", s.DiskMaxUsedSpaceRatio, 80},
		{"diskSpaceCleanForciblyRatio", s.DiskWarnRatio, 0.88},
		{"diskSpaceWarningLevelRatio", s.DiskMaxRatio, 0.95},
		{"autoCreateTopicEnable", b.AutoCreateTopicEnable, false},
		{"flushIntervalCommitLog", s.FlushInterval, 200 * time.Millisecond},
		{"transactionTimeOut", b.TransactionTimeout, 3 * time.Second},
		{"timerMaxDelaySec", b.TimerMaxDelay, 24 * time.Hour},
		{"regionId", b.Region, "East1"},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.name, c.got, c.want)
		}
	}
	if len(warn) != 2 {
		t.Fatalf("warnings %q, want the deleteWhen one and one line naming the ignored keys", warn)
	}
	if w := strings.Join(warn, "\n"); !strings.Contains(w, "ignored: brokerPermission, sendMessageThreadPoolNums") || !strings.Contains(w, `deleteWhen "04;16"`) {
		t.Errorf("warnings %q", warn)
	}
}

func TestNamesrvProperties(t *testing.T) {
	p := writeNamed(t, "namesrv.properties", "listenPort=9877\nscanNotActiveBrokerInterval=5000\nbrokerExpiry=60000\nrocketmqHome=/opt/rocketmq\n")
	cfg, warn, err := LoadFile(p, Namesrv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Namesrv.ListenAddr != "0.0.0.0:9877" || cfg.Namesrv.ScanInterval != 5*time.Second || cfg.Namesrv.BrokerExpiry != time.Minute {
		t.Errorf("got %s %s %s", cfg.Namesrv.ListenAddr, cfg.Namesrv.ScanInterval, cfg.Namesrv.BrokerExpiry)
	}
	if len(warn) != 1 || !strings.HasSuffix(warn[0], "ignored: rocketmqHome") {
		t.Errorf("warnings %q, want one naming rocketmqHome", warn)
	}
}

func TestPropertiesDetectedByContent(t *testing.T) {
	p := writeNamed(t, "broker", "brokerName=broker-c\nfileReservedTime=24\n")
	cfg, _, err := LoadFile(p, Broker)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Broker.BrokerName != "broker-c" || cfg.Store.FileReservedTime != 24*time.Hour {
		t.Fatalf("got %q %s", cfg.Broker.BrokerName, cfg.Store.FileReservedTime)
	}
	y := writeNamed(t, "rocketgo", "broker:\n  brokerName: broker-d\n")
	if cfg, _, err := LoadFile(y, Broker); err != nil || cfg.Broker.BrokerName != "broker-d" {
		t.Fatalf("YAML without extension: %v %q", err, cfg.Broker.BrokerName)
	}
}

// The environment overrides a properties file as it does a YAML one.
func TestEnvOverridesProperties(t *testing.T) {
	t.Setenv("ROCKETGO_STORE_FILERESERVEDTIME", "12")
	cfg, _, err := LoadFile(writeNamed(t, "b.properties", "fileReservedTime=48\n"), Broker)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.FileReservedTime != 12*time.Hour {
		t.Fatalf("got %s, want 12h", cfg.Store.FileReservedTime)
	}
}

func TestBadPropertiesRefuseWithTheLine(t *testing.T) {
	cases := []struct {
		name, body string
		want       []string
	}{
		{"bad number", "brokerName=b\nbrokerId=one\n", []string{"line 2", "brokerId=one", "not an integer"}},
		{"bad bool", "autoCreateTopicEnable=yes please\n", []string{"line 1", "autoCreateTopicEnable"}},
		{"bad duration", "\nfileReservedTime=two days\n", []string{"line 2", "fileReservedTime", "hours"}},
		{"unknown key", "brokerName=b\nbrokerNmae=c\n", []string{"line 2", "unknown key brokerNmae"}},
		{"malformed line", "brokerName=b\nregionId=\\u00zz\n", []string{"line 2", "malformed", `regionId=\u00zz`}},
		{"bad port", "listenPort=99999\n", []string{"line 1", "listenPort=99999"}},
		{"bad percent", "diskMaxUsedSpaceRatio=0.75\n", []string{"diskMaxUsedSpaceRatio=0.75", "percentage 1-100"}},
		{"bad cq size", "mappedFileSizeConsumeQueue=1000001\n", []string{"mappedFileSizeConsumeQueue", "20"}},
		{"commitlog elsewhere", "storePathRootDir=/a\nstorePathCommitLog=/b/commitlog\n", []string{"line 2", "storePathCommitLog=/b/commitlog", "/a/commitlog"}},
		{"invalid value", "flushDiskType=SOMETIMES\n", []string{"flushDiskType"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := LoadFile(writeNamed(t, "broker.conf", c.body), Broker)
			if err == nil {
				t.Fatalf("loaded, want an error naming %q", c.want)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not name %q", msg, w)
				}
			}
		})
	}
}

// mqbroker -p prints Apache's key=value lines; written to a file they load back to the
// same configuration.
func TestSettingsRoundTrip(t *testing.T) {
	cfg, _, err := LoadFile("testdata/apache/2m-2s-sync/broker-a.properties", Broker)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Store.FlushInterval = 1500 * time.Microsecond // not whole milliseconds: printed with its unit
	cfg.Broker.MessageDelayLevel = " 1s 5s"           // a leading space survives
	var buf bytes.Buffer
	if err := WriteProperties(&buf, Settings(cfg, Broker)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, line := range []string{"brokerRole=SYNC_MASTER\n", "fileReservedTime=48\n", "deleteWhen=4\n",
		"flushIntervalCommitLog=1.5ms\n", "namesrvAddr=127.0.0.1:9876\n", "syncFlushTimeout=5000\n"} {
		if !strings.Contains(out, line) {
			t.Errorf("-p output lacks %q:\n%s", line, out)
		}
	}
	if strings.Contains(out, "scanInterval") {
		t.Errorf("a broker's -p lists NameServer options:\n%s", out)
	}
	back, warn, err := LoadFile(writeNamed(t, "p.properties", out), Broker)
	if err != nil || len(warn) != 0 {
		t.Fatalf("reload: %v %q", err, warn)
	}
	if got, want := flatten(reflect.ValueOf(back), ""), flatten(reflect.ValueOf(cfg), ""); !reflect.DeepEqual(got, want) {
		t.Errorf("reloaded -p output differs:\n got %v\nwant %v", got, want)
	}
}

func TestChangedListsOnlyNonDefaults(t *testing.T) {
	cfg, _, err := LoadFile("testdata/apache/2m-2s-sync/broker-a.properties", Broker)
	if err != nil {
		t.Fatal(err)
	}
	got := Changed(Settings(cfg, Broker))
	want := []Setting{
		{Key: "brokerRole", Value: "SYNC_MASTER", Default: "ASYNC_MASTER"},
		{Key: "fileReservedTime", Value: "48", Default: "72"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("changed = %+v, want %+v", got, want)
	}
}
