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
// # Consuming
//
// A PushConsumer calls a listener with the messages of the topics it subscribes to:
//
//	c, err := client.NewPushConsumer(
//		client.WithNameServer("10.0.0.1:9876"),
//		client.WithConsumerGroup("billing"),
//		client.WithConsumeFrom(client.ConsumeFromFirstOffset),
//	)
//	err = c.Subscribe("orders", client.ByTag("paid || refunded"),
//		func(ctx context.Context, msgs []*client.MessageExt) (client.ConsumeResult, error) {
//			for _, m := range msgs {
//				if err := bill(ctx, m.Body); err != nil {
//					return client.ConsumeRetryLater, err
//				}
//			}
//			return client.ConsumeSuccess, nil
//		})
//	err = c.Start(ctx)
//	defer c.Shutdown(ctx)
//
// Clustering (the default) shares each topic's queues among the live members of the
// group, so each message goes to one member; the members rebalance at once when the
// broker reports a member came or went (NOTIFY_CONSUMER_IDS_CHANGED) and every 20 s
// regardless (WithRebalanceInterval), dividing queues with AllocateAveragely unless
// WithAllocateStrategy says otherwise. Offsets are kept by the brokers: committed every
// 5 s (WithCommitInterval), when a queue moves to another member and at Shutdown.
// WithMessageModel(Broadcasting) gives every member every message instead; each member
// keeps its offsets in a local file (WithOffsetDir).
//
// Listeners run concurrently by default, on up to 20 goroutines (WithConsumeGoroutines),
// given one message per call (WithConsumeBatchSize). WithConsumeOrderly consumes each
// queue on one goroutine in queue order instead and, in clustering mode, only while the
// member holds the broker's lock on the queue, so messages with one sharding key
// (SelectByShardingKey on the producer side) are handled one after the other.
//
// A group without a committed offset on a queue starts where WithConsumeFrom says: the
// end of the queue (ConsumeFromLastOffset, the default; a young queue is read from its
// start), its oldest message (ConsumeFromFirstOffset), or a point in time
// (WithConsumeTimestamp). A committed offset always wins.
//
// Flow control: each queue's pulls pause while more than 1000 of its messages, or
// 100 MiB of their bodies, wait for the listener (WithQueueCacheLimits), and, for
// concurrent consumers, while its oldest and newest cached offsets are more than 2000
// apart, since one slow message holds the committed offset back.
//
// Retry: a listener's ConsumeRetryLater, error or panic fails its messages. A
// concurrent clustering consumer sends each back to the broker (CONSUMER_SEND_MSG_BACK),
// which redelivers it through the group's retry topic %RETRY%group — subscribed
// automatically — after a delay growing with each attempt (10 s, 30 s, 1 min, ...), and
// after 16 attempts (WithMaxReconsumeTimes) moves it to the dead-letter topic
// %DLQ%group; if the send-back fails, the consumer keeps the message and retries it
// itself after WithRetryDelay. An orderly consumer suspends the queue for a second
// (WithSuspendInterval) and retries the same messages, keeping their order. A
// broadcasting consumer logs failed messages and drops them. Delivery is at least once:
// after a crash or a rebalance, messages consumed but not yet committed come again.
//
// A PullConsumer (RocketMQ's lite pull consumer) lets the application fetch instead.
// Subscribe shares topics with the group exactly as a push consumer does; Assign reads
// fixed queues without rebalancing (the two do not mix). Messages are pulled in the
// background into a bounded buffer; Poll returns the next batch (up to 10,
// WithPollBatchSize) or waits for one. Seek, SeekToBeginning and SeekToEnd move a
// queue's position; Committed reads the group's committed offset. Polled messages count
// as consumed: with auto commit (the default) their offsets are committed periodically,
// on rebalance and at Shutdown; WithAutoCommit(false) commits only on CommitSync or
// CommitAsync, so what was polled but not committed comes again after a restart.
//
//	pc, err := client.NewPullConsumer(client.WithNameServer(ns), client.WithConsumerGroup("audit"),
//		client.WithAutoCommit(false))
//	err = pc.Subscribe("orders", client.SelectAll)
//	err = pc.Start(ctx)
//	for {
//		msgs, err := pc.Poll(ctx)
//		if err != nil { ... }
//		store(msgs)
//		err = pc.CommitSync(ctx)
//	}
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
