package client

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// queuesOf returns n queues of topic T spread over brokers in Java sort order.
func queuesOf(brokers []string, perBroker int) []MessageQueue {
	var qs []MessageQueue
	for _, b := range brokers {
		for i := 0; i < perBroker; i++ {
			qs = append(qs, MessageQueue{Topic: "T", BrokerName: b, QueueID: int32(i)})
		}
	}
	return qs
}

// ids renders queue ids as "broker/id" for readable failures.
func ids(qs []MessageQueue) []string {
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = fmt.Sprintf("%s/%d", q.BrokerName, q.QueueID)
	}
	return out
}

// TestAllocateAveragelyKnown checks RocketMQ's averaging on inputs whose answers were
// worked out by hand from AllocateMessageQueueAveragely.java.
func TestAllocateAveragelyKnown(t *testing.T) {
	tests := []struct {
		name    string
		queues  []MessageQueue
		clients []string
		want    map[string][]string
	}{
		{
			name:    "10 queues 4 clients",
			queues:  queuesOf([]string{"a"}, 10),
			clients: []string{"c0", "c1", "c2", "c3"},
			want: map[string][]string{
				"c0": {"a/0", "a/1", "a/2"}, "c1": {"a/3", "a/4", "a/5"},
				"c2": {"a/6", "a/7"}, "c3": {"a/8", "a/9"},
			},
		},
		{
			name:    "8 queues on 2 brokers 3 clients",
			queues:  queuesOf([]string{"broker-a", "broker-b"}, 4),
			clients: []string{"10.0.0.1@1", "10.0.0.1@2", "10.0.0.2@1"},
			want: map[string][]string{
				"10.0.0.1@1": {"broker-a/0", "broker-a/1", "broker-a/2"},
				"10.0.0.1@2": {"broker-a/3", "broker-b/0", "broker-b/1"},
				"10.0.0.2@1": {"broker-b/2", "broker-b/3"},
			},
		},
		{
			name:    "3 queues 5 clients",
			queues:  queuesOf([]string{"a"}, 3),
			clients: []string{"c0", "c1", "c2", "c3", "c4"},
			want:    map[string][]string{"c0": {"a/0"}, "c1": {"a/1"}, "c2": {"a/2"}, "c3": {}, "c4": {}},
		},
		{
			name:    "4 queues 4 clients",
			queues:  queuesOf([]string{"a"}, 4),
			clients: []string{"c0", "c1", "c2", "c3"},
			want:    map[string][]string{"c0": {"a/0"}, "c1": {"a/1"}, "c2": {"a/2"}, "c3": {"a/3"}},
		},
		{
			name:    "5 queues 2 clients",
			queues:  queuesOf([]string{"a"}, 5),
			clients: []string{"c0", "c1"},
			want:    map[string][]string{"c0": {"a/0", "a/1", "a/2"}, "c1": {"a/3", "a/4"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for cid, want := range tt.want {
				got := ids(AllocateAveragely("g", cid, tt.queues, tt.clients))
				if !slices.Equal(got, want) {
					t.Errorf("%s: got %v, want %v", cid, got, want)
				}
			}
		})
	}
}

func TestAllocateUnknownClientGetsNothing(t *testing.T) {
	qs := queuesOf([]string{"a"}, 4)
	for _, s := range []AllocateStrategy{AllocateAveragely, AllocateAveragelyCircle} {
		if got := s("g", "stranger", qs, []string{"c0", "c1"}); len(got) != 0 {
			t.Errorf("stranger got %v", ids(got))
		}
		if got := s("g", "", qs, []string{"c0"}); len(got) != 0 {
			t.Errorf("empty id got %v", ids(got))
		}
		if got := s("g", "c0", nil, []string{"c0"}); len(got) != 0 {
			t.Errorf("no queues: got %v", ids(got))
		}
	}
}

func TestAllocateAveragelyCircleKnown(t *testing.T) {
	qs := queuesOf([]string{"a"}, 7)
	clients := []string{"c0", "c1", "c2"}
	want := map[string][]string{"c0": {"a/0", "a/3", "a/6"}, "c1": {"a/1", "a/4"}, "c2": {"a/2", "a/5"}}
	for cid, w := range want {
		if got := ids(AllocateAveragelyCircle("g", cid, qs, clients)); !slices.Equal(got, w) {
			t.Errorf("%s: got %v, want %v", cid, got, w)
		}
	}
}

// TestAllocatePartitions checks, for many random sizes, that every strategy hands each
// queue to exactly one member, and that averaging gives contiguous shares whose sizes
// differ by at most one, bigger shares first.
func TestAllocatePartitions(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := 0; round < 500; round++ {
		nq, nc := r.IntN(40)+1, r.IntN(12)+1
		qs := queuesOf([]string{"a", "b"}, nq)
		var clients []string
		for i := 0; i < nc; i++ {
			clients = append(clients, fmt.Sprintf("10.0.0.%d@%d", i, r.IntN(1000)))
		}
		qs, clients = allocationInput(qs, clients)
		for name, s := range map[string]AllocateStrategy{"avg": AllocateAveragely, "circle": AllocateAveragelyCircle} {
			owner := map[MessageQueue]string{}
			var sizes []int
			for _, cid := range clients {
				got := s("g", cid, qs, clients)
				sizes = append(sizes, len(got))
				for _, q := range got {
					if prev, dup := owner[q]; dup {
						t.Fatalf("%s nq=%d nc=%d: %v given to %s and %s", name, len(qs), nc, q, prev, cid)
					}
					owner[q] = cid
				}
				if name == "avg" && len(got) > 0 {
					first := slices.Index(qs, got[0])
					for i, q := range got {
						if qs[first+i] != q {
							t.Fatalf("avg share of %s not contiguous: %v", cid, ids(got))
						}
					}
				}
			}
			if len(owner) != len(qs) {
				t.Fatalf("%s nq=%d nc=%d: %d of %d queues allocated", name, len(qs), nc, len(owner), len(qs))
			}
			if name == "avg" {
				for i := 1; i < len(sizes); i++ {
					if sizes[i] > sizes[i-1] || sizes[0]-sizes[i] > 1 {
						t.Fatalf("avg sizes %v not balanced", sizes)
					}
				}
			}
		}
	}
}

// TestAllocateNormalizesInput checks that the same shares come out whatever order (and
// duplication) the route and the member list arrive in, as every member must compute
// them alike.
func TestAllocateNormalizesInput(t *testing.T) {
	qs := queuesOf([]string{"broker-b", "broker-a"}, 3)
	clients := []string{"c1", "c0", "", "c1"}
	shuffled := slices.Clone(qs)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	shuffled = append(shuffled, shuffled[0])
	got0 := ids(allocate(AllocateAveragely, "g", "c0", shuffled, clients))
	got1 := ids(allocate(AllocateAveragely, "g", "c1", qs, clients))
	if want := []string{"broker-a/0", "broker-a/1", "broker-a/2"}; !slices.Equal(got0, want) {
		t.Errorf("c0: got %v, want %v", got0, want)
	}
	if want := []string{"broker-b/0", "broker-b/1", "broker-b/2"}; !slices.Equal(got1, want) {
		t.Errorf("c1: got %v, want %v", got1, want)
	}
}

// TestAllocateFixedFiltersUnknownQueues checks that a fixed strategy cannot start
// queues the topic does not have.
func TestAllocateFixedFiltersUnknownQueues(t *testing.T) {
	qs := queuesOf([]string{"a"}, 2)
	s := AllocateFixed(MessageQueue{Topic: "T", BrokerName: "a", QueueID: 1}, MessageQueue{Topic: "T", BrokerName: "a", QueueID: 9},
		MessageQueue{Topic: "Other", BrokerName: "a", QueueID: 0})
	if got, want := ids(allocate(s, "g", "c0", qs, []string{"c0"})), []string{"a/1"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func BenchmarkAllocateAveragely(b *testing.B) {
	qs := queuesOf([]string{"broker-a", "broker-b", "broker-c", "broker-d"}, 16)
	var clients []string
	for i := 0; i < 10; i++ {
		clients = append(clients, fmt.Sprintf("10.0.0.%d@100", i))
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = allocate(AllocateAveragely, "g", clients[i%len(clients)], qs, clients)
	}
}
