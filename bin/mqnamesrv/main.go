// Command mqnamesrv runs a rocketgo NameServer: the route table brokers register with
// and clients ask for topic routes.
//
//	mqnamesrv [-c conf/namesrv.yaml] [-listen 0.0.0.0:9876] [-loglevel info]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/rocketgo/rocketgo/conf"
	"github.com/rocketgo/rocketgo/namesrv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "mqnamesrv:", err)
		os.Exit(1)
	}
}

func run() error {
	cfgPath := flag.String("c", "", "configuration file (YAML), e.g. conf/namesrv.yaml")
	listen := flag.String("listen", "", "listen address, overrides namesrv.listenAddr")
	level := flag.String("loglevel", "info", "log level: debug, info, warn, error")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", flag.Arg(0))
	}
	cfg, err := conf.Load(*cfgPath)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Namesrv.ListenAddr = *listen
	}
	log, err := conf.NewLogger(nil, *level)
	if err != nil {
		return err
	}
	cfg.Namesrv.Logger = log
	if err := cfg.Namesrv.Validate(); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	srv := namesrv.New(cfg.Namesrv)
	if err := srv.Start(ctx); err != nil {
		return fmt.Errorf("start namesrv on %s: %w", cfg.Namesrv.ListenAddr, err)
	}
	log.Info().Str("addr", srv.Addr()).Msg("namesrv listening")
	<-ctx.Done()
	log.Info().Msg("shutting down")
	return srv.Close()
}
