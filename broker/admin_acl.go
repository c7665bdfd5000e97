package broker

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rocketgo/rocketgo/broker/acl"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// The ACL administration codes 50–54 (AdminBrokerProcessor in Apache 4.9; docs/acl.md):
// they edit plain_acl.yml (broker/acl/edit.go) and read it back. All need an admin
// account; with aclEnable off there is no file to edit and they answer so.

// Response codes of the ACL changes (ResponseCode.java).
const (
	updateACLConfigFailed   int32 = 209 // UPDATE_AND_CREATE_ACL_CONFIG_FAILED
	deleteACLConfigFailed   int32 = 210 // DELETE_ACL_CONFIG_FAILED
	updateGlobalWhiteFailed int32 = 211 // UPDATE_GLOBAL_WHITE_ADDRS_CONFIG_FAILED
)

// aclOff is the remark of an ACL request to a broker without aclEnable.
const aclOff = "ACL is not enabled on this broker (aclEnable=false)"

// splitList is UtilAll.split(s, ","), except that an empty value is an empty list.
func splitList(s string) []string {
	if strings.TrimSpace(s) == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// handleUpdateACLConfig serves UPDATE_AND_CREATE_ACL_CONFIG (50):
// CreateAccessConfigRequestHeader creates or changes one account.
func (b *Broker) handleUpdateACLConfig(_ *server.Conn, req *codec.Command) *codec.Command {
	if b.acl == nil {
		return req.NewResponse(updateACLConfigFailed, aclOff)
	}
	ext := req.ExtFields
	u := acl.AccountUpdate{
		AccessKey:        ext["accessKey"],
		SecretKey:        ext["secretKey"],
		Admin:            ext["admin"] == "true",
		DefaultTopicPerm: ext["defaultTopicPerm"],
		DefaultGroupPerm: ext["defaultGroupPerm"],
	}
	if w, ok := ext["whiteRemoteAddress"]; ok {
		u.WhiteRemoteAddress = &w
	}
	if v, ok := ext["topicPerms"]; ok {
		u.TopicPerms, u.HasTopicPerms = splitList(v), true
	}
	if v, ok := ext["groupPerms"]; ok {
		u.GroupPerms, u.HasGroupPerms = splitList(v), true
	}
	if err := b.acl.UpdateAccount(u); err != nil {
		b.log.Warn().Err(err).Str("accessKey", u.AccessKey).Msg("acl account not updated")
		return req.NewResponse(updateACLConfigFailed, err.Error())
	}
	b.log.Info().Str("accessKey", u.AccessKey).Msg("acl account updated")
	return req.NewResponse(code.Success, "")
}

// handleDeleteACLConfig serves DELETE_ACL_CONFIG (51): DeleteAccessConfigRequestHeader.
func (b *Broker) handleDeleteACLConfig(_ *server.Conn, req *codec.Command) *codec.Command {
	if b.acl == nil {
		return req.NewResponse(deleteACLConfigFailed, aclOff)
	}
	ak := req.ExtFields["accessKey"]
	if err := b.acl.DeleteAccount(ak); err != nil {
		if errors.Is(err, acl.ErrNoAccount) {
			return req.NewResponse(deleteACLConfigFailed,
				fmt.Sprintf("The accesskey[%s] corresponding to accessConfig has been deleted failed.", ak))
		}
		return req.NewResponse(deleteACLConfigFailed, err.Error())
	}
	b.log.Info().Str("accessKey", ak).Msg("acl account deleted")
	return req.NewResponse(code.Success, "")
}

// handleUpdateGlobalWhite serves UPDATE_GLOBAL_WHITE_ADDRS_CONFIG (53):
// globalWhiteAddrs (comma-separated) replaces the list. aclFileFullPath may be empty or
// name the broker's aclFile: rocketgo reads one file, not Apache's directory of them.
func (b *Broker) handleUpdateGlobalWhite(_ *server.Conn, req *codec.Command) *codec.Command {
	if b.acl == nil {
		return req.NewResponse(updateGlobalWhiteFailed, aclOff)
	}
	raw := req.ExtFields["globalWhiteAddrs"]
	if f := req.ExtFields["aclFileFullPath"]; f != "" && filepath.Clean(f) != b.acl.Path() {
		return req.NewResponse(updateGlobalWhiteFailed,
			fmt.Sprintf("aclFileFullPath %s is not this broker's aclFile %s (one ACL file is supported)", f, b.acl.Path()))
	}
	if err := b.acl.SetGlobalWhite(splitList(raw)); err != nil {
		return req.NewResponse(updateGlobalWhiteFailed,
			fmt.Sprintf("The globalWhiteAddresses[%s] has been updated failed: %v", raw, err))
	}
	b.log.Info().Str("globalWhiteAddrs", raw).Msg("acl global white list updated")
	return req.NewResponse(code.Success, "")
}

// versionJSON is DataVersion.toJson: {"counter":n,"timestamp":ms}.
func versionJSON(v acl.FileVersion) string {
	return `{"counter":` + strconv.FormatInt(v.Counter, 10) + `,"timestamp":` + strconv.FormatInt(v.Timestamp, 10) + `}`
}

// handleGetACLInfo serves GET_BROKER_CLUSTER_ACL_INFO (52): GetBrokerAclConfigResponseHeader,
// the file's version and the broker's names.
func (b *Broker) handleGetACLInfo(_ *server.Conn, req *codec.Command) *codec.Command {
	if b.acl == nil {
		return req.NewResponse(code.SystemError, aclOff)
	}
	v, err := b.acl.Version()
	if err != nil {
		return req.NewResponse(code.SystemError, err.Error())
	}
	all, _ := json.Marshal(b.acl.Path())
	resp := req.NewResponse(code.Success, "")
	resp.ExtFields = map[string]string{
		"version":           versionJSON(v),
		"allAclFileVersion": "{" + string(all) + ":" + versionJSON(v) + "}",
		"brokerName":        b.opts.BrokerName,
		"brokerAddr":        b.Addr(),
		"clusterName":       b.opts.ClusterName,
	}
	return resp
}

// aclConfigBody is GetBrokerClusterAclConfigResponseBody as fastjson writes it: keys in
// alphabetical order, absent values left out.
type aclConfigBody struct {
	GlobalWhiteAddrs   []string          `json:"globalWhiteAddrs"`
	PlainAccessConfigs []plainAccessJSON `json:"plainAccessConfigs"`
}

// plainAccessJSON is PlainAccessConfig in fastjson's key order.
type plainAccessJSON struct {
	AccessKey          string   `json:"accessKey"`
	Admin              bool     `json:"admin"`
	DefaultGroupPerm   string   `json:"defaultGroupPerm,omitempty"`
	DefaultTopicPerm   string   `json:"defaultTopicPerm,omitempty"`
	GroupPerms         []string `json:"groupPerms,omitempty"`
	SecretKey          string   `json:"secretKey,omitempty"`
	TopicPerms         []string `json:"topicPerms,omitempty"`
	WhiteRemoteAddress string   `json:"whiteRemoteAddress,omitempty"`
}

// handleGetACLConfig serves GET_BROKER_CLUSTER_ACL_CONFIG (54): the file's global white
// list and accounts, secret keys included (hence admin-only).
func (b *Broker) handleGetACLConfig(_ *server.Conn, req *codec.Command) *codec.Command {
	if b.acl == nil {
		return req.NewResponse(code.SystemError, aclOff)
	}
	f, err := b.acl.File()
	if err != nil {
		return req.NewResponse(code.SystemError, err.Error())
	}
	body := aclConfigBody{GlobalWhiteAddrs: f.GlobalWhiteRemoteAddresses, PlainAccessConfigs: []plainAccessJSON{}}
	if body.GlobalWhiteAddrs == nil {
		body.GlobalWhiteAddrs = []string{}
	}
	for _, a := range f.Accounts {
		body.PlainAccessConfigs = append(body.PlainAccessConfigs, plainAccessJSON{
			AccessKey: a.AccessKey, Admin: a.Admin, DefaultGroupPerm: a.DefaultGroupPerm,
			DefaultTopicPerm: a.DefaultTopicPerm, GroupPerms: a.GroupPerms, SecretKey: a.SecretKey,
			TopicPerms: a.TopicPerms, WhiteRemoteAddress: a.WhiteRemoteAddress,
		})
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body, _ = json.Marshal(body)
	return resp
}
