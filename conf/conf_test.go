package conf

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/store"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	return writeNamed(t, "c.yaml", body)
}

// The samples in conf/ list every key with its default, so they load to exactly the
// defaults; a drift between code and sample fails here.
func TestSamplesLoadToDefaults(t *testing.T) {
	for _, name := range []string{"broker.yaml", "namesrv.yaml"} {
		t.Run(name, func(t *testing.T) {
			cfg, err := Load(name)
			if err != nil {
				t.Fatalf("load %s: %v", name, err)
			}
			def := Default()
			for key, want := range flatten(reflect.ValueOf(def), "") {
				got := flatten(reflect.ValueOf(cfg), "")[key]
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s: %s = %v, want default %v", name, key, got, want)
				}
			}
		})
	}
}

func TestSampleBrokerListsEveryKey(t *testing.T) {
	raw, err := os.ReadFile("broker.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for key := range flatten(reflect.ValueOf(Default()), "") {
		leaf := key[strings.LastIndex(key, ".")+1:] // nested sections are indented further
		if !strings.Contains(string(raw), "  "+leaf+":") {
			t.Errorf("conf/broker.yaml does not document %s", key)
		}
	}
}

// An environment override must work also for keys the file does not mention
// (viper drops overrides of keys it has no default for).
func TestEnvOverridesKeyAbsentFromFile(t *testing.T) {
	p := writeFile(t, "broker:\n  brokerName: from-file\n")
	t.Setenv("ROCKETGO_STORE_FLUSHDISKTYPE", "SYNC_FLUSH")
	t.Setenv("ROCKETGO_BROKER_BROKERNAME", "from-env")
	t.Setenv("ROCKETGO_BROKER_NAMESRVADDR", "10.0.0.1:9876;10.0.0.2:9876")
	t.Setenv("ROCKETGO_STORE_SYNCFLUSHTIMEOUT", "750ms")
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.FlushMode != store.SyncFlush {
		t.Errorf("flush mode: got %q, want SYNC_FLUSH", cfg.Store.FlushMode)
	}
	if cfg.Broker.BrokerName != "from-env" {
		t.Errorf("broker name: got %q, want from-env", cfg.Broker.BrokerName)
	}
	if want := []string{"10.0.0.1:9876", "10.0.0.2:9876"}; !reflect.DeepEqual(cfg.Broker.NamesrvAddrs, want) {
		t.Errorf("namesrv addrs: got %q, want %q", cfg.Broker.NamesrvAddrs, want)
	}
	if cfg.Store.SyncFlushTimeout != 750*time.Millisecond {
		t.Errorf("sync flush timeout: got %s, want 750ms", cfg.Store.SyncFlushTimeout)
	}
}

func TestBadInputNamesTheKey(t *testing.T) {
	cases := []struct {
		name, file, wantInErr string
	}{
		{"unknown key", "broker:\n  brokerNmae: x\n", "brokernmae"},
		{"unknown section", "brokr:\n  brokerName: x\n", "brokr"},
		{"not a number", "store:\n  maxMessageSize: big\n", "maxMessageSize"},
		{"bad duration", "store:\n  syncFlushTimeout: soon\n", "syncFlushTimeout"},
		{"invalid value", "store:\n  flushDiskType: SOMETIMES\n", "flushDiskType"},
		{"out of range", "store:\n  diskSpaceWarningLevelRatio: 1.5\n", "diskSpaceWarningLevelRatio"},
		{"bad yaml", "store: [\n", "c.yaml"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tc.file))
			if err == nil {
				t.Fatalf("load succeeded, want an error naming %q", tc.wantInErr)
			}
			if !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.wantInErr)) {
				t.Fatalf("error %q does not name %q", err, tc.wantInErr)
			}
		})
	}
}

func TestMisspelledEnvOverrideIsAnError(t *testing.T) {
	t.Setenv("ROCKETGO_STORE_FLUSHDISKTPYE", "SYNC_FLUSH")
	_, err := Load("")
	if err == nil || !strings.Contains(err.Error(), "ROCKETGO_STORE_FLUSHDISKTPYE") {
		t.Fatalf("got %v, want an error naming ROCKETGO_STORE_FLUSHDISKTPYE", err)
	}
}

func TestUnrelatedEnvIsIgnored(t *testing.T) {
	t.Setenv("ROCKETGO_LONG", "1")
	t.Setenv("ROCKETGO_TEST_LOG", "debug")
	if _, err := Load(""); err != nil {
		t.Fatalf("variables outside the option sections must not matter: %v", err)
	}
}

func TestUnknownKeyKeepsItsSpelling(t *testing.T) {
	_, err := Load(writeFile(t, "broker:\n  bogusKey: x\n"))
	if err == nil || !strings.Contains(err.Error(), "unknown key broker.bogusKey") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("got %q, want one line naming broker.bogusKey", err)
	}
}

func TestBadEnvValueNamesTheVariable(t *testing.T) {
	t.Setenv("ROCKETGO_STORE_SYNCFLUSHTIMEOUT", "soon")
	_, err := Load(writeFile(t, "broker:\n  brokerName: b\n"))
	if err == nil || !strings.Contains(err.Error(), `ROCKETGO_STORE_SYNCFLUSHTIMEOUT="soon"`) {
		t.Fatalf("got %v, want an error naming ROCKETGO_STORE_SYNCFLUSHTIMEOUT and its value", err)
	}
}

func TestMissingFileIsAnError(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "absent.yaml")); err == nil || !strings.Contains(err.Error(), "absent.yaml") {
		t.Fatalf("got %v, want an error naming absent.yaml", err)
	}
}

func TestNewLoggerRejectsUnknownLevel(t *testing.T) {
	if _, err := NewLogger(nil, "loud"); err == nil || !strings.Contains(err.Error(), "loud") {
		t.Fatalf("got %v, want an error naming the level", err)
	}
}
