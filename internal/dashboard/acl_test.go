package dashboard

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
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

// With Credentials the dashboard's requests to a broker with aclEnable are signed:
// the cluster page reads the broker's runtime figures; without them the broker
// refuses the same request with NO_PERMISSION.
func TestDashboardSignsWithCredentials(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plain_acl.yml")
	acl := "globalWhiteRemoteAddresses: []\naccounts:\n  - accessKey: rocketadmin\n    secretKey: adminsecret\n    admin: true\n"
	if err := os.WriteFile(path, []byte(acl), 0o644); err != nil {
		t.Fatal(err)
	}
	c := cluster.Start(t, cluster.WithBrokerOptions(func(o *broker.Options) { o.AclEnable, o.AclFile = true, path }))
	rows := func(creds *client.Credentials) []brokerRow {
		srv, err := New(Config{NameServers: []string{c.NamesrvAddr()}, Logger: quietLogger(t), Credentials: creds})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		addr, err := srv.Start(context.Background(), "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Brokers []brokerRow }
		var last string
		// The broker registers within a moment of starting.
		if !testutil.Poll(10*time.Second, func() bool {
			resp, err := http.Get("http://" + addr + "/api/cluster")
			if err != nil {
				last = err.Error()
				return false
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			return json.Unmarshal(b, &out) == nil && len(out.Brokers) > 0
		}) {
			t.Fatalf("no broker in /api/cluster; last answer %s", last)
		}
		return out.Brokers
	}
	signed := rows(&client.Credentials{AccessKey: "rocketadmin", SecretKey: "adminsecret"})
	if signed[0].Error != "" || signed[0].Stats["brokerVersionDesc"] == "" {
		t.Fatalf("signed: broker row %+v, want its runtime figures", signed[0])
	}
	unsigned := rows(nil)
	if !strings.Contains(unsigned[0].Error, "response code 16: ACL: ") {
		t.Fatalf("unsigned: broker row error %q, want NO_PERMISSION (16) with the ACL remark", unsigned[0].Error)
	}
}
