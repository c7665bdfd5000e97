package broker

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/internal/testutil"
	signer "github.com/rocketgo/rocketgo/proto/acl"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/store"
)

// With aclEnable on a master and its slave, and no white list covering them, the slave
// still copies the master's topics and groups: it signs its requests with
// innerClientAuthenticationCredentials.
func TestSlaveSyncsFromAnACLMaster(t *testing.T) {
	path := filepath.Join(t.TempDir(), "plain_acl.yml")
	acl := "globalWhiteRemoteAddresses: []\naccounts:\n  - accessKey: rocketadmin\n    secretKey: adminsecret\n    admin: true\n"
	if err := os.WriteFile(path, []byte(acl), 0o644); err != nil {
		t.Fatal(err)
	}
	creds := signer.Credentials{AccessKey: "rocketadmin", SecretKey: "adminsecret"}
	master, slave := newPair(t, RoleAsyncMaster, func(o *Options, _ *store.Options) {
		o.AclEnable, o.AclFile = true, path
		o.InnerClientAuthenticationCredentials = `{"accessKey":"rocketadmin","secretKey":"adminsecret"}`
	})
	// Unsigned, the master refuses what the slave asks.
	wantCode(t, "unsigned GET_ALL_TOPIC_CONFIG", master.call(code.GetAllTopicConfig, nil, nil), code.NoPermission, "ACL:")

	req := &header.CreateTopicRequest{Topic: "acl-synced", DefaultTopic: meta.TopicAutoCreate, ReadQueueNums: 4,
		WriteQueueNums: 4, Perm: 6, TopicFilterType: body.FilterSingleTag}
	wantCode(t, "create topic", master.call(code.UpdateAndCreateTopic, creds.SignExt(req.Encode(), nil), nil), code.Success, "")
	group := []byte(`{"groupName":"acl-synced-group","consumeEnable":true}`)
	wantCode(t, "create group", master.call(code.UpdateAndCreateSubGroup, creds.SignExt(nil, group), group), code.Success, "")

	testutil.Eventually(t, 10*time.Second, "the slave to copy the topic and the group", func() bool {
		tc, ok := slave.b.topics.Wrapper().TopicConfigTable["acl-synced"]
		groups, _ := slave.b.groups.EncodeGroups()
		return ok && tc.WriteQueueNums == 4 && strings.Contains(string(groups), `"acl-synced-group"`)
	})
}
