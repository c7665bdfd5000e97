package admincli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/client"
)

// ACL 1.0 administration: tools/command/acl/*.java of Apache RocketMQ 4.9
// (UpdateAccessConfigSubCommand, DeleteAccessConfigSubCommand,
// UpdateGlobalWhiteAddrSubCommand, ClusterAclConfigVersionListSubCommand,
// GetAccessConfigSubCommand). With -c the changes go to every master and slave of the
// cluster (CommandUtil.fetchMasterAndSlaveAddrByClusterName), the reads to the masters.

// aclTarget is the -b | -c group every ACL command has; by and what fill in Apache's
// descriptions ("update acl config file to which broker").
func aclTarget(brokerDesc, clusterDesc string) []Option {
	return []Option{
		{Short: "b", Long: "brokerAddr", HasArg: true, Desc: brokerDesc, Group: "target", GroupRequired: true},
		{Short: "c", Long: "clusterName", HasArg: true, Desc: clusterDesc, Group: "target", GroupRequired: true},
	}
}

var updateAclConfigCmd = &Command{
	Name: "updateAclConfig", Desc: "Update acl config yaml file in broker",
	Opts: append(aclTarget("update acl config file to which broker", "update acl config file to which cluster"),
		Option{Short: "a", Long: "accessKey", HasArg: true, Required: true, Desc: "set accessKey in acl config file"},
		Option{Short: "s", Long: "secretKey", HasArg: true, Required: true, Desc: "set secretKey in acl config file"},
		Option{Short: "w", Long: "whiteRemoteAddress", HasArg: true, Desc: "set white ip Address for account in acl config file"},
		Option{Short: "i", Long: "defaultTopicPerm", HasArg: true, Desc: "set default topicPerm in acl config file"},
		Option{Short: "u", Long: "defaultGroupPerm", HasArg: true, Desc: "set default GroupPerm in acl config file"},
		Option{Short: "t", Long: "topicPerms", HasArg: true, Desc: "set topicPerms list,eg: topicA=DENY,topicD=SUB"},
		Option{Short: "g", Long: "groupPerms", HasArg: true, Desc: "set groupPerms list,eg: groupD=DENY,groupD=SUB"},
		Option{Short: "m", Long: "admin", HasArg: true, Desc: "set admin flag in acl config file"},
	),
	Run: runUpdateAclConfig,
}

var deleteAclConfigCmd = &Command{
	Name: "deleteAclConfig", Desc: "Delete Acl Config Account in broker",
	Opts: append(aclTarget("delete acl config account from which broker", "delete acl config account from which cluster"),
		Option{Short: "a", Long: "accessKey", HasArg: true, Required: true, Desc: "set accessKey in acl config file for deleting which account"}),
	Run: runDeleteAclConfig,
}

var updateGlobalWhiteAddrCmd = &Command{
	Name: "updateGlobalWhiteAddr", Desc: "Update global white address for acl Config File in broker",
	Opts: append(aclTarget("update global white address to which broker", "update global white address to which cluster"),
		Option{Short: "g", Long: "globalWhiteRemoteAddresses", HasArg: true, Required: true, Desc: "set globalWhiteRemoteAddress list,eg: 10.10.103.*,192.168.0.*"},
		Option{Short: "p", Long: "aclFileFullPath", HasArg: true, Desc: "update global white address of specified acl file,eg: /xxx/plain_test.yml"}),
	Run: runUpdateGlobalWhiteAddr,
}

var clusterAclConfigVersionCmd = &Command{
	Name: "clusterAclConfigVersion", Desc: "List all of acl config version information in cluster",
	Opts: aclTarget("query acl config version for which broker", "query acl config version for specified cluster"),
	Run:  runClusterAclConfigVersion,
}

var getAclConfigCmd = &Command{
	Name: "getAclConfig", Desc: "List all of acl config information in cluster",
	Opts: aclTarget("query acl config version for which broker", "query acl config version for specified cluster"),
	Run:  runGetAclConfig,
}

// clusterBrokers returns the addresses of cluster's brokers, masters first in broker
// name order, then, when slaves is set, each master's slaves.
func clusterBrokers(e *Env, a *client.Admin, cluster string, slaves bool) ([]string, error) {
	ci, err := a.Clusters(e.Ctx)
	if err != nil {
		return nil, err
	}
	names, ok := ci.ClusterAddrTable[cluster]
	if !ok {
		return nil, fmt.Errorf("cluster [%s] not exist", cluster)
	}
	names = slices.Sorted(slices.Values(names))
	var out []string
	for _, n := range names {
		addrs := ci.BrokerAddrTable[n].BrokerAddrs
		ids := make([]int64, 0, len(addrs))
		for id := range addrs {
			if id == 0 || slaves {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			out = append(out, addrs[id])
		}
	}
	return out, nil
}

// eachTarget runs fn on -b's broker, or on the brokers of -c's cluster.
func eachTarget(e *Env, f *Flags, slaves bool, fn func(a *client.Admin, addr string) error) error {
	a, err := e.Admin()
	if err != nil {
		return err
	}
	addrs := []string{f.Get("b")}
	if !f.Has("b") {
		if addrs, err = clusterBrokers(e, a, f.Get("c"), slaves); err != nil {
			return err
		}
	}
	for _, addr := range addrs {
		if err := fn(a, addr); err != nil {
			return err
		}
	}
	return nil
}

// accountText stands for Apache's `printf("%s", accessConfig)`, which prints the Java
// object's identity (PlainAccessConfig has no toString): the account without its secret.
func accountText(acc client.ACLAccount) string {
	white := ""
	if acc.WhiteRemoteAddress != nil {
		white = *acc.WhiteRemoteAddress
	}
	return fmt.Sprintf("PlainAccessConfig{accessKey=%s, whiteRemoteAddress=%s, admin=%t, defaultTopicPerm=%s, defaultGroupPerm=%s, topicPerms=%s, groupPerms=%s}",
		acc.AccessKey, white, acc.Admin, acc.DefaultTopicPerm, acc.DefaultGroupPerm, javaList(acc.TopicPerms), javaList(acc.GroupPerms))
}

// javaList is List.toString: "[a, b]"; a nil list prints as "" (GetAccessConfigSubCommand
// prints null fields so).
func javaList(l []string) string {
	if l == nil {
		return ""
	}
	return "[" + strings.Join(l, ", ") + "]"
}

func runUpdateAclConfig(e *Env, f *Flags) error {
	acc := client.ACLAccount{AccessKey: f.Get("a"), SecretKey: f.Get("s")}
	if f.Has("m") {
		acc.Admin = strings.EqualFold(f.Get("m"), "true") // Boolean.parseBoolean
	}
	acc.DefaultTopicPerm, acc.DefaultGroupPerm = f.Get("i"), f.Get("u")
	if f.Has("w") {
		w := f.Get("w")
		acc.WhiteRemoteAddress = &w
	}
	if f.Has("t") {
		acc.TopicPerms = strings.Split(f.Get("t"), ",")
	}
	if f.Has("g") {
		acc.GroupPerms = strings.Split(f.Get("g"), ",")
	}
	err := eachTarget(e, f, true, func(a *client.Admin, addr string) error {
		if err := a.UpdateACLAccount(e.Ctx, addr, acc); err != nil {
			return err
		}
		e.printf("create or update plain access config to %s success.\n", addr)
		return nil
	})
	if err != nil {
		return err
	}
	e.printf("%s\n", accountText(acc))
	return nil
}

func runDeleteAclConfig(e *Env, f *Flags) error {
	ak := f.Get("a")
	err := eachTarget(e, f, true, func(a *client.Admin, addr string) error {
		if err := a.DeleteACLAccount(e.Ctx, addr, ak); err != nil {
			return err
		}
		e.printf("delete plain access config account from %s success.\n", addr)
		return nil
	})
	if err != nil {
		return err
	}
	e.printf("account's accesskey is:%s\n", ak)
	return nil
}

func runUpdateGlobalWhiteAddr(e *Env, f *Flags) error {
	addrs := strings.Split(f.Get("g"), ",")
	return eachTarget(e, f, true, func(a *client.Admin, addr string) error {
		if err := a.UpdateGlobalWhiteAddrs(e.Ctx, addr, addrs, f.Get("p")); err != nil {
			return err
		}
		e.printf("update global white remote addresses to %s success.\n", addr)
		return nil
	})
}

// aclVersionFormat is ClusterAclConfigVersionListSubCommand's line.
const aclVersionFormat = "%-16s  %-22s  %-22s  %-20s  %-22s  %-22s\n"

func runClusterAclConfigVersion(e *Env, f *Flags) error {
	if !f.Has("b") {
		e.printf(aclVersionFormat, "#Cluster Name", "#Broker Name", "#Broker Addr", "#AclFilePath", "#AclConfigVersionNum", "#AclLastUpdateTime")
	}
	err := eachTarget(e, f, false, func(a *client.Admin, addr string) error {
		v, err := a.ACLVersionOf(e.Ctx, addr)
		if err != nil {
			return err
		}
		files := slices.Sorted(func(yield func(string) bool) {
			for k := range v.Files {
				if !yield(k) {
					return
				}
			}
		})
		for _, file := range files {
			fv := v.Files[file]
			e.printf(aclVersionFormat, v.ClusterName, v.BrokerName, v.BrokerAddr, file,
				strconv.FormatInt(fv.Counter, 10), time.UnixMilli(fv.Timestamp).In(e.Loc).Format("2006-01-02 15:04:05"))
		}
		return nil
	})
	if err != nil {
		return err
	}
	if f.Has("b") {
		e.printf("get broker's plain access config version success.\n")
	} else {
		e.printf("get cluster's plain access config version success.\n")
	}
	return nil
}

func runGetAclConfig(e *Env, f *Flags) error {
	return eachTarget(e, f, false, func(a *client.Admin, addr string) error {
		c, err := a.ACLConfigOf(e.Ctx, addr)
		if err != nil {
			return err
		}
		e.printf("\n%-20s: %s\n\naccounts:\n", "globalWhiteRemoteAddresses", "["+strings.Join(c.GlobalWhiteAddrs, ", ")+"]")
		for _, acc := range c.Accounts {
			white := ""
			if acc.WhiteRemoteAddress != nil {
				white = *acc.WhiteRemoteAddress
			}
			for _, kv := range [][2]string{
				{"accessKey", acc.AccessKey}, {"secretKey", acc.SecretKey}, {"whiteRemoteAddress", white},
				{"admin", strconv.FormatBool(acc.Admin)}, {"defaultTopicPerm", acc.DefaultTopicPerm},
				{"defaultGroupPerm", acc.DefaultGroupPerm}, {"topicPerms", javaList(acc.TopicPerms)},
				{"groupPerms", javaList(acc.GroupPerms)},
			} {
				e.printf("%-1s %-18s: %s\n", "", kv[0], kv[1])
			}
			e.printf("\n")
		}
		return nil
	})
}
