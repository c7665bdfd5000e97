package acl

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// File is plain_acl.yml as Apache RocketMQ 4.9 writes it.
type File struct {
	GlobalWhiteRemoteAddresses []string  `yaml:"globalWhiteRemoteAddresses"`
	Accounts                   []Account `yaml:"accounts"`
	// DataVersion is what the ACL admin requests write on every change, as
	// PlainPermissionManager.updateAclConfigFileVersion does: one element.
	DataVersion []FileVersion `yaml:"dataVersion,omitempty"`
}

// FileVersion is Apache's DataVersion as plain_acl.yml stores it.
type FileVersion struct {
	Counter   int64 `yaml:"counter" json:"counter"`
	Timestamp int64 `yaml:"timestamp" json:"timestamp"`
}

// Account is one entry of accounts (PlainAccessConfig).
type Account struct {
	AccessKey          string   `yaml:"accessKey" json:"accessKey"`
	SecretKey          string   `yaml:"secretKey" json:"secretKey"`
	WhiteRemoteAddress string   `yaml:"whiteRemoteAddress,omitempty" json:"whiteRemoteAddress"`
	Admin              bool     `yaml:"admin" json:"admin"`
	DefaultTopicPerm   string   `yaml:"defaultTopicPerm,omitempty" json:"defaultTopicPerm"`
	DefaultGroupPerm   string   `yaml:"defaultGroupPerm,omitempty" json:"defaultGroupPerm"`
	TopicPerms         []string `yaml:"topicPerms,omitempty" json:"topicPerms"`
	GroupPerms         []string `yaml:"groupPerms,omitempty" json:"groupPerms"`
}

// retryPrefix is MixAll.RETRY_GROUP_TOPIC_PREFIX: a group's permissions are kept, and
// asked for, under its retry topic, so "%RETRY%g" follows group g.
const retryPrefix = "%RETRY%"

// Rules is a parsed, immutable configuration.
type Rules struct {
	global   []addrMatcher
	accounts map[string]*account
}

// account is one parsed Account (PlainAccessResource).
type account struct {
	accessKey, secretKey string
	white                addrMatcher
	admin                bool
	defTopic, defGroup   Perm
	// perms holds topic and group permissions, groups as retryPrefix+group; nil when
	// the account lists none (an admin without any then may access everything).
	perms map[string]Perm
}

// Parse reads a plain_acl.yml document. Every address pattern and resource permission
// must parse and access keys must be unique and non-empty, else nothing is taken.
func Parse(data []byte) (*Rules, error) {
	var f File
	if err := yaml.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("acl: %w", err)
	}
	return f.Rules()
}

// Rules checks f and builds its rules.
func (f *File) Rules() (*Rules, error) {
	r := &Rules{accounts: make(map[string]*account, len(f.Accounts))}
	for _, p := range f.GlobalWhiteRemoteAddresses {
		m, err := parseAddrPattern(p)
		if err != nil {
			return nil, fmt.Errorf("acl: globalWhiteRemoteAddresses: %w", err)
		}
		r.global = append(r.global, m)
	}
	for i, a := range f.Accounts {
		acc, err := a.parse()
		if err != nil {
			return nil, fmt.Errorf("acl: accounts[%d]: %w", i, err)
		}
		if _, dup := r.accounts[acc.accessKey]; dup {
			return nil, fmt.Errorf("acl: accounts[%d]: accessKey %q listed twice", i, acc.accessKey)
		}
		r.accounts[acc.accessKey] = acc
	}
	return r, nil
}

func (a *Account) parse() (*account, error) {
	if a.AccessKey == "" || a.SecretKey == "" {
		return nil, errors.New("accessKey and secretKey are required")
	}
	w, err := parseAddrPattern(a.WhiteRemoteAddress)
	if err != nil {
		return nil, fmt.Errorf("whiteRemoteAddress: %w", err)
	}
	acc := &account{accessKey: a.AccessKey, secretKey: a.SecretKey, white: w, admin: a.Admin,
		defTopic: ParsePerm(a.DefaultTopicPerm), defGroup: ParsePerm(a.DefaultGroupPerm)}
	add := func(kind, prefix string, list []string) error {
		for _, e := range list {
			res, perm, ok := strings.Cut(e, "=")
			res = strings.TrimSpace(res)
			if !ok || res == "" {
				return fmt.Errorf("%s %q: want name=DENY|PUB|SUB|PUB|SUB", kind, e)
			}
			if acc.perms == nil {
				acc.perms = map[string]Perm{}
			}
			acc.perms[prefix+res] = ParsePerm(perm)
		}
		return nil
	}
	if err := add("topicPerms", "", a.TopicPerms); err != nil {
		return nil, err
	}
	if err := add("groupPerms", retryPrefix, a.GroupPerms); err != nil {
		return nil, err
	}
	return acc, nil
}
