package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Apache's namesrv.properties keys: listenPort and scanNotActiveBrokerInterval (ms),
// kvConfigPath and orderMessageEnable.
func TestPrintNamesrvProperties(t *testing.T) {
	p := filepath.Join(t.TempDir(), "namesrv.properties")
	if err := os.WriteFile(p, []byte("listenPort=9877\nscanNotActiveBrokerInterval=5000\nkvConfigPath=/opt/ns/kvConfig.json\norderMessageEnable=true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errs bytes.Buffer
	if err := run([]string{"-c", p, "-p"}, &out, &errs); err != nil {
		t.Fatal(err)
	}
	want := "listenAddr=0.0.0.0:9877\nbrokerExpiry=120000\nscanInterval=5000\nmaxFrameBytes=16777216\n" +
		"maxBufferedRequestBytes=134217728\nmaxBufferedRequestBytesPerConn=33554432\nframeReadTimeout=30000\n" +
		"metricsExporterType=PROM\nmetricsPromExporterHost=\nnamesrvMetricsPromExporterPort=5558\nenablePprof=false\n" +
		"kvConfigPath=/opt/ns/kvConfig.json\norderMessageEnable=true\n" +
		"enableControllerInNamesrv=false\ncontrollerListenAddr=0.0.0.0:9878\ncontrollerDLegerGroup=group1\ncontrollerDLegerPeers=\n" +
		"controllerDLegerSelfId=n0\ncontrollerStorePath=DLedgerController\nenableElectUncleanMaster=false\n" +
		"notifyBrokerRoleChanged=true\nscanNotActiveBrokerInterval=1000\ncontrollerHeartBeatTimeoutMills=10000\n"
	if out.String() != want {
		t.Fatalf("-p printed\n%s\nwant\n%s", out.String(), want)
	}
}

func TestVersionFlag(t *testing.T) {
	var out bytes.Buffer
	if err := run([]string{"-version"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.HasPrefix(s, "mqnamesrv github.com/rocketgo/rocketgo ") || strings.Count(s, "\n") != 1 {
		t.Fatalf("-version printed %q", s)
	}
}
