package client

import (
	"hash/fnv"
	"math/rand/v2"
	"sync/atomic"
)

// QueueSelector chooses the queue a message is sent to among the writable queues of its
// topic (sorted by broker name, then queue id). It is called once per attempt and must
// be safe for concurrent use; it must return one of the queues it is given.
type QueueSelector interface {
	Select(msg *Message, queues []MessageQueue) MessageQueue
}

// QueueSelectorFunc adapts a function to QueueSelector.
type QueueSelectorFunc func(msg *Message, queues []MessageQueue) MessageQueue

// Select implements QueueSelector.
func (f QueueSelectorFunc) Select(msg *Message, queues []MessageQueue) MessageQueue {
	return f(msg, queues)
}

// roundRobin is the default selector. The producer does not call it: it recognises it
// and picks queues itself, rotating over the queues while avoiding the broker of the
// failed attempt and brokers the fault table marks as slow or failing.
type roundRobin struct{ next atomic.Uint32 }

// Select implements QueueSelector: plain rotation, for use outside a producer.
func (r *roundRobin) Select(_ *Message, queues []MessageQueue) MessageQueue {
	return queues[int(r.next.Add(1)-1)%len(queues)]
}

// RoundRobin returns the default selector: every send goes to the next queue, skipping
// brokers that failed or answered slowly lately (see FaultPolicy), and a retry goes to
// another broker than the failed attempt when there is one.
func RoundRobin() QueueSelector { return &roundRobin{} }

// shardingKey selects by a hash of the message's sharding key.
type shardingKey struct{ fallback roundRobin }

// Select implements QueueSelector.
func (s *shardingKey) Select(msg *Message, queues []MessageQueue) MessageQueue {
	key := msg.ShardingKey()
	if key == "" {
		return s.fallback.Select(msg, queues)
	}
	return queues[hashKey(key)%uint32(len(queues))]
}

// SelectByShardingKey returns a selector that sends every message with the same
// sharding key (Message.WithShardingKey) to the same queue while the topic's queues do
// not change, so a consumer sees them in send order. The queue is the FNV-1a hash of
// the key modulo the number of queues, as the official client's hash selector.
// Messages without a sharding key go round robin. Retries of such a send stay on the
// same queue: moving it would break the order.
func SelectByShardingKey() QueueSelector { return &shardingKey{} }

// hashKey is the 32-bit FNV-1a hash of key.
func hashKey(key string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return h.Sum32()
}

// random selects a random queue.
type random struct{}

// Select implements QueueSelector.
func (random) Select(_ *Message, queues []MessageQueue) MessageQueue {
	return queues[rand.IntN(len(queues))]
}

// SelectRandom returns a selector that picks a random queue for every send.
func SelectRandom() QueueSelector { return random{} }

// pickQueue is the default (round-robin) choice of the producer: the next queue in
// rotation whose broker is not lastBroker (the broker of the attempt that just failed)
// and is not being avoided; failing that, any queue not on lastBroker; failing that,
// the next queue. faults may be nil (fault avoidance off).
func pickQueue(queues []MessageQueue, counter *atomic.Uint32, lastBroker string, faults *faultTable) MessageQueue {
	n := len(queues)
	start := int(counter.Add(1) - 1)
	if faults != nil {
		for i := 0; i < n; i++ {
			q := queues[(start+i)%n]
			if q.BrokerName != lastBroker && faults.available(q.BrokerName) {
				return q
			}
		}
		// Every broker is avoided: go to the one that recovers first.
		names := make([]string, 0, 4)
		for _, q := range queues {
			if q.BrokerName != lastBroker && (len(names) == 0 || names[len(names)-1] != q.BrokerName) {
				names = append(names, q.BrokerName)
			}
		}
		if best := faults.leastBad(names); best != "" {
			for i := 0; i < n; i++ {
				if q := queues[(start+i)%n]; q.BrokerName == best {
					return q
				}
			}
		}
	}
	for i := 0; i < n; i++ {
		if q := queues[(start+i)%n]; q.BrokerName != lastBroker {
			return q
		}
	}
	return queues[start%n]
}
