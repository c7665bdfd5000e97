package admincli

import (
	"strings"
	"testing"

	// conf renders the broker's configuration for GET_BROKER_CONFIG, as in mqbroker.
	_ "github.com/rocketgo/rocketgo/conf"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// TestBrokerConfigCommands reads and changes a running broker's configuration. Headers:
// broker/GetBrokerConfigCommand.java (getAndPrint: the ============addr============
// banner and "%-50s=  %s" lines) and broker/UpdateBrokerConfigSubCommand.java
// ("update broker config success, %s").
func TestBrokerConfigCommands(t *testing.T) {
	c := cluster.Start(t)
	ns := c.NamesrvAddr()
	n := &normalizer{pairs: []string{c.BrokerAddr(), "<BROKER>"}}
	waitRegistered(t, ns)

	get := func() string { return mustRun(t, "getBrokerConfig", "-n", ns, "-b", c.BrokerAddr()) }
	out := get()
	lines := strings.Split(out, "\n")
	golden(t, "getBrokerConfig_head.golden", n.apply(lines[0]+"\n"))
	for _, want := range []string{
		"brokerName                                        =  " + c.BrokerName() + "\n",
		"brokerClusterName                                 =  " + c.ClusterName() + "\n",
		"longPollingEnable                                 =  true\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("getBrokerConfig lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasSuffix(out, "\n\n") {
		t.Errorf("getBrokerConfig must end with an empty line:\n%q", out[len(out)-40:])
	}
	byCluster := mustRun(t, "getBrokerConfig", "-n", ns, "-c", c.ClusterName())
	if want := "============Master: " + c.BrokerAddr() + "============\n"; !strings.HasPrefix(byCluster, want) || byCluster[len(want):] != out[len(lines[0])+1:] {
		t.Errorf("getBrokerConfig -c: want %q then the same lines as -b:\n%s", want, byCluster)
	}

	golden(t, "updateBrokerConfig.golden", n.apply(mustRun(t, "updateBrokerConfig", "-n", ns, "-b", c.BrokerAddr(), "-k", "longPollingEnable", "-v", "false")))
	if out := get(); !strings.Contains(out, "longPollingEnable                                 =  false\n") {
		t.Errorf("longPollingEnable not changed live:\n%s", out)
	}
	if out := mustRun(t, "updateBrokerConfig", "-n", ns, "-c", c.ClusterName(), "-k", "maxTransferCountOnMessageInMemory", "-v", "7"); out != "update broker config success, "+c.BrokerAddr()+"\n" {
		t.Errorf("updateBrokerConfig -c: %q", out)
	}
	if out := get(); !strings.Contains(out, "maxTransferCountOnMessageInMemory                 =  7\n") {
		t.Errorf("maxTransferCountOnMessageInMemory not changed live:\n%s", out)
	}

	for _, tc := range []struct{ key, value, want string }{
		{"brokerName", "broker-z", "need a restart, not applied: brokerName"},
		{"noSuchKey", "1", "unknown broker config keys: noSuchKey"},
		{"longPollingEnable", "perhaps", "bad broker config values: longPollingEnable=perhaps: want true or false"},
	} {
		out, errs, code := run(t, "updateBrokerConfig", "-n", ns, "-b", c.BrokerAddr(), "-k", tc.key, "-v", tc.value)
		if code != 1 || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("updateBrokerConfig %s=%s: exit %d, stdout %q, stderr %q; want exit 1 and %q", tc.key, tc.value, code, out, errs, tc.want)
		}
	}
	if out := get(); !strings.Contains(out, "brokerName                                        =  "+c.BrokerName()+"\n") || !strings.Contains(out, "longPollingEnable                                 =  false\n") {
		t.Errorf("a refused update changed the configuration:\n%s", out)
	}
}
