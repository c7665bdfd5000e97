package admincli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/rocketgo/rocketgo/client"
)

// NameServer commands: tools/command/namesrv/WipeWritePermSubCommand.java,
// AddWritePermSubCommand.java, GetNamesrvConfigCommand.java,
// UpdateNamesrvConfigCommand.java and topic/UpdateOrderConfCommand.java of Apache
// RocketMQ 4.9.

var wipeWritePermCmd = &Command{
	Name: "wipeWritePerm", Desc: "Wipe write perm of broker in all name server you defined in the -n param",
	Opts: []Option{{Short: "b", Long: "brokerName", HasArg: true, Desc: "broker name", Required: true}},
	Run: func(e *Env, f *Flags) error {
		return runWritePerm(e, f, "wipe", (*client.Admin).WipeWritePermOfBroker)
	},
}

var addWritePermCmd = &Command{
	Name: "addWritePerm", Desc: "Add write perm of broker in all name server you defined in the -n param",
	Opts: []Option{{Short: "b", Long: "brokerName", HasArg: true, Desc: "broker name", Required: true}},
	Run: func(e *Env, f *Flags) error {
		return runWritePerm(e, f, "add", (*client.Admin).AddWritePermOfBroker)
	},
}

// runWritePerm asks every NameServer of -n in turn and prints Apache's line for each:
// "... OK, <topic count>" or "... Failed". Apache then prints the stack trace and
// exits 0; here the reason goes to stderr and the command exits 1 when any failed.
func runWritePerm(e *Env, f *Flags, verb string, op func(*client.Admin, context.Context, string, string) (int, error)) error {
	a, err := e.Admin()
	if err != nil {
		return err
	}
	broker := f.Get("b")
	var errs []error
	for _, ns := range e.nsAddr {
		n, err := op(a, e.Ctx, ns, broker)
		if err != nil {
			e.printf("%s write perm of broker[%s] in name server[%s] Failed\n", verb, broker, ns)
			errs = append(errs, err)
			continue
		}
		e.printf("%s write perm of broker[%s] in name server[%s] OK, %d\n", verb, broker, ns, n)
	}
	return errors.Join(errs...)
}

var getNamesrvConfigCmd = &Command{
	Name: "getNamesrvConfig", Desc: "Get configs of name server.", Listing: true,
	Run: runGetNamesrvConfig,
}

// runGetNamesrvConfig prints, per NameServer of -n, a banner and `%-50s=  %s` lines;
// -o json prints {"<addr>": {"<key>": "<value>"}}.
func runGetNamesrvConfig(e *Env, _ *Flags) error {
	a, err := e.Admin()
	if err != nil {
		return err
	}
	asJSON, _ := e.JSON()
	all := map[string]map[string]string{}
	for _, ns := range e.nsAddr {
		cfg, err := a.NamesrvConfig(e.Ctx, ns)
		if err != nil {
			return err
		}
		if asJSON {
			m := make(map[string]string, len(cfg))
			for _, c := range cfg {
				m[c.Key] = c.Value
			}
			all[ns] = m
			continue
		}
		e.printf("============%s============\n", ns)
		for _, c := range cfg {
			e.printf("%-50s=  %s\n", c.Key, c.Value)
		}
	}
	if asJSON {
		return e.printJSON(all)
	}
	return nil
}

var updateNamesrvConfigCmd = &Command{
	Name: "updateNamesrvConfig", Desc: "Update configs of name server.",
	Opts: []Option{
		{Short: "k", Long: "key", HasArg: true, Desc: "config key", Required: true},
		{Short: "v", Long: "value", HasArg: true, Desc: "config value", Required: true},
	},
	Run: runUpdateNamesrvConfig,
}

// runUpdateNamesrvConfig updates every NameServer of -n and prints Apache's
// "update name server config success!<servers>" and "<key> : <value>" lines (servers
// as Java's List.toString, empty when the addresses came from NAMESRV_ADDR). A key a
// NameServer reads only at start is not applied: its note is reported and the command
// fails, as updateBrokerConfig does.
func runUpdateNamesrvConfig(e *Env, f *Flags) error {
	a, err := e.Admin()
	if err != nil {
		return err
	}
	key, value := f.Get("k"), f.Get("v")
	props := []client.ConfigEntry{{Key: key, Value: value}}
	var errs []error
	for _, ns := range e.nsAddr {
		note, err := a.UpdateNamesrvConfig(e.Ctx, ns, props)
		switch {
		case err != nil:
			errs = append(errs, err)
		case note != "":
			errs = append(errs, fmt.Errorf("%s: %s", ns, note))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	servers := ""
	if f.Has("n") {
		servers = "[" + strings.Join(e.nsAddr, ", ") + "]"
	}
	e.printf("update name server config success!%s\n%s : %s\n", servers, key, value)
	return nil
}

var updateOrderConfCmd = &Command{
	Name: "updateOrderConf", Desc: "Create or update or delete order conf",
	Opts: []Option{
		{Short: "t", Long: "topic", HasArg: true, Desc: "topic name", Required: true},
		{Short: "v", Long: "orderConf", HasArg: true, Desc: "set order conf [eg. brokerName1:num;brokerName2:num]"},
		{Short: "m", Long: "method", HasArg: true, Desc: "option type [eg. put|get|delete", Required: true},
	},
	Run: runUpdateOrderConf,
}

// runUpdateOrderConf reads or writes the topic's entry of the ORDER_TOPIC_CONFIG KV
// namespace, as UpdateOrderConfCommand: get from one NameServer, put and delete on
// all. Apache's lines end without a newline; here each ends with one. A get of an
// absent entry fails with the NameServer's QUERY_NOT_FOUND remark, as Apache's does.
func runUpdateOrderConf(e *Env, f *Flags) error {
	topic, method := f.Get("t"), f.Get("m")
	switch method {
	case "get", "put", "delete":
	default:
		// Apache prints the usage and exits 0; a wrong method is an error here.
		return fmt.Errorf("-m %q: want put, get or delete", method)
	}
	a, err := e.Admin()
	if err != nil {
		return err
	}
	switch method {
	case "get":
		conf, err := a.KVConfig(e.Ctx, client.OrderTopicConfNamespace, topic)
		if err != nil {
			return err
		}
		e.printf("get orderConf success. topic=[%s], orderConf=[%s] \n", topic, conf)
	case "put":
		conf := f.Get("v")
		if conf == "" {
			return errors.New("please set orderConf with option -v.")
		}
		if err := a.PutKVConfig(e.Ctx, client.OrderTopicConfNamespace, topic, conf); err != nil {
			return err
		}
		e.printf("update orderConf success. topic=[%s], orderConf=[%s]\n", topic, conf)
	case "delete":
		if err := a.DeleteKVConfig(e.Ctx, client.OrderTopicConfNamespace, topic); err != nil {
			return err
		}
		e.printf("delete orderConf success. topic=[%s]\n", topic)
	}
	return nil
}
