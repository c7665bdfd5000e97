// Package dashboard serves a web console for a rocketgo (or RocketMQ) cluster, in the
// spirit of rocketmq-dashboard: an HTML/JS single-page UI embedded in the binary and a
// small JSON API behind it. Everything it shows or changes goes through the SDK's
// admin client (client.Admin) — the same requests mqadmin sends — plus one producer for
// the "send a test message" form. Where the admin API has no request for something
// (browsing a topic by time without a key, the broker's static configuration, resending
// one message to a consumer), the UI says so instead of inventing data.
//
//	srv, err := dashboard.New(dashboard.Config{NameServers: []string{"127.0.0.1:9876"}})
//	addr, err := srv.Start(ctx, ":8080")   // serves until ctx ends or Close
//
// The JSON API lives under /api/ (see docs/dashboard.md); bad input is answered 400 with
// {"error": "..."}, a failing broker 502 with the same shape.
package dashboard
