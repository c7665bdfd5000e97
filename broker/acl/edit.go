package acl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The ACL administration requests (UPDATE_AND_CREATE_ACL_CONFIG 50, DELETE_ACL_CONFIG 51,
// UPDATE_GLOBAL_WHITE_ADDRS_CONFIG 53) edit plain_acl.yml as Apache's
// PlainPermissionManager does: read the file, change one account or the global white
// list, count the change in dataVersion, write it back. The file is written to a
// temporary file beside it, synced and renamed over it, so a crash leaves the old file
// or the new one, never half of one; a change that would not load is refused before
// anything is written. The rules in force are reloaded at once (Poll), as the watcher
// would a second later.

// minKeyLen is AclConstants.ACCESS_KEY_MIN_LENGTH and SECRET_KEY_MIN_LENGTH: keys must be
// longer.
const minKeyLen = 6

// ErrNoAccount is returned by DeleteAccount for an access key the file does not list.
var ErrNoAccount = errors.New("acl: no such accessKey")

// AccountUpdate is UPDATE_AND_CREATE_ACL_CONFIG's header (CreateAccessConfigRequestHeader).
// A nil field was absent from the request and leaves an existing account's value as it
// is; Admin is always written, as in Apache.
type AccountUpdate struct {
	AccessKey, SecretKey               string
	WhiteRemoteAddress                 *string
	Admin                              bool
	DefaultTopicPerm, DefaultGroupPerm string // empty: unchanged
	TopicPerms, GroupPerms             []string
	HasTopicPerms, HasGroupPerms       bool
}

// checkResourcePerms is Permission.checkResourcePerms: every entry is name=PERM with a
// permission Apache knows.
func checkResourcePerms(list []string) error {
	for _, e := range list {
		res, perm, ok := strings.Cut(e, "=")
		if !ok || strings.TrimSpace(res) == "" || strings.Contains(perm, "=") {
			return fmt.Errorf("resource %q: the expected format is 'Res=Perm', for example topicA=SUB", e)
		}
		perm = strings.TrimSpace(perm)
		if perm != "DENY" && ParsePerm(perm) == Deny {
			return fmt.Errorf("resource %q: the expected permissions are 'SUB', 'PUB', 'SUB|PUB', 'PUB|SUB' or 'DENY'", e)
		}
	}
	return nil
}

// UpdateAccount creates the account u names, or changes it (createAclAccessConfigMap).
func (p *Plain) UpdateAccount(u AccountUpdate) error {
	if len(u.AccessKey) <= minKeyLen || len(u.SecretKey) <= minKeyLen {
		return fmt.Errorf("the accessKey=%s and secretKey cannot be null and length should longer than %d", u.AccessKey, minKeyLen)
	}
	if err := checkResourcePerms(u.TopicPerms); err != nil {
		return err
	}
	if err := checkResourcePerms(u.GroupPerms); err != nil {
		return err
	}
	return p.edit(func(f *File) error {
		i := f.index(u.AccessKey)
		if i < 0 {
			f.Accounts = append(f.Accounts, Account{AccessKey: u.AccessKey})
			i = len(f.Accounts) - 1
		}
		a := &f.Accounts[i]
		a.SecretKey = u.SecretKey
		if u.WhiteRemoteAddress != nil {
			a.WhiteRemoteAddress = *u.WhiteRemoteAddress
		}
		a.Admin = u.Admin
		if u.DefaultTopicPerm != "" {
			a.DefaultTopicPerm = u.DefaultTopicPerm
		}
		if u.DefaultGroupPerm != "" {
			a.DefaultGroupPerm = u.DefaultGroupPerm
		}
		if u.HasTopicPerms {
			a.TopicPerms = u.TopicPerms
		}
		if u.HasGroupPerms {
			a.GroupPerms = u.GroupPerms
		}
		return nil
	})
}

// DeleteAccount removes the account of accessKey; ErrNoAccount when there is none.
func (p *Plain) DeleteAccount(accessKey string) error {
	return p.edit(func(f *File) error {
		i := f.index(accessKey)
		if accessKey == "" || i < 0 {
			return ErrNoAccount
		}
		f.Accounts = append(f.Accounts[:i], f.Accounts[i+1:]...)
		return nil
	})
}

// SetGlobalWhite replaces globalWhiteRemoteAddresses.
func (p *Plain) SetGlobalWhite(addrs []string) error {
	return p.edit(func(f *File) error {
		f.GlobalWhiteRemoteAddresses = addrs
		return nil
	})
}

// File returns the file as it is on disk now (GET_BROKER_CLUSTER_ACL_CONFIG).
func (p *Plain) File() (*File, error) {
	p.editMu.Lock()
	defer p.editMu.Unlock()
	return p.readFile()
}

// Version returns the file's dataVersion; zero for a file no request has changed.
func (p *Plain) Version() (FileVersion, error) {
	f, err := p.File()
	if err != nil || len(f.DataVersion) == 0 {
		return FileVersion{}, err
	}
	return f.DataVersion[0], nil
}

// Path returns the file's absolute path, as GET_BROKER_CLUSTER_ACL_INFO names it.
func (p *Plain) Path() string {
	if abs, err := filepath.Abs(p.path); err == nil {
		return abs
	}
	return p.path
}

func (f *File) index(accessKey string) int {
	for i, a := range f.Accounts {
		if a.AccessKey == accessKey {
			return i
		}
	}
	return -1
}

func (p *Plain) readFile() (*File, error) {
	data, err := os.ReadFile(p.path)
	if err != nil {
		return nil, fmt.Errorf("acl: aclFile: %w", err)
	}
	var f File
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("acl: %s: %w", p.path, err)
	}
	return &f, nil
}

// edit applies change to the file, checks that the result loads, bumps dataVersion,
// writes it atomically and reloads the rules.
func (p *Plain) edit(change func(*File) error) error {
	p.editMu.Lock()
	defer p.editMu.Unlock()
	f, err := p.readFile()
	if err != nil {
		return err
	}
	if err := change(f); err != nil {
		return err
	}
	if _, err := f.Rules(); err != nil {
		return err
	}
	v := FileVersion{}
	if len(f.DataVersion) > 0 {
		v = f.DataVersion[0]
	}
	// DataVersion.nextVersion: the counter counts changes, the timestamp is the last.
	f.DataVersion = []FileVersion{{Counter: v.Counter + 1, Timestamp: time.Now().UnixMilli()}}
	data, err := yaml.Marshal(f)
	if err != nil {
		return fmt.Errorf("acl: encode %s: %w", p.path, err)
	}
	if err := writeAtomic(p.path, data); err != nil {
		return err
	}
	p.Poll()
	return nil
}

// writeAtomic replaces path with data: a temporary file in the same directory, synced,
// renamed over path, and the directory synced so that the rename survives a crash.
func writeAtomic(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("acl: write %s: %w", path, err)
	}
	name := tmp.Name()
	ok := false
	defer func() {
		if !ok {
			_ = tmp.Close()
			_ = os.Remove(name)
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("acl: write %s: %w", name, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("acl: write %s: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("acl: sync %s: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("acl: write %s: %w", name, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("acl: replace %s: %w", path, err)
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("acl: sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("acl: sync %s: %w", dir, err)
	}
	return nil
}
