// Command mqadmin administers a rocketgo (or RocketMQ 4.x) cluster with Apache
// RocketMQ's mqadmin commands: `mqadmin help` lists them. The commands live in
// internal/admincli.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/rocketgo/rocketgo/internal/admincli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := admincli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
