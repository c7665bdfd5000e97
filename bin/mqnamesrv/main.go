// Command mqnamesrv runs a rocketgo NameServer: the route table brokers register with
// and clients ask for topic routes.
//
//	mqnamesrv [-c conf/namesrv.yaml | -c namesrv.properties] [-listen 0.0.0.0:9876] [-loglevel info]
//	mqnamesrv -p         # print the effective configuration and exit
//	mqnamesrv -version
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/rocketgo/rocketgo/bin/internal/version"
	"github.com/rocketgo/rocketgo/conf"
	"github.com/rocketgo/rocketgo/namesrv"
)

func main() {
	version.Exit("mqnamesrv", run(os.Args[1:], os.Stdout, os.Stderr))
}

// run starts the NameServer as args say; -p and -version print to stdout and return.
func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mqnamesrv", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", "", "configuration file: rocketgo YAML (conf/namesrv.yaml), or Apache's namesrv.properties")
	listen := fs.String("listen", "", "listen address, overrides namesrv.listenAddr")
	printCfg := fs.Bool("p", false, "print the effective configuration as key=value lines and exit")
	logOpts := conf.RegisterLogFlags(fs)
	if printed, err := version.Parse(fs, args, stdout); printed || err != nil {
		return err
	}
	log, logFile, err := conf.OpenLogger(stderr, *logOpts)
	if err != nil {
		return err
	}
	defer logFile.Close()
	log.Info().Str("version", version.String("mqnamesrv")).Msg("starting")
	cfg, warnings, err := conf.LoadFile(*cfgPath, conf.Namesrv)
	if err != nil {
		return err
	}
	if *listen != "" {
		cfg.Namesrv.ListenAddr = *listen
	}
	if err := cfg.Namesrv.Validate(); err != nil {
		return err
	}
	settings := conf.Settings(cfg, conf.Namesrv)
	if *printCfg {
		return conf.WriteProperties(stdout, settings)
	}
	conf.Announce(log, settings, warnings)
	cfg.Namesrv.Logger = log
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
