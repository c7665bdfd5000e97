package conf

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// bareNumbers holds, for every duration option, a bare number and what it must mean:
// RocketMQ's unit for the key. Each value differs from the default and passes validation.
var bareNumbers = []struct {
	key  string
	bare string
	want time.Duration
}{
	{"namesrv.brokerExpiry", "90000", 90 * time.Second},
	{"namesrv.scanInterval", "5000", 5 * time.Second},
	{"namesrv.frameReadTimeout", "20000", 20 * time.Second},
	{"broker.haSendHeartbeatInterval", "4000", 4 * time.Second},
	{"broker.haHousekeepingInterval", "30000", 30 * time.Second},
	{"broker.slaveTimeout", "2500", 2500 * time.Millisecond},
	{"broker.slaveSyncInterval", "7000", 7 * time.Second},
	{"broker.registerNameServerPeriod", "20000", 20 * time.Second},
	{"broker.clientChannelExpiry", "90000", 90 * time.Second},
	{"broker.shortPollingTimeMills", "1500", 1500 * time.Millisecond},
	{"broker.transactionCheckInterval", "30000", 30 * time.Second},
	{"broker.transactionTimeOut", "3000", 3 * time.Second},
	{"broker.duplicateWindow", "120000", 2 * time.Minute},
	{"broker.timerMaxDelay", "259200", 72 * time.Hour},
	{"broker.frameReadTimeout", "20000", 20 * time.Second},
	{"store.flushIntervalCommitLog", "200", 200 * time.Millisecond},
	{"store.syncFlushTimeout", "3000", 3 * time.Second},
	{"store.checkpointInterval", "2000", 2 * time.Second},
	{"store.fileReservedTime", "48", 48 * time.Hour},
	{"namesrv.controller.scanNotActiveBrokerInterval", "3000", 3 * time.Second},
	{"namesrv.controller.controllerHeartBeatTimeoutMills", "5000", 5 * time.Second},
	{"broker.haMaxTimeSlaveNotCatchup", "8000", 8 * time.Second},
	{"broker.controllerHeartBeatTimeoutMills", "5000", 5 * time.Second},
	{"broker.brokerHeartbeatInterval", "500", 500 * time.Millisecond},
}

// The data-loss trap: a YAML `fileReservedTime: 48` once decoded as 48 ns, and every
// closed segment went at the next deleteWhen.
func TestFileReservedTimeBareNumberIsHours(t *testing.T) {
	cfg, err := Load(writeFile(t, "store:\n  fileReservedTime: 48\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.FileReservedTime != 48*time.Hour {
		t.Fatalf("fileReservedTime: 48 gave %s, want 48h0m0s", cfg.Store.FileReservedTime)
	}
}

func TestEveryDurationHasAUnit(t *testing.T) {
	covered := map[string]bool{}
	for _, c := range bareNumbers {
		covered[c.key] = true
	}
	for _, lf := range leaves(reflect.ValueOf(Default()), "") {
		if lf.typ != reflect.TypeOf(time.Duration(0)) {
			continue
		}
		if durationUnits[lf.key] == 0 {
			t.Errorf("%s has no unit for a bare number in durationUnits", lf.key)
		}
		if !covered[lf.key] {
			t.Errorf("%s is missing from the bareNumbers table", lf.key)
		}
	}
	if len(durationUnits) != len(bareNumbers) {
		t.Errorf("durationUnits has %d keys, the table %d", len(durationUnits), len(bareNumbers))
	}
}

// get reads one option of cfg by its dotted key.
func get(cfg Config, key string) any {
	return flatten(reflect.ValueOf(cfg), "")[key]
}

func TestBareNumberDurationsInRocketMQUnits(t *testing.T) {
	for _, c := range bareNumbers {
		sec, name, _ := strings.Cut(c.key, ".")
		t.Run(c.key+"/yaml", func(t *testing.T) {
			cfg, err := Load(writeFile(t, fmt.Sprintf("%s:\n  %s: %s\n", sec, name, c.bare)))
			if err != nil {
				t.Fatal(err)
			}
			if got := get(cfg, c.key); got != c.want {
				t.Fatalf("%s: %s gave %v, want %v", c.key, c.bare, got, c.want)
			}
		})
		t.Run(c.key+"/env", func(t *testing.T) {
			t.Setenv(EnvPrefix+"_"+strings.ToUpper(sec+"_"+strings.ReplaceAll(name, ".", "_")), c.bare)
			cfg, err := Load("")
			if err != nil {
				t.Fatal(err)
			}
			if got := get(cfg, c.key); got != c.want {
				t.Fatalf("%s=%s from the environment gave %v, want %v", c.key, c.bare, got, c.want)
			}
		})
		t.Run(c.key+"/with-unit", func(t *testing.T) {
			cfg, err := Load(writeFile(t, fmt.Sprintf("%s:\n  %s: %s\n", sec, name, c.want)))
			if err != nil {
				t.Fatal(err)
			}
			if got := get(cfg, c.key); got != c.want {
				t.Fatalf("%s: %s gave %v", c.key, c.want, got)
			}
		})
	}
}

func TestFractionalBareNumber(t *testing.T) {
	cfg, err := Load(writeFile(t, "store:\n  fileReservedTime: 1.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store.FileReservedTime != 90*time.Minute {
		t.Fatalf("fileReservedTime: 1.5 gave %s, want 1h30m0s", cfg.Store.FileReservedTime)
	}
}

func TestDeleteWhenAsRocketMQWritesIt(t *testing.T) {
	cases := []struct {
		in       string
		want     int
		warnings int
	}{
		{`"04"`, 4, 0},
		{`"08"`, 8, 0}, // decimal, not octal
		{`"04;16"`, 4, 1},
		{`23`, 23, 0},
	}
	for _, c := range cases {
		cfg, warn, err := LoadFile(writeFile(t, "store:\n  deleteWhen: "+c.in+"\n"), Broker)
		if err != nil {
			t.Fatalf("deleteWhen: %s: %v", c.in, err)
		}
		if cfg.Store.DeleteWhenHour != c.want || len(warn) != c.warnings {
			t.Errorf("deleteWhen: %s gave hour %d and warnings %q, want %d and %d warnings", c.in, cfg.Store.DeleteWhenHour, warn, c.want, c.warnings)
		}
	}
	for _, bad := range []string{`"24"`, `"4am"`, `";"`} {
		if _, _, err := LoadFile(writeFile(t, "store:\n  deleteWhen: "+bad+"\n"), Broker); err == nil || !strings.Contains(err.Error(), "deleteWhen") {
			t.Errorf("deleteWhen: %s: got %v, want an error naming deleteWhen", bad, err)
		}
	}
}
