// Package client is the Go SDK of rocketgo: producers, push and pull consumers and an
// admin client that speak the RocketMQ 4.x remoting protocol, so they work against
// rocketgo brokers and Apache RocketMQ brokers alike.
//
// # Producing
//
//	p, err := client.NewProducer(
//		client.WithNameServer("10.0.0.1:9876"),
//		client.WithProducerGroup("orders-producer"),
//	)
//	if err := p.Start(ctx); err != nil { ... }
//	defer p.Shutdown(ctx)
//	res, err := p.Send(ctx, client.NewMessage("orders", payload).WithTags("paid").WithKeys(id))
//
// Send waits for the broker; SendAsync calls back; SendOneway does not wait at all.
// Several messages of one topic given to one call go as one batch (SEND_BATCH_MESSAGE)
// and are stored together on one queue. Bodies of 4 KiB or more are zlib-compressed.
// Queues are chosen round robin, skipping brokers that failed or answered slowly
// lately (FaultPolicy); SelectByShardingKey keeps messages with one key on one queue.
// A failed attempt is retried on another broker for transport errors and the codes
// SYSTEM_ERROR, SERVICE_NOT_AVAILABLE, NO_PERMISSION and TOPIC_NOT_EXIST.
//
// # Administration
//
// Admin creates, lists, routes and deletes topics, reports consumer progress (lag per
// queue), looks messages up by id or key, and resets a group's offsets to a time.
//
// # What the clients share
//
// Every producer, consumer and admin client of a process that has the same client id
// ("ip@pid", or "ip@instanceName" with WithInstanceName) and the same NameServers shares
// one instance: one TCP connection per broker, one route cache (refreshed every 30 s),
// one heartbeat (every 30 s, and at once when a new broker appears) announcing all their
// groups. The instance's goroutines and connections end when its last user shuts down.
// Its logger and timers are those of the client that created it.
//
//	producer ─┐                       ┌─ GET_ROUTEINFO_BY_TOPIC (105) ─▶ NameServers (next on failure)
//	consumer ─┼─▶ instance ─ routes ───┤
//	admin    ─┘      │                 └─ broker table: brokerName → brokerId → addr
//	                 ├─ heartbeat: HEART_BEAT (34) to masters, or every member with consumers
//	                 └─ handlers of requests brokers start (39, 40, 220, 307, 309 ...)
//
// # Namespaces
//
// WithNamespace("ns") puts every topic and group in namespace ns on the wire ("ns%T",
// "%RETRY%ns%G", RocketMQ's NamespaceUtil rules); everything handed back to the caller
// — send results, consumed messages, admin listings — shows the names without it.
//
// # Errors
//
// Errors wrap the package's sentinels (ErrInvalidMessage, ErrTopicNotExist, ...) and,
// when a server answered with an error code, a *BrokerError carrying the code and
// remark: use errors.Is, errors.As or CodeOf. No call panics on a malformed answer; it
// fails with ErrBadResponse.
package client
