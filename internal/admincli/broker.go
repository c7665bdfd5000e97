package admincli

import (
	"errors"
	"fmt"
	"slices"

	"github.com/rocketgo/rocketgo/client"
)

// Broker configuration commands: tools/command/broker/GetBrokerConfigCommand.java and
// UpdateBrokerConfigSubCommand.java of Apache RocketMQ 4.9.

var getBrokerConfigCmd = &Command{
	Name: "getBrokerConfig", Desc: "Get broker config by cluster or special broker.",
	Opts: []Option{
		{Short: "b", Long: "brokerAddr", HasArg: true, Desc: "get which broker", Group: "target", GroupRequired: true},
		{Short: "c", Long: "clusterName", HasArg: true, Desc: "get which cluster", Group: "target", GroupRequired: true},
	},
	Run: runGetBrokerConfig,
}

// runGetBrokerConfig prints, per broker, a banner and `%-50s=  %s` lines, then an empty
// line, as GetBrokerConfigCommand.getAndPrint.
func runGetBrokerConfig(e *Env, f *Flags) error {
	a, err := e.Admin()
	if err != nil {
		return err
	}
	show := func(banner, addr string) error {
		e.printf("%s", banner)
		cfg, err := a.BrokerConfig(e.Ctx, addr)
		if err != nil {
			return err
		}
		for _, c := range cfg {
			e.printf("%-50s=  %s\n", c.Key, c.Value)
		}
		e.printf("\n")
		return nil
	}
	if f.Has("b") {
		addr := f.Get("b")
		return show(fmt.Sprintf("============%s============\n", addr), addr)
	}
	ci, err := a.Clusters(e.Ctx)
	if err != nil {
		return err
	}
	cluster := f.Get("c")
	names, ok := ci.ClusterAddrTable[cluster]
	if !ok {
		return fmt.Errorf("cluster [%s] not exist", cluster)
	}
	slices.Sort(names)
	for _, n := range names {
		addrs := ci.BrokerAddrTable[n].BrokerAddrs
		master := addrs[0]
		if master == "" {
			continue
		}
		if err := show(fmt.Sprintf("============Master: %s============\n", master), master); err != nil {
			return err
		}
		ids := make([]int64, 0, len(addrs))
		for id := range addrs {
			if id != 0 {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			if err := show(fmt.Sprintf("============My Master: %s=====Slave: %s============\n", master, addrs[id]), addrs[id]); err != nil {
				return err
			}
		}
	}
	return nil
}

var updateBrokerConfigCmd = &Command{
	Name: "updateBrokerConfig", Desc: "Update broker's config",
	Opts: []Option{
		{Short: "b", Long: "brokerAddr", HasArg: true, Desc: "update which broker", Group: "target", GroupRequired: true},
		{Short: "c", Long: "clusterName", HasArg: true, Desc: "update which cluster", Group: "target", GroupRequired: true},
		{Short: "k", Long: "key", HasArg: true, Desc: "config key", Required: true},
		{Short: "v", Long: "value", HasArg: true, Desc: "config value", Required: true},
	},
	Run: runUpdateBrokerConfig,
}

// runUpdateBrokerConfig prints "update broker config success, <addr>" per broker as
// UpdateBrokerConfigSubCommand. A key the broker reads only at start is not applied:
// the broker's note is printed and the command fails, so a script notices.
func runUpdateBrokerConfig(e *Env, f *Flags) error {
	a, addrs, err := adminAndTargets(e, f)
	if err != nil {
		return err
	}
	props := []client.ConfigEntry{{Key: f.Get("k"), Value: f.Get("v")}}
	var errs []error
	for _, addr := range addrs {
		note, err := a.UpdateBrokerConfig(e.Ctx, addr, props)
		switch {
		case err != nil:
			errs = append(errs, err)
		case note != "":
			errs = append(errs, fmt.Errorf("%s: %s", addr, note))
		default:
			e.printf("update broker config success, %s\n", addr)
		}
	}
	return errors.Join(errs...)
}

// adminAndTargets is the admin client and the brokers of -b or -c.
func adminAndTargets(e *Env, f *Flags) (*client.Admin, []string, error) {
	a, err := e.Admin()
	if err != nil {
		return nil, nil, err
	}
	addrs, err := targetAddrs(e, f)
	return a, addrs, err
}
