// Package brokerstats keeps the named, keyed counters VIEW_BROKER_STATS_DATA (315)
// reports — Apache's BrokerStatsManager and StatsItem: for each (name, key) a running
// total and call count, sampled every 10 s (minute window, 7 samples), every 10 min
// (hour window, 7 samples) and every hour (day window, 25 samples). A window's figures
// come from its first and last sample: sum = value difference, tps = sum per second
// between them, avgpt = sum per call.
//
// rocketgo counts TOPIC_PUT_NUMS (key: topic; one per message dispatched) and
// GROUP_GET_NUMS (key: "topic@group"; messages served by pulls). Other names are
// unknown, as are keys never counted.
package brokerstats

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
)

// The statistic names rocketgo counts (BrokerStatsManager's constants).
const (
	TopicPutNums = "TOPIC_PUT_NUMS"
	GroupGetNums = "GROUP_GET_NUMS"
)

// The windows: how often each samples and how many samples it keeps (StatsItem.java).
var windows = [3]struct {
	every time.Duration
	keep  int
}{
	{10 * time.Second, 7}, // minute
	{10 * time.Minute, 7}, // hour
	{time.Hour, 25},       // day
}

// snapshot is one sample of an item: when, the total and the number of adds.
type snapshot struct {
	at           time.Time
	value, times int64
}

// item is one (name, key) counter with its three sample rings.
type item struct {
	value, times atomic.Int64
	mu           sync.Mutex
	rings        [3][]snapshot
	last         [3]time.Time
}

// Key names one counter: the statistic and its key, which for GROUP_GET_NUMS is
// "topic@group" — kept apart so counting builds no string.
type Key struct {
	Name         string
	Topic, Group string
}

// parseKey is Key for the (statsName, statsKey) pair of a request.
func parseKey(name, key string) Key {
	if name == GroupGetNums {
		if i := strings.LastIndexByte(key, '@'); i >= 0 {
			return Key{Name: name, Topic: key[:i], Group: key[i+1:]}
		}
	}
	return Key{Name: name, Topic: key}
}

// Set is every counter of one broker. The zero value is not usable; use New.
type Set struct {
	now   func() time.Time
	mu    sync.RWMutex
	items map[Key]*item
}

// New returns an empty Set reading the time from now.
func New(now func() time.Time) *Set { return &Set{now: now, items: map[Key]*item{}} }

// Add counts n for k: one call, n units. It is safe from any goroutine and costs a
// map lookup under a read lock and two atomic adds once the item exists.
func (s *Set) Add(k Key, n int64) {
	s.mu.RLock()
	it := s.items[k]
	s.mu.RUnlock()
	if it == nil {
		it = s.create(k)
	}
	it.value.Add(n)
	it.times.Add(1)
}

// create adds the item of k. A new item starts with a zero sample in every window, so
// its first adds fall inside its windows rather than before them.
func (s *Set) create(k Key) *item {
	s.mu.Lock()
	defer s.mu.Unlock()
	if it := s.items[k]; it != nil {
		return it
	}
	it := &item{}
	now := s.now()
	for w := range it.rings {
		it.rings[w] = []snapshot{{at: now}}
		it.last[w] = now
	}
	s.items[k] = it
	return it
}

// Sample takes the samples that are due at now; the broker calls it on its
// housekeeping tick (every few seconds).
func (s *Set) Sample() {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, it := range s.items {
		it.mu.Lock()
		for w, win := range windows {
			if now.Sub(it.last[w]) < win.every {
				continue
			}
			it.last[w] = now
			it.rings[w] = append(it.rings[w], snapshot{at: now, value: it.value.Load(), times: it.times.Load()})
			if over := len(it.rings[w]) - win.keep; over > 0 {
				it.rings[w] = append(it.rings[w][:0], it.rings[w][over:]...)
			}
		}
		it.mu.Unlock()
	}
}

// Get returns the minute, hour and day figures of (name, key); ok is false for an item
// never counted.
func (s *Set) Get(name, key string) (d body.BrokerStatsData, ok bool) {
	s.mu.RLock()
	it := s.items[parseKey(name, key)]
	s.mu.RUnlock()
	if it == nil {
		return d, false
	}
	it.mu.Lock()
	defer it.mu.Unlock()
	d.StatsMinute = compute(it.rings[0])
	d.StatsHour = compute(it.rings[1])
	d.StatsDay = compute(it.rings[2])
	return d, true
}

// compute is StatsItem.computeStatsData over one ring.
func compute(ring []snapshot) body.BrokerStatsItem {
	var out body.BrokerStatsItem
	if len(ring) == 0 {
		return out
	}
	first, last := ring[0], ring[len(ring)-1]
	out.Sum = last.value - first.value
	if ms := last.at.Sub(first.at).Milliseconds(); ms > 0 {
		out.Tps = float64(out.Sum) * 1000 / float64(ms)
	}
	if calls := last.times - first.times; calls > 0 {
		out.Avgpt = float64(out.Sum) / float64(calls)
	}
	return out
}
