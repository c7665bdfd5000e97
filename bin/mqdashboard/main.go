// Command mqdashboard serves the web dashboard of a rocketgo (or RocketMQ) cluster:
// brokers, topics, consumer groups and lag, messages, dead letters, pending
// transactions and timer messages, through the admin API (see docs/dashboard.md).
//
//	mqdashboard -n 127.0.0.1:9876               # http://localhost:8080/
//	mqdashboard -n '10.0.0.1:9876;10.0.0.2:9876' -listen 127.0.0.1:9000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rocketgo/rocketgo/bin/internal/tlsflag"
	"github.com/rocketgo/rocketgo/bin/internal/version"
	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/conf"
	"github.com/rocketgo/rocketgo/internal/dashboard"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "mqdashboard:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mqdashboard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ns := fs.String("n", os.Getenv("NAMESRV_ADDR"), "NameServer addresses separated by ';' (default $NAMESRV_ADDR)")
	listen := fs.String("listen", ":8080", "HTTP listen address")
	level := fs.String("loglevel", "info", "log level: debug, info, warn, error")
	tlsConfig := tlsflag.Register(fs)
	ak := fs.String("accessKey", os.Getenv("ROCKETMQ_ACCESS_KEY"), "ACL access key that signs every request (default $ROCKETMQ_ACCESS_KEY)")
	ctrl := fs.String("controller", "", "controller addresses separated by ';' for the Controller page (controller mode, docs/failover.md)")
	sk := fs.String("secretKey", os.Getenv("ROCKETMQ_SECRET_KEY"), "ACL secret key (default $ROCKETMQ_SECRET_KEY)")
	if printed, err := version.Parse(fs, args, stdout); printed || err != nil {
		return err
	}
	if *ns == "" {
		return errors.New("-n: a NameServer address is required")
	}
	log, err := conf.NewLogger(stderr, *level)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	tc, err := tlsConfig()
	if err != nil {
		return err
	}
	cfg := dashboard.Config{NameServers: conf.SplitAddrs(*ns), Logger: log, TLS: tc, ControllerAddrs: conf.SplitAddrs(*ctrl)}
	switch {
	case *ak != "" && *sk != "":
		cfg.Credentials = &client.Credentials{AccessKey: *ak, SecretKey: *sk}
	case *ak != "" || *sk != "":
		return errors.New("-accessKey and -secretKey go together")
	}
	srv, err := dashboard.New(cfg)
	if err != nil {
		return err
	}
	defer srv.Close()
	addr, err := srv.Start(ctx, *listen)
	if err != nil {
		return err
	}
	log.Info().Str("addr", addr).Strs("namesrv", conf.SplitAddrs(*ns)).Msg("dashboard listening")
	<-ctx.Done()
	return nil
}
