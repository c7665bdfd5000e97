package admincli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// aclFile is the broker's plain_acl.yml in the ACL tests: no global white list, so
// loopback requests must be signed; one admin account and one that is not.
const aclFile = `globalWhiteRemoteAddresses: []
accounts:
  - accessKey: rocketadmin
    secretKey: adminsecret
    admin: true
  - accessKey: rocketuser
    secretKey: usersecret
    defaultTopicPerm: PUB
    defaultGroupPerm: SUB
`

// TestACLCommands runs the ACL family against a broker with aclEnable. Output lines:
// acl/UpdateAccessConfigSubCommand.java, acl/DeleteAccessConfigSubCommand.java,
// acl/UpdateGlobalWhiteAddrSubCommand.java, acl/ClusterAclConfigVersionListSubCommand.java
// and acl/GetAccessConfigSubCommand.java. Apache prints the PlainAccessConfig object
// itself after an update (its identity hash); rocketgo prints the account without the
// secret, and ends the last line of update and delete with a newline.
func TestACLCommands(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plain_acl.yml")
	if err := os.WriteFile(path, []byte(aclFile), 0o644); err != nil {
		t.Fatal(err)
	}
	c := cluster.Start(t, cluster.WithBrokerOptions(func(o *broker.Options) { o.AclEnable, o.AclFile = true, path }))
	ns, addr := c.NamesrvAddr(), c.BrokerAddr()
	abs, _ := filepath.Abs(path)
	n := &normalizer{pairs: []string{addr, "<BROKER>", abs, "<ACLFILE>"}}
	admin := []string{"--accessKey", "rocketadmin", "--secretKey", "adminsecret"}
	testutil.Eventually(t, 10*time.Second, "the broker to register", func() bool {
		out, _, code := run(t, append(admin, "clusterList", "-n", ns)...)
		return code == 0 && strings.Count(out, "\n") == 2
	})

	// Unsigned, and signed by an account that is not admin: refused, with the remark.
	update := []string{"updateAclConfig", "-n", ns, "-b", addr, "-a", "newuser01", "-s", "newsecret01",
		"-t", "orders=PUB,audit=SUB", "-i", "DENY", "-m", "false", "-w", "10.1.1.*"}
	for _, creds := range [][]string{nil, {"--accessKey=rocketuser", "--secretKey=usersecret"}} {
		out, errs, code := run(t, append(creds, update...)...)
		if code != 1 || out != "" || !strings.Contains(errs, "refused (NO_PERMISSION)") || !strings.Contains(errs, "ACL: ") {
			t.Fatalf("%v without admin credentials: exit %d, stdout %q, stderr %q", creds, code, out, errs)
		}
	}

	golden(t, "updateAclConfig_b.golden", n.apply(mustRun(t, append(admin, update...)...)))
	golden(t, "updateGlobalWhiteAddr_c.golden", n.apply(mustRun(t, append(admin, "updateGlobalWhiteAddr", "-n", ns, "-c", c.ClusterName(), "-g", "10.10.103.*,192.168.0.*")...)))
	golden(t, "getAclConfig_b.golden", n.apply(mustRun(t, append(admin, "getAclConfig", "-n", ns, "-b", addr)...)))
	golden(t, "clusterAclConfigVersion_c.golden", n.apply(mustRun(t, append(admin, "clusterAclConfigVersion", "-n", ns, "-c", c.ClusterName())...)))

	// The new account is in force: it is known (a refusal names it as not admin).
	a, err := client.NewAdmin(client.WithNameServer(ns), client.WithInstanceName("acl-newuser"),
		client.WithCredentials(client.Credentials{AccessKey: "newuser01", SecretKey: "newsecret01"}))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.ACLConfigOf(ctx, addr); err == nil || !strings.Contains(err.Error(), "accessKey=newuser01 is not admin") {
		t.Fatalf("the new account reading the ACL: %v, want a refusal naming it as not admin", err)
	}

	// Credentials from $ROCKETMQ_HOME/conf/tools.yml, as Apache's mqadmin reads them.
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "conf"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "conf", "tools.yml"), []byte("accessKey: rocketadmin\nsecretKey: adminsecret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ROCKETMQ_HOME", home)
	golden(t, "deleteAclConfig_b.golden", n.apply(mustRun(t, "deleteAclConfig", "-n", ns, "-b", addr, "-a", "newuser01")))
	_, errs, code := run(t, "deleteAclConfig", "-n", ns, "-b", addr, "-a", "newuser01")
	if code != 1 || !strings.Contains(errs, "response code 210: The accesskey[newuser01] corresponding to accessConfig has been deleted failed.") {
		t.Fatalf("second delete: exit %d, stderr %q", code, errs)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "newuser01") || !strings.Contains(string(data), "192.168.0.*") || !strings.Contains(string(data), "counter: 3") {
		t.Fatalf("plain_acl.yml after the changes:\n%s", data)
	}
}
