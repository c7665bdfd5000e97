// Command mqbroker runs a rocketgo broker, or with -standalone a NameServer and a broker
// in one process — the quickest working single-node deployment:
//
//	mqbroker -standalone                 # namesrv on :9876, broker on :10911, data in ./data
//	mqbroker -c conf/broker.yaml -namesrv 10.0.0.1:9876;10.0.0.2:9876
package main

import (
	"context"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/conf"
	"github.com/rocketgo/rocketgo/namesrv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mqbroker:", err)
		os.Exit(1)
	}
}

// dialable turns a wildcard listen address into one this process can dial.
func dialable(addr string) string {
	if ap, err := netip.ParseAddrPort(addr); err == nil && ap.Addr().IsUnspecified() {
		return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ap.Port()).String()
	}
	return addr
}

func run() error {
	cfgPath := flag.String("c", "conf/broker.yaml", "configuration file (YAML); \"\" for built-in defaults")
	standalone := flag.Bool("standalone", false, "also run a NameServer in this process and register with it")
	nsAddrs := flag.String("namesrv", "", "NameServer addresses separated by ';', overrides broker.namesrvAddr")
	listen := flag.String("listen", "", "listen address, overrides broker.listenAddr")
	storeDir := flag.String("store", "", "store directory, overrides store.storePathRootDir")
	ip := flag.String("brokerIP1", "", "IP advertised to clients, overrides broker.brokerIP1")
	level := flag.String("loglevel", "info", "log level: debug, info, warn, error")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", flag.Arg(0))
	}
	cfg, err := conf.Load(*cfgPath)
	if err != nil {
		return err
	}
	log, err := conf.NewLogger(nil, *level)
	if err != nil {
		return err
	}
	if *nsAddrs != "" {
		cfg.Broker.NamesrvAddrs = strings.Split(*nsAddrs, ";")
	}
	if *listen != "" {
		cfg.Broker.ListenAddr = *listen
	}
	if *storeDir != "" {
		cfg.Store.Dir = *storeDir
	}
	if *ip != "" {
		cfg.Broker.AdvertiseIP = *ip
	}
	cfg.Broker.Logger, cfg.Store.Logger, cfg.Namesrv.Logger = log, log, log
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	if *standalone {
		ns := namesrv.New(cfg.Namesrv)
		if err := ns.Start(ctx); err != nil {
			return fmt.Errorf("start namesrv on %s: %w", cfg.Namesrv.ListenAddr, err)
		}
		defer ns.Close()
		cfg.Broker.NamesrvAddrs = []string{dialable(ns.Addr())}
		log.Info().Str("addr", ns.Addr()).Msg("namesrv listening")
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	began := time.Now()
	b, err := broker.Open(cfg.Broker, cfg.Store)
	if err != nil {
		return fmt.Errorf("open broker (store %s): %w", cfg.Store.Dir, err)
	}
	opened := time.Since(began)
	if err := b.Start(ctx); err != nil {
		b.Close()
		return fmt.Errorf("start broker on %s: %w", cfg.Broker.ListenAddr, err)
	}
	log.Info().Str("addr", b.Addr()).Str("listen", cfg.Broker.ListenAddr).Str("store", cfg.Store.Dir).
		Dur("open_and_recovery", opened).Strs("namesrv", cfg.Broker.NamesrvAddrs).Msg("broker started")
	<-ctx.Done()
	log.Info().Msg("shutting down")
	return b.Close()
}
