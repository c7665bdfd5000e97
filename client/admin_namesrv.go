package client

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// This file is the NameServer side of the admin client: a broker's write permission,
// the NameServer's settings and its KV table (docs/protocol.md §12), as
// DefaultMQAdminExt and MQClientAPIImpl of RocketMQ 4.9 call them.

// OrderTopicConfNamespace is NamesrvUtil.NAMESPACE_ORDER_TOPIC_CONFIG: the KV namespace
// whose keys are topics and whose values are order configurations
// ("brokerName:queueNums;..."), served to clients as a route's orderTopicConf.
const OrderTopicConfNamespace = "ORDER_TOPIC_CONFIG"

// NameServers returns the NameServer addresses the admin was configured with.
func (a *Admin) NameServers() []string { return slices.Clone(a.o.client.nameServers) }

// WipeWritePermOfBroker clears the write permission of every topic's queues of the
// broker group brokerName in the route table of the NameServer at namesrvAddr
// (WIPE_WRITE_PERM_OF_BROKER, 205), so that producers stop sending to it, and returns
// how many topics the group serves there.
func (a *Admin) WipeWritePermOfBroker(ctx context.Context, namesrvAddr, brokerName string) (int, error) {
	if err := a.check(); err != nil {
		return 0, err
	}
	h := header.WritePermOfBrokerRequest{BrokerName: brokerName}
	resp, err := a.invokeOK(ctx, namesrvAddr, codec.NewRequest(code.WipeWritePermOfBroker, h.Encode(), nil))
	if err != nil {
		return 0, fmt.Errorf("wipe write perm of %s in %s: %w", brokerName, namesrvAddr, err)
	}
	var rh header.WipeWritePermOfBrokerResponse
	if err := rh.Decode(resp.ExtFields); err != nil {
		return 0, fmt.Errorf("wipe write perm of %s in %s: %w: %w", brokerName, namesrvAddr, ErrBadResponse, err)
	}
	return int(rh.WipeTopicCount), nil
}

// AddWritePermOfBroker sets the permission of every topic's queues of the broker group
// to read and write in the NameServer at namesrvAddr (ADD_WRITE_PERM_OF_BROKER, 327)
// and returns how many topics the group serves there.
func (a *Admin) AddWritePermOfBroker(ctx context.Context, namesrvAddr, brokerName string) (int, error) {
	if err := a.check(); err != nil {
		return 0, err
	}
	h := header.WritePermOfBrokerRequest{BrokerName: brokerName}
	resp, err := a.invokeOK(ctx, namesrvAddr, codec.NewRequest(code.AddWritePermOfBroker, h.Encode(), nil))
	if err != nil {
		return 0, fmt.Errorf("add write perm of %s in %s: %w", brokerName, namesrvAddr, err)
	}
	var rh header.AddWritePermOfBrokerResponse
	if err := rh.Decode(resp.ExtFields); err != nil {
		return 0, fmt.Errorf("add write perm of %s in %s: %w: %w", brokerName, namesrvAddr, ErrBadResponse, err)
	}
	return int(rh.AddTopicCount), nil
}

// NamesrvConfig returns the settings of the NameServer at addr (GET_NAMESRV_CONFIG,
// 319), in the order it lists them.
func (a *Admin) NamesrvConfig(ctx context.Context, addr string) ([]ConfigEntry, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.GetNamesrvConfig, nil, nil))
	if err != nil {
		return nil, fmt.Errorf("name server config of %s: %w", addr, err)
	}
	return parseConfigText(resp.Body), nil
}

// UpdateNamesrvConfig changes settings of the NameServer at addr
// (UPDATE_NAMESRV_CONFIG, 318). A rocketgo NameServer applies the settings that can
// change while it runs and refuses unknown keys; note names the known keys it did not
// apply because they are read only at start ("" when every key was applied).
func (a *Admin) UpdateNamesrvConfig(ctx context.Context, addr string, props []ConfigEntry) (note string, err error) {
	if err := a.check(); err != nil {
		return "", err
	}
	resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.UpdateNamesrvConfig, nil, configText(props)))
	if err != nil {
		return "", fmt.Errorf("update name server config of %s: %w", addr, err)
	}
	return resp.Remark, nil
}

// PutKVConfig sets namespace/key to value on every NameServer (PUT_KV_CONFIG, 100), as
// MQClientAPIImpl.putKVConfigValue does; the failures are joined, each naming its
// NameServer.
func (a *Admin) PutKVConfig(ctx context.Context, namespace, key, value string) error {
	if err := a.check(); err != nil {
		return err
	}
	h := header.PutKVConfigRequest{Namespace: namespace, Key: key, Value: value}
	return a.eachBroker(ctx, a.o.client.nameServers, func(ctx context.Context, addr string) error {
		return a.expectSuccess(ctx, addr, codec.NewRequest(code.PutKVConfig, h.Encode(), nil))
	}, "put kv config "+namespace+"/"+key)
}

// KVConfig returns the value of namespace/key from the first NameServer that answers
// (GET_KV_CONFIG, 101). An absent entry fails with a *BrokerError of code
// QUERY_NOT_FOUND (22).
func (a *Admin) KVConfig(ctx context.Context, namespace, key string) (string, error) {
	if err := a.check(); err != nil {
		return "", err
	}
	h := header.KVConfigRequest{Namespace: namespace, Key: key}
	resp, err := a.inst.invokeNamesrv(ctx, a.o.client.routeTimeout, func() *codec.Command {
		return codec.NewRequest(code.GetKVConfig, h.Encode(), nil)
	})
	if err == nil && resp.Code != code.Success {
		err = brokerErr(resp.Code, resp.Remark)
	}
	if err != nil {
		return "", fmt.Errorf("get kv config %s/%s: %w", namespace, key, err)
	}
	var rh header.GetKVConfigResponse
	if err := rh.Decode(resp.ExtFields); err != nil {
		return "", fmt.Errorf("get kv config %s/%s: %w: %w", namespace, key, ErrBadResponse, err)
	}
	return rh.Value, nil
}

// DeleteKVConfig removes namespace/key from every NameServer (DELETE_KV_CONFIG, 102);
// an absent entry is not an error.
func (a *Admin) DeleteKVConfig(ctx context.Context, namespace, key string) error {
	if err := a.check(); err != nil {
		return err
	}
	h := header.KVConfigRequest{Namespace: namespace, Key: key}
	return a.eachBroker(ctx, a.o.client.nameServers, func(ctx context.Context, addr string) error {
		return a.expectSuccess(ctx, addr, codec.NewRequest(code.DeleteKVConfig, h.Encode(), nil))
	}, "delete kv config "+namespace+"/"+key)
}

// KVList returns the entries of a namespace from the first NameServer that answers
// (GET_KVLIST_BY_NAMESPACE, 219). A namespace never written fails with a *BrokerError
// of code QUERY_NOT_FOUND (22).
func (a *Admin) KVList(ctx context.Context, namespace string) (map[string]string, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	h := header.GetKVListByNamespaceRequest{Namespace: namespace}
	resp, err := a.inst.invokeNamesrv(ctx, a.o.client.routeTimeout, func() *codec.Command {
		return codec.NewRequest(code.GetKVListByNamespace, h.Encode(), nil)
	})
	if err == nil && resp.Code != code.Success {
		err = brokerErr(resp.Code, resp.Remark)
	}
	if err != nil {
		return nil, fmt.Errorf("kv list of %s: %w", namespace, err)
	}
	t, err := body.DecodeKVTable(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("kv list of %s: %w: %w", namespace, ErrBadResponse, err)
	}
	return t.Table, nil
}

// parseConfigText reads the key=value lines of a configuration answer.
func parseConfigText(b []byte) []ConfigEntry {
	var out []ConfigEntry
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		out = append(out, ConfigEntry{Key: k, Value: unescapeProperty(v)})
	}
	return out
}

// configText writes settings as the key=value lines of an update request.
func configText(props []ConfigEntry) []byte {
	var sb strings.Builder
	for _, p := range props {
		fmt.Fprintf(&sb, "%s=%s\n", p.Key, p.Value)
	}
	return []byte(sb.String())
}
