package client

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/rocketgo/rocketgo/remoting/codec"
)

// The ACL administration requests of RocketMQ 4.9 (docs/acl.md): they change and read a
// broker's plain_acl.yml and need an admin account (sign with WithCredentials).
const (
	reqUpdateACLConfig   int32 = 50 // UPDATE_AND_CREATE_ACL_CONFIG
	reqDeleteACLConfig   int32 = 51 // DELETE_ACL_CONFIG
	reqGetACLInfo        int32 = 52 // GET_BROKER_CLUSTER_ACL_INFO
	reqUpdateGlobalWhite int32 = 53 // UPDATE_GLOBAL_WHITE_ADDRS_CONFIG
	reqGetACLConfig      int32 = 54 // GET_BROKER_CLUSTER_ACL_CONFIG
)

// ACLAccount is one account of plain_acl.yml (Apache's PlainAccessConfig). In
// UpdateACLAccount a nil WhiteRemoteAddress, TopicPerms or GroupPerms and an empty
// default permission leave an existing account's value unchanged.
type ACLAccount struct {
	AccessKey          string   `json:"accessKey"`
	SecretKey          string   `json:"secretKey,omitempty"`
	WhiteRemoteAddress *string  `json:"whiteRemoteAddress,omitempty"`
	Admin              bool     `json:"admin"`
	DefaultTopicPerm   string   `json:"defaultTopicPerm,omitempty"`
	DefaultGroupPerm   string   `json:"defaultGroupPerm,omitempty"`
	TopicPerms         []string `json:"topicPerms,omitempty"`
	GroupPerms         []string `json:"groupPerms,omitempty"`
}

// ACLConfig is a broker's ACL file as GET_BROKER_CLUSTER_ACL_CONFIG answers it.
type ACLConfig struct {
	GlobalWhiteAddrs []string     `json:"globalWhiteAddrs"`
	Accounts         []ACLAccount `json:"plainAccessConfigs"`
}

// ACLVersion is GET_BROKER_CLUSTER_ACL_INFO's answer: the broker's names and the
// version of each ACL file it reads.
type ACLVersion struct {
	ClusterName, BrokerName, BrokerAddr string
	Files                               map[string]ACLFileVersion
}

// ACLFileVersion is Apache's DataVersion of one ACL file: how many changes the admin
// requests made and when the last was (Unix milliseconds).
type ACLFileVersion struct {
	Counter   int64 `json:"counter"`
	Timestamp int64 `json:"timestamp"`
}

// UpdateACLAccount creates or changes an account on the broker at addr
// (UPDATE_AND_CREATE_ACL_CONFIG, 50; CreateAccessConfigRequestHeader).
func (a *Admin) UpdateACLAccount(ctx context.Context, addr string, acc ACLAccount) error {
	if err := a.check(); err != nil {
		return err
	}
	ext := map[string]string{
		"accessKey": acc.AccessKey,
		"secretKey": acc.SecretKey,
		"admin":     strconv.FormatBool(acc.Admin),
	}
	if acc.WhiteRemoteAddress != nil {
		ext["whiteRemoteAddress"] = *acc.WhiteRemoteAddress
	}
	if acc.DefaultTopicPerm != "" {
		ext["defaultTopicPerm"] = acc.DefaultTopicPerm
	}
	if acc.DefaultGroupPerm != "" {
		ext["defaultGroupPerm"] = acc.DefaultGroupPerm
	}
	if acc.TopicPerms != nil {
		ext["topicPerms"] = strings.Join(acc.TopicPerms, ",")
	}
	if acc.GroupPerms != nil {
		ext["groupPerms"] = strings.Join(acc.GroupPerms, ",")
	}
	if err := a.expectSuccess(ctx, addr, codec.NewRequest(reqUpdateACLConfig, ext, nil)); err != nil {
		return fmt.Errorf("update acl account %s on %s: %w", acc.AccessKey, addr, err)
	}
	return nil
}

// DeleteACLAccount removes an account from the broker at addr (DELETE_ACL_CONFIG, 51).
func (a *Admin) DeleteACLAccount(ctx context.Context, addr, accessKey string) error {
	if err := a.check(); err != nil {
		return err
	}
	req := codec.NewRequest(reqDeleteACLConfig, map[string]string{"accessKey": accessKey}, nil)
	if err := a.expectSuccess(ctx, addr, req); err != nil {
		return fmt.Errorf("delete acl account %s on %s: %w", accessKey, addr, err)
	}
	return nil
}

// UpdateGlobalWhiteAddrs replaces globalWhiteRemoteAddresses on the broker at addr
// (UPDATE_GLOBAL_WHITE_ADDRS_CONFIG, 53); aclFile may be empty (the broker's file).
func (a *Admin) UpdateGlobalWhiteAddrs(ctx context.Context, addr string, addrs []string, aclFile string) error {
	if err := a.check(); err != nil {
		return err
	}
	req := codec.NewRequest(reqUpdateGlobalWhite, map[string]string{
		"globalWhiteAddrs": strings.Join(addrs, ","), "aclFileFullPath": aclFile,
	}, nil)
	if err := a.expectSuccess(ctx, addr, req); err != nil {
		return fmt.Errorf("update global white addresses on %s: %w", addr, err)
	}
	return nil
}

// ACLVersionOf returns the ACL file versions of the broker at addr
// (GET_BROKER_CLUSTER_ACL_INFO, 52).
func (a *Admin) ACLVersionOf(ctx context.Context, addr string) (*ACLVersion, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	resp, err := a.invokeOK(ctx, addr, codec.NewRequest(reqGetACLInfo, nil, nil))
	if err != nil {
		return nil, fmt.Errorf("acl version of %s: %w", addr, err)
	}
	v := &ACLVersion{ClusterName: resp.ExtFields["clusterName"], BrokerName: resp.ExtFields["brokerName"],
		BrokerAddr: resp.ExtFields["brokerAddr"]}
	if s := resp.ExtFields["allAclFileVersion"]; s != "" {
		if err := json.Unmarshal([]byte(s), &v.Files); err != nil {
			return nil, fmt.Errorf("acl version of %s: %w: allAclFileVersion: %w", addr, ErrBadResponse, err)
		}
	}
	return v, nil
}

// ACLConfigOf returns the ACL file of the broker at addr, secret keys included
// (GET_BROKER_CLUSTER_ACL_CONFIG, 54).
func (a *Admin) ACLConfigOf(ctx context.Context, addr string) (*ACLConfig, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	resp, err := a.invokeOK(ctx, addr, codec.NewRequest(reqGetACLConfig, nil, nil))
	if err != nil {
		return nil, fmt.Errorf("acl config of %s: %w", addr, err)
	}
	var c ACLConfig
	if err := json.Unmarshal(resp.Body, &c); err != nil {
		return nil, fmt.Errorf("acl config of %s: %w: %w", addr, ErrBadResponse, err)
	}
	return &c, nil
}
