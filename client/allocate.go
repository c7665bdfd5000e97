package client

import (
	"slices"
	"strings"
)

// AllocateStrategy decides which of a topic's queues one member of a clustering consumer
// group reads. It is called on every rebalance with every readable queue of the topic
// and every client id of the group, both sorted the way RocketMQ sorts them (queues by
// topic, broker name, queue id; client ids as strings) and free of duplicates. It must
// be a pure function of its arguments: every member of the group computes its own share
// from the same inputs, and the shares only add up to the whole topic when each member
// runs the same function. It must not keep or modify the slices it is given.
//
// A queue given to no member is not consumed; a queue given to two members is consumed
// twice. AllocateAveragely, the default, is RocketMQ's AllocateMessageQueueAveragely,
// so a group mixing rocketgo consumers with Java or official Go consumers splits its
// queues exactly as an all-RocketMQ group would.
type AllocateStrategy func(group, clientID string, queues []MessageQueue, clientIDs []string) []MessageQueue

// AllocateAveragely is RocketMQ's default strategy (AllocateMessageQueueAveragely): the
// sorted queues are cut into len(clientIDs) contiguous ranges, the first
// len(queues) % len(clientIDs) members taking one queue more than the rest. With more
// members than queues, the members after the last queue get nothing. A clientID not in
// clientIDs gets nothing.
//
// Example, 8 queues q0..q7 and 3 members: member 0 gets q0 q1 q2, member 1 q3 q4 q5,
// member 2 q6 q7.
func AllocateAveragely(_, clientID string, queues []MessageQueue, clientIDs []string) []MessageQueue {
	index := slices.Index(clientIDs, clientID)
	if clientID == "" || index < 0 || len(queues) == 0 {
		return nil
	}
	nq, nc := len(queues), len(clientIDs)
	mod := nq % nc
	size := 1
	if nq > nc {
		size = nq / nc
		if mod > 0 && index < mod {
			size++
		}
	}
	start := index*size + mod
	if mod > 0 && index < mod {
		start = index * size
	}
	n := min(size, nq-start)
	out := make([]MessageQueue, 0, max(n, 0))
	for i := 0; i < n; i++ {
		out = append(out, queues[(start+i)%nq])
	}
	return out
}

// AllocateAveragelyCircle is RocketMQ's AllocateMessageQueueAveragelyByCircle: queue i
// goes to member i % len(clientIDs), dealing the queues out like cards. Brokers' queues
// are then spread over the members rather than kept together.
func AllocateAveragelyCircle(_, clientID string, queues []MessageQueue, clientIDs []string) []MessageQueue {
	index := slices.Index(clientIDs, clientID)
	if clientID == "" || index < 0 || len(queues) == 0 {
		return nil
	}
	var out []MessageQueue
	for i := index; i < len(queues); i += len(clientIDs) {
		out = append(out, queues[i])
	}
	return out
}

// AllocateFixed returns a strategy that always takes exactly the given queues, whatever
// the group's members (RocketMQ's AllocateMessageQueueByConfig). Each member of the
// group must then be configured with a disjoint set, or queues are read twice.
func AllocateFixed(queues ...MessageQueue) AllocateStrategy {
	fixed := slices.Clone(queues)
	return func(_, _ string, _ []MessageQueue, _ []string) []MessageQueue {
		return slices.Clone(fixed)
	}
}

// cmpQueue orders queues as RocketMQ's MessageQueue.compareTo (and the official Go
// client's rebalance sort) do: topic, broker name, then queue id. Names compare as
// bytes, as the Go client compares them; Java's UTF-16 order differs only for names
// mixing characters above U+FFFF with ones in U+E000..U+FFFF, which topic and broker
// names cannot hold ([%|a-zA-Z0-9_-] only).
func cmpQueue(a, b MessageQueue) int {
	if c := strings.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	if c := strings.Compare(a.BrokerName, b.BrokerName); c != 0 {
		return c
	}
	switch {
	case a.QueueID < b.QueueID:
		return -1
	case a.QueueID > b.QueueID:
		return 1
	}
	return 0
}

// allocationInput returns sorted, duplicate-free copies of a topic's queues and of the
// group's client ids: the exact input every member must give the strategy. Empty client
// ids are dropped; they are never a member's id.
func allocationInput(queues []MessageQueue, clientIDs []string) ([]MessageQueue, []string) {
	qs := slices.Clone(queues)
	slices.SortFunc(qs, cmpQueue)
	qs = slices.Compact(qs)
	ids := make([]string, 0, len(clientIDs))
	for _, id := range clientIDs {
		if id != "" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return qs, slices.Compact(ids)
}

// allocate runs strategy over the normalized input and keeps only queues of the input:
// a strategy answer naming a queue the topic does not have (a stale AllocateFixed list,
// a buggy custom strategy) must not start a pull loop on a queue that does not exist.
// The result is sorted and duplicate free.
func allocate(strategy AllocateStrategy, group, clientID string, queues []MessageQueue, clientIDs []string) []MessageQueue {
	qs, ids := allocationInput(queues, clientIDs)
	got := strategy(group, clientID, slices.Clone(qs), slices.Clone(ids))
	out := make([]MessageQueue, 0, len(got))
	for _, q := range got {
		if _, ok := slices.BinarySearchFunc(qs, q, cmpQueue); ok {
			out = append(out, q)
		}
	}
	slices.SortFunc(out, cmpQueue)
	return slices.Compact(out)
}
