package client

import (
	"context"
	"fmt"
	"strings"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// ConfigEntry is one setting of a broker's configuration, as properties text gives it.
type ConfigEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// BrokerConfig returns the effective configuration of the broker at addr
// (GET_BROKER_CONFIG, 26) in the broker's order.
func (a *Admin) BrokerConfig(ctx context.Context, addr string) ([]ConfigEntry, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.GetBrokerConfig, nil, nil))
	if err != nil {
		return nil, fmt.Errorf("broker config of %s: %w", addr, err)
	}
	return parseConfigText(resp.Body), nil // admin_namesrv.go
}

// unescapeProperty undoes the escapes a properties writer adds to a value.
func unescapeProperty(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	return strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\r`, "\r", `\ `, " ").Replace(v)
}

// UpdateBrokerConfig changes settings of the broker at addr (UPDATE_BROKER_CONFIG, 25).
// A rocketgo broker applies the settings that can change while it runs and refuses
// unknown keys; needRestart is its note naming the known keys it did not apply because
// they are read only at start ("" when every key was applied).
func (a *Admin) UpdateBrokerConfig(ctx context.Context, addr string, props []ConfigEntry) (needRestart string, err error) {
	if err := a.check(); err != nil {
		return "", err
	}
	resp, err := a.invokeOK(ctx, addr, codec.NewRequest(code.UpdateBrokerConfig, nil, configText(props)))
	if err != nil {
		return "", fmt.Errorf("update broker config of %s: %w", addr, err)
	}
	return resp.Remark, nil
}
