package acl

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func openSample(t *testing.T) (*Plain, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "plain_acl.yml")
	if err := os.WriteFile(path, []byte(sample), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Open(path, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return p, path
}

// An update creates an account that the rules in force know at once, counts the change
// in dataVersion, keeps the file's mode and leaves no temporary file behind.
func TestUpdateAccountCreatesAndChanges(t *testing.T) {
	p, path := openSample(t)
	white := "127.0.0.1"
	err := p.UpdateAccount(AccountUpdate{AccessKey: "newuser1", SecretKey: "newsecret1", WhiteRemoteAddress: &white,
		DefaultTopicPerm: "PUB", TopicPerms: []string{"orders=SUB"}, HasTopicPerms: true})
	if err != nil {
		t.Fatal(err)
	}
	if p.Rules().accounts["newuser1"] == nil {
		t.Fatal("the new account is not in the rules in force")
	}
	f, err := p.File()
	if err != nil {
		t.Fatal(err)
	}
	a := f.Accounts[f.index("newuser1")]
	if a.SecretKey != "newsecret1" || a.WhiteRemoteAddress != "127.0.0.1" || a.DefaultTopicPerm != "PUB" ||
		strings.Join(a.TopicPerms, ",") != "orders=SUB" || a.Admin {
		t.Fatalf("written account %+v", a)
	}
	if len(f.DataVersion) != 1 || f.DataVersion[0].Counter != 1 || f.DataVersion[0].Timestamp == 0 {
		t.Fatalf("dataVersion %+v, want counter 1 and a timestamp", f.DataVersion)
	}
	// A second update changes only what it names; admin is always written.
	if err := p.UpdateAccount(AccountUpdate{AccessKey: "newuser1", SecretKey: "newsecret2", Admin: true}); err != nil {
		t.Fatal(err)
	}
	f, _ = p.File()
	a = f.Accounts[f.index("newuser1")]
	if a.SecretKey != "newsecret2" || !a.Admin || a.WhiteRemoteAddress != "127.0.0.1" || strings.Join(a.TopicPerms, ",") != "orders=SUB" {
		t.Fatalf("after the second update %+v", a)
	}
	if v, _ := p.Version(); v.Counter != 2 {
		t.Fatalf("version counter %d, want 2", v.Counter)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600 kept", st.Mode().Perm())
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("directory holds %d files, want only plain_acl.yml", len(entries))
	}
}

// Refused changes leave the file as it was.
func TestEditRefusalsLeaveTheFile(t *testing.T) {
	p, path := openSample(t)
	before, _ := os.ReadFile(path)
	cases := map[string]error{
		"short key":  p.UpdateAccount(AccountUpdate{AccessKey: "abc", SecretKey: "12345678"}),
		"bad perm":   p.UpdateAccount(AccountUpdate{AccessKey: "newuser1", SecretKey: "12345678", TopicPerms: []string{"t=WRITE"}, HasTopicPerms: true}),
		"bad format": p.UpdateAccount(AccountUpdate{AccessKey: "newuser1", SecretKey: "12345678", GroupPerms: []string{"g"}, HasGroupPerms: true}),
		"bad white":  p.SetGlobalWhite([]string{"host.example"}),
	}
	for name, err := range cases {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := p.DeleteAccount("nobody12"); !errors.Is(err, ErrNoAccount) {
		t.Fatalf("delete of an unknown key: %v, want ErrNoAccount", err)
	}
	after, _ := os.ReadFile(path)
	if string(after) != string(before) {
		t.Fatalf("the file changed:\n%s", after)
	}
}

func TestDeleteAccountAndGlobalWhite(t *testing.T) {
	p, _ := openSample(t)
	var key string
	for k := range p.Rules().accounts {
		key = k
		break
	}
	if err := p.DeleteAccount(key); err != nil {
		t.Fatal(err)
	}
	if p.Rules().accounts[key] != nil {
		t.Fatalf("%s still in the rules in force", key)
	}
	if err := p.SetGlobalWhite([]string{"10.0.0.*", "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	f, _ := p.File()
	if strings.Join(f.GlobalWhiteRemoteAddresses, ";") != "10.0.0.*;127.0.0.1" || f.DataVersion[0].Counter != 2 {
		t.Fatalf("global white %v, version %+v", f.GlobalWhiteRemoteAddresses, f.DataVersion)
	}
	if len(p.Rules().global) != 2 {
		t.Fatalf("rules in force have %d global patterns, want 2", len(p.Rules().global))
	}
}
