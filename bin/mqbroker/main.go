// Command mqbroker runs a rocketgo broker, or with -standalone a NameServer and a broker
// in one process — the quickest working single-node deployment:
//
//	mqbroker -standalone                 # namesrv on :9876, broker on :10911, dashboard on :8080, data in ./data
//	mqbroker -c conf/broker.yaml -n '10.0.0.1:9876;10.0.0.2:9876'
//	mqbroker -c broker.conf -p           # Apache's broker.conf; print the settings and exit
//	mqbroker -version
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rocketgo/rocketgo/client"

	"github.com/rocketgo/rocketgo/bin/internal/version"
	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/broker/ctrlmode"
	"github.com/rocketgo/rocketgo/conf"
	"github.com/rocketgo/rocketgo/internal/dashboard"
	"github.com/rocketgo/rocketgo/namesrv"
)

func main() {
	version.Exit("mqbroker", run(os.Args[1:], os.Stdout, os.Stderr))
}

// dialable turns a wildcard listen address into one this process can dial.
func dialable(addr string) string {
	if ap, err := netip.ParseAddrPort(addr); err == nil && ap.Addr().IsUnspecified() {
		return netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), ap.Port()).String()
	}
	return addr
}

// run starts the broker as args say; -p and -version print to stdout and return.
func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mqbroker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", "conf/broker.yaml", "configuration file: rocketgo YAML, or Apache's broker.conf (.conf, .properties); \"\" for built-in defaults")
	standalone := fs.Bool("standalone", false, "also run a NameServer in this process and register with it")
	var nsAddrs string
	fs.StringVar(&nsAddrs, "n", "", "NameServer addresses separated by ';', overrides namesrvAddr")
	fs.StringVar(&nsAddrs, "namesrv", "", "same as -n")
	printCfg := fs.Bool("p", false, "print the effective configuration as key=value lines and exit")
	listen := fs.String("listen", "", "listen address, overrides broker.listenAddr")
	storeDir := fs.String("store", "", "store directory, overrides store.storePathRootDir")
	ip := fs.String("brokerIP1", "", "IP advertised to clients, overrides broker.brokerIP1")
	dashAddr := fs.String("dashboard", ":8080", "with -standalone, the web dashboard's listen address; \"\" to run none")
	logOpts := conf.RegisterLogFlags(fs)
	if printed, err := version.Parse(fs, args, stdout); printed || err != nil {
		return err
	}
	log, logFile, err := conf.OpenLogger(stderr, *logOpts)
	if err != nil {
		return err
	}
	defer logFile.Close()
	log.Info().Str("version", version.String("mqbroker")).Msg("starting")
	cfg, warnings, err := conf.LoadFile(*cfgPath, conf.Broker)
	if err != nil {
		return err
	}
	if nsAddrs != "" {
		cfg.Broker.NamesrvAddrs = conf.SplitAddrs(nsAddrs)
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
	if err := cfg.Validate(); err != nil {
		return err
	}
	var extra []string
	if *standalone {
		extra = []string{"namesrv"}
	}
	settings := conf.Settings(cfg, conf.Broker, extra...)
	if *printCfg {
		return conf.WriteProperties(stdout, settings)
	}
	conf.Announce(log, settings, warnings)
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
	if cfg.Broker.EnableControllerMode {
		// The controllers choose the role (docs/failover.md); the runner reopens the
		// broker in it whenever it changes.
		r, err := ctrlmode.Start(ctx, cfg.Broker, cfg.Store)
		if err != nil {
			return fmt.Errorf("start broker in controller mode (store %s): %w", cfg.Store.Dir, err)
		}
		log.Info().Str("addr", r.Broker().Addr()).Str("controllers", cfg.Broker.ControllerAddr).Msg("broker started in controller mode")
		<-ctx.Done()
		log.Info().Msg("shutting down")
		return r.Close()
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
	if *standalone && *dashAddr != "" {
		// The dashboard reads the cluster through the admin API, like a separate mqdashboard.
		// It dials as the broker's own links do (TLS with tls.enable) and signs with the
		// broker's own credentials, so it works with aclEnable too.
		tc, err := cfg.TLS.ClientConfig()
		if err != nil {
			b.Close()
			return err
		}
		dcfg := dashboard.Config{NameServers: cfg.Broker.NamesrvAddrs, Logger: log, TLS: tc}
		if c, _ := cfg.Broker.InnerCredentials(); c.Set() {
			dcfg.Credentials = &client.Credentials{AccessKey: c.AccessKey, SecretKey: c.SecretKey}
		}
		d, err := dashboard.New(dcfg)
		if err != nil {
			b.Close()
			return err
		}
		defer d.Close()
		addr, err := d.Start(ctx, *dashAddr)
		if err != nil {
			b.Close()
			return err
		}
		log.Info().Str("addr", addr).Msg("dashboard listening")
	}
	<-ctx.Done()
	log.Info().Msg("shutting down")
	return b.Close()
}
