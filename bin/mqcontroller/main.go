// Command mqcontroller runs one controller of controller mode (docs/failover.md) as its
// own program: three of them, each with the same controllerDLegerPeers and its own
// controllerDLegerSelfId, elect the masters of the broker groups and tolerate the loss
// of one.
//
//	mqcontroller -peers 'n0-10.0.0.1:9877;n1-10.0.0.2:9877;n2-10.0.0.3:9877' -self n0 -listen 0.0.0.0:9878 -store /data/controller
//	mqcontroller -c namesrv.yaml         # the namesrv.controller section of a rocketgo YAML
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rocketgo/rocketgo/bin/internal/version"
	"github.com/rocketgo/rocketgo/conf"
	"github.com/rocketgo/rocketgo/namesrv/controller"
)

func main() {
	version.Exit("mqcontroller", run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mqcontroller", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("c", "", "rocketgo YAML whose namesrv.controller section configures the controller; \"\" for defaults")
	peers := fs.String("peers", "", "controllerDLegerPeers: id-host:port;... (Raft addresses)")
	self := fs.String("self", "", "controllerDLegerSelfId")
	listen := fs.String("listen", "", "remoting listen address brokers and mqadmin call (default 0.0.0.0:9878)")
	storePath := fs.String("store", "", "controllerStorePath")
	unclean := fs.Bool("enableElectUncleanMaster", false, "elect outside the SyncStateSet when none of it is alive (loses acknowledged messages)")
	scan := fs.Duration("scan", 0, "scanNotActiveBrokerInterval (default 1s)")
	hbTimeout := fs.Duration("heartbeatTimeout", 0, "controllerHeartBeatTimeoutMills for brokers that name none (default 10s)")
	logOpts := conf.RegisterLogFlags(fs)
	if printed, err := version.Parse(fs, args, stdout); printed || err != nil {
		return err
	}
	log, logFile, err := conf.OpenLogger(stderr, *logOpts)
	if err != nil {
		return err
	}
	defer logFile.Close()
	o := controller.DefaultOptions()
	if *cfgPath != "" {
		cfg, _, err := conf.LoadFile(*cfgPath, conf.Namesrv)
		if err != nil {
			return err
		}
		o = cfg.Namesrv.Controller
	}
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&o.Peers, *peers)
	set(&o.SelfID, *self)
	set(&o.ListenAddr, *listen)
	set(&o.StorePath, *storePath)
	o.EnableElectUncleanMaster = o.EnableElectUncleanMaster || *unclean
	for _, d := range []struct {
		dst *time.Duration
		v   time.Duration
	}{{&o.ScanNotActiveBrokerInterval, *scan}, {&o.DefaultHeartbeatTimeout, *hbTimeout}} {
		if d.v > 0 {
			*d.dst = d.v
		}
	}
	o.Logger = log
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	s, err := controller.StartStandalone(ctx, o)
	if err != nil {
		return fmt.Errorf("start controller: %w", err)
	}
	log.Info().Str("addr", s.Addr()).Str("self", o.SelfID).Str("peers", o.Peers).Str("store", o.StorePath).Msg("controller listening")
	<-ctx.Done()
	log.Info().Msg("shutting down")
	return s.Close()
}
