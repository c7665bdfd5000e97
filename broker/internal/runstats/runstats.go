// Package runstats owns the broker's runtime statistics beyond the store's own totals:
// the samples behind the put and get TPS windows, the day-boundary snapshots, the
// messages served by pulls and each consumer group's committed progress, and Java's
// formatting of those figures. The broker root samples it on the client table's
// housekeeping tick and reports it in GET_BROKER_RUNTIME_INFO and GET_CONSUME_STATS.
package runstats

import (
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/broker/clients"
)

// statsWindows are Java's TPS windows (StoreStatsService: 10 s, 1 min, 10 min); the
// samples are taken on the housekeeping tick, clients.ScanInterval, which divides them.
var statsWindows = [...]time.Duration{10 * time.Second, time.Minute, 10 * time.Minute}

// consumeTpsWindow is the window of a group's consumeTps (Java's per-minute figure).
const consumeTpsWindow = time.Minute

// Totals is one housekeeping-tick reading of the broker's totals.
type Totals struct {
	At   time.Time
	Puts int64
	Gets int64
}

// offsetSample is a group's committed-offset sum over a topic's queues at one tick.
type offsetSample struct {
	at  time.Time
	sum int64
}

// Runtime keeps what GET_BROKER_RUNTIME_INFO and GET_CONSUME_STATS report beyond the
// store's own totals: the samples behind the TPS figures, the day-boundary snapshots
// behind msgPutTotalTodayMorning and friends, and the messages served by pulls.
//
// It is sampled on the client table's housekeeping tick (every clients.ScanInterval).
// Methods are safe from any goroutine.
type Runtime struct {
	boot time.Time
	gets atomic.Int64 // messages handed out by pulls since boot

	mu struct {
		sync.Mutex
		ring []Totals // oldest first, covering the longest window
		day  int      // the local day (yyyymmdd) of todayMorning
		// totals at the start of today and of yesterday (msg*TotalTodayMorning,
		// msg*TotalYesterdayMorning)
		todayMorning, yesterdayMorning Totals
		groups                         map[clients.GroupTopic][]offsetSample // oldest first
	}
}

// New returns the statistics of a broker booted at now.
func New(now time.Time) *Runtime {
	s := &Runtime{boot: now}
	s.mu.day = dayOf(now)
	s.mu.groups = make(map[clients.GroupTopic][]offsetSample)
	return s
}

// Boot returns when the broker booted.
func (s *Runtime) Boot() time.Time { return s.boot }

// Gets returns the messages handed out by pulls since boot.
func (s *Runtime) Gets() int64 { return s.gets.Load() }

// dayOf is the local day of t as yyyymmdd.
func dayOf(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

// CountPulled records n messages served to a consumer by a pull; it feeds
// msgGetTotalTodayNow and getTransferedTps. Cheap enough for the pull path: one atomic
// add.
func (s *Runtime) CountPulled(n int) {
	s.gets.Add(int64(n))
}

// Sample records the totals at now and rolls the day snapshots at local midnight.
func (s *Runtime) Sample(now time.Time, puts int64) {
	cur := Totals{At: now, Puts: puts, Gets: s.gets.Load()}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := dayOf(now); d != s.mu.day {
		s.mu.yesterdayMorning = s.mu.todayMorning
		s.mu.todayMorning = cur
		s.mu.day = d
	}
	s.mu.ring = append(s.mu.ring, cur)
	keep := statsWindows[len(statsWindows)-1] + clients.ScanInterval
	for len(s.mu.ring) > 1 && now.Sub(s.mu.ring[0].At) > keep {
		s.mu.ring = s.mu.ring[1:]
	}
}

// TPS returns "w10 w60 w600", the put and get rates over each window, formatted as Java
// does (space-separated decimals; mqadmin clusterList parses the first). Each window is
// measured from the newest sample at least that old, or from the oldest sample while
// the broker is younger than the window; with no sample yet the rates are 0.
func (s *Runtime) TPS(now time.Time, puts int64) (putTps, getTps string) {
	cur := Totals{At: now, Puts: puts, Gets: s.gets.Load()}
	s.mu.Lock()
	defer s.mu.Unlock()
	var p, g []byte
	for i, w := range statsWindows {
		if i > 0 {
			p, g = append(p, ' '), append(g, ' ')
		}
		var pr, gr float64
		if base, ok := baseSample(s.mu.ring, now, w); ok {
			secs := now.Sub(base.At).Seconds()
			pr, gr = rate(cur.Puts-base.Puts, secs), rate(cur.Gets-base.Gets, secs)
		}
		p, g = AppendJavaDouble(p, pr), AppendJavaDouble(g, gr)
	}
	return string(p), string(g)
}

// baseSample picks the sample a window of length w starts from: the newest one at least
// w old, else the oldest one.
func baseSample(ring []Totals, now time.Time, w time.Duration) (Totals, bool) {
	for j := len(ring) - 1; j >= 0; j-- {
		if now.Sub(ring[j].At) >= w {
			return ring[j], true
		}
	}
	if len(ring) > 0 {
		return ring[0], true
	}
	return Totals{}, false
}

// Mornings returns the totals at the start of today and of yesterday.
func (s *Runtime) Mornings() (today, yesterday Totals) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.todayMorning, s.mu.yesterdayMorning
}

// SampleGroups records, for each online consumer group and topic, the sum of its
// committed offsets: its growth over a minute is the group's consumeTps.
func (s *Runtime) SampleGroups(now time.Time, sums map[clients.GroupTopic]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range sums {
		r := append(s.mu.groups[k], offsetSample{at: now, sum: v})
		for len(r) > 1 && now.Sub(r[0].at) > consumeTpsWindow+clients.ScanInterval {
			r = r[1:]
		}
		s.mu.groups[k] = r
	}
	// A group that went offline stops being sampled; forget it so departed groups do
	// not accumulate.
	for k := range s.mu.groups {
		if _, ok := sums[k]; !ok {
			delete(s.mu.groups, k)
		}
	}
}

// ConsumeTps is group's rate of committed progress on topic over the last minute, given
// its current offset sum; 0 before two samples exist.
func (s *Runtime) ConsumeTps(k clients.GroupTopic, now time.Time, sum int64) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.mu.groups[k]
	if len(r) == 0 {
		return 0
	}
	base := r[0]
	for j := len(r) - 1; j >= 0; j-- {
		if now.Sub(r[j].at) >= consumeTpsWindow {
			base = r[j]
			break
		}
	}
	return rate(sum-base.sum, now.Sub(base.at).Seconds())
}

// rate is n per second over secs, 0 when either is not positive.
func rate(n int64, secs float64) float64 {
	if secs <= 0 || n <= 0 {
		return 0
	}
	return float64(n) / secs
}

// AppendJavaDouble formats v like Java's Double.toString for ordinary magnitudes: a
// decimal point is always present ("0.0", "12.5").
func AppendJavaDouble(dst []byte, v float64) []byte {
	v = math.Round(v*100) / 100
	out := strconv.AppendFloat(dst, v, 'f', -1, 64)
	if !slices.Contains(out[len(dst):], '.') {
		out = append(out, '.', '0')
	}
	return out
}

// FormatRuntime renders an uptime as Java's StoreStatsService does:
// "[ 1 days, 2 hours, 3 minutes, 4 seconds ]".
func FormatRuntime(d time.Duration) string {
	s := int64(d / time.Second)
	return "[ " + strconv.FormatInt(s/86400, 10) + " days, " + strconv.FormatInt(s%86400/3600, 10) +
		" hours, " + strconv.FormatInt(s%3600/60, 10) + " minutes, " + strconv.FormatInt(s%60, 10) + " seconds ]"
}
