package broker

import (
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/broker/clients"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
	"github.com/rocketgo/rocketgo/store"
)

// brokerVersion is the MQVersion rocketgo reports in GET_BROKER_RUNTIME_INFO: the Java
// release whose protocol it speaks (V4_9_7, ordinal 407).
const (
	brokerVersionDesc = "V4_9_7"
	brokerVersion     = 407
)

// statsWindows are Java's TPS windows (StoreStatsService: 10 s, 1 min, 10 min); the
// samples are taken on the housekeeping tick, clients.ScanInterval, which divides them.
var statsWindows = [...]time.Duration{10 * time.Second, time.Minute, 10 * time.Minute}

// consumeTpsWindow is the window of a group's consumeTps (Java's per-minute figure).
const consumeTpsWindow = time.Minute

// statSample is one housekeeping-tick reading of the broker's totals.
type statSample struct {
	at   time.Time
	puts int64
	gets int64
}

// offsetSample is a group's committed-offset sum over a topic's queues at one tick.
type offsetSample struct {
	at  time.Time
	sum int64
}

// runtimeStats keeps what GET_BROKER_RUNTIME_INFO and GET_CONSUME_STATS report beyond the
// store's own totals: the samples behind the TPS figures, the day-boundary snapshots
// behind msgPutTotalTodayMorning and friends, and the messages served by pulls.
//
// It is sampled on the client table's housekeeping tick (every clients.ScanInterval).
// Methods are safe from any goroutine.
type runtimeStats struct {
	boot time.Time
	gets atomic.Int64 // messages handed out by pulls since boot

	mu struct {
		sync.Mutex
		ring []statSample // oldest first, covering the longest window
		day  int          // the local day (yyyymmdd) of todayMorning
		// totals at the start of today and of yesterday (msg*TotalTodayMorning,
		// msg*TotalYesterdayMorning)
		todayMorning, yesterdayMorning statSample
		groups                         map[clients.GroupTopic][]offsetSample // oldest first
	}
}

func newRuntimeStats(now time.Time) *runtimeStats {
	s := &runtimeStats{boot: now}
	s.mu.day = dayOf(now)
	s.mu.groups = make(map[clients.GroupTopic][]offsetSample)
	return s
}

func dayOf(t time.Time) int {
	y, m, d := t.Date()
	return y*10000 + int(m)*100 + d
}

// countPulled records n messages served to a consumer by a pull; it feeds
// msgGetTotalTodayNow and getTransferedTps. Cheap enough for the pull path: one atomic
// add.
func (s *runtimeStats) countPulled(n int) {
	s.gets.Add(int64(n))
}

// sample records the totals at now and rolls the day snapshots at local midnight.
func (s *runtimeStats) sample(now time.Time, puts int64) {
	cur := statSample{at: now, puts: puts, gets: s.gets.Load()}
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := dayOf(now); d != s.mu.day {
		s.mu.yesterdayMorning = s.mu.todayMorning
		s.mu.todayMorning = cur
		s.mu.day = d
	}
	s.mu.ring = append(s.mu.ring, cur)
	keep := statsWindows[len(statsWindows)-1] + clients.ScanInterval
	for len(s.mu.ring) > 1 && now.Sub(s.mu.ring[0].at) > keep {
		s.mu.ring = s.mu.ring[1:]
	}
}

// tps returns "w10 w60 w600", the put and get rates over each window, formatted as Java
// does (space-separated decimals; mqadmin clusterList parses the first). Each window is
// measured from the newest sample at least that old, or from the oldest sample while
// the broker is younger than the window; with no sample yet the rates are 0.
func (s *runtimeStats) tps(now time.Time, puts int64) (putTps, getTps string) {
	cur := statSample{at: now, puts: puts, gets: s.gets.Load()}
	s.mu.Lock()
	defer s.mu.Unlock()
	var p, g []byte
	for i, w := range statsWindows {
		if i > 0 {
			p, g = append(p, ' '), append(g, ' ')
		}
		var pr, gr float64
		if base, ok := baseSample(s.mu.ring, now, w); ok {
			secs := now.Sub(base.at).Seconds()
			pr, gr = rate(cur.puts-base.puts, secs), rate(cur.gets-base.gets, secs)
		}
		p, g = appendJavaDouble(p, pr), appendJavaDouble(g, gr)
	}
	return string(p), string(g)
}

// baseSample picks the sample a window of length w starts from: the newest one at least
// w old, else the oldest one.
func baseSample(ring []statSample, now time.Time, w time.Duration) (statSample, bool) {
	for j := len(ring) - 1; j >= 0; j-- {
		if now.Sub(ring[j].at) >= w {
			return ring[j], true
		}
	}
	if len(ring) > 0 {
		return ring[0], true
	}
	return statSample{}, false
}

// mornings returns the totals at the start of today and of yesterday.
func (s *runtimeStats) mornings() (today, yesterday statSample) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.todayMorning, s.mu.yesterdayMorning
}

// sampleGroups records, for each online consumer group and topic, the sum of its
// committed offsets: its growth over a minute is the group's consumeTps.
func (s *runtimeStats) sampleGroups(now time.Time, sums map[clients.GroupTopic]int64) {
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

// consumeTps is group's rate of committed progress on topic over the last minute, given
// its current offset sum; 0 before two samples exist.
func (s *runtimeStats) consumeTps(k clients.GroupTopic, now time.Time, sum int64) float64 {
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

func rate(n int64, secs float64) float64 {
	if secs <= 0 || n <= 0 {
		return 0
	}
	return float64(n) / secs
}

// appendJavaDouble formats v like Java's Double.toString for ordinary magnitudes: a
// decimal point is always present ("0.0", "12.5").
func appendJavaDouble(dst []byte, v float64) []byte {
	v = math.Round(v*100) / 100
	out := strconv.AppendFloat(dst, v, 'f', -1, 64)
	if !slices.Contains(out[len(dst):], '.') {
		out = append(out, '.', '0')
	}
	return out
}

// countPulled records n messages served by a pull (FOUND); the pull path calls it so
// msgGetTotalTodayNow and getTransferedTps count deliveries. One atomic add.
func (b *Broker) countPulled(n int) {
	b.stats.countPulled(n)
}

// sampleStats is the housekeeping step of the statistics: it records the store's put
// total and the committed-offset sums of online consumer groups.
func (b *Broker) sampleStats() {
	now := b.now()
	b.stats.sample(now, b.store.Stats().PutMessages)
	sums := make(map[clients.GroupTopic]int64)
	for _, gt := range b.clients.OnlineSubscriptions() {
		if tc, ok := b.topics.Get(gt.Topic); ok {
			sums[gt] = b.committedSum(gt.Group, gt.Topic, tc.GetReadQueueNums())
		}
	}
	b.stats.sampleGroups(now, sums)
}

// committedSum adds up group's committed offsets over topic's first queues queues.
func (b *Broker) committedSum(group, topic string, queues int32) int64 {
	var sum int64
	for q := int32(0); q < queues; q++ {
		if off, ok := b.offsets.Get(group, topic, q); ok && off > 0 {
			sum += off
		}
	}
	return sum
}

// storeTimeAt returns the store timestamp of the message at logical offset off of the
// queue, or 0 if it is not readable (deleted, or past the end).
func storeTimeAt(st *store.Store, topic string, queueID int32, off int64) int64 {
	if off < 0 {
		return 0
	}
	r := st.GetMessages(topic, queueID, off, 1, math.MaxInt32, nil)
	if r.Status != store.Found || len(r.Records) == 0 {
		return 0
	}
	return message.RecordStoreTimestamp(r.Records[0])
}

// handleRuntimeInfo serves GET_BROKER_RUNTIME_INFO (28): a KVTable of the figures
// Java's mqadmin brokerStatus and clusterList read. The Java thread-pool figures have
// no counterpart (requests run on event loops and one worker pool) and are reported as
// 0 so the tools' parsing holds.
func (b *Broker) handleRuntimeInfo(_ *server.Conn, req *codec.Command) *codec.Command {
	now := b.now()
	ss := b.store.Stats()
	rs := b.stats
	putTps, getTps := rs.tps(now, ss.PutMessages)
	today, yesterday := rs.mornings()
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	ratio := string(appendJavaDouble(nil, ss.DiskUsage))
	t := map[string]string{
		"brokerVersionDesc":                     brokerVersionDesc,
		"brokerVersion":                         strconv.Itoa(brokerVersion),
		"bootTimestamp":                         i64(rs.boot.UnixMilli()),
		"runtime":                               formatRuntime(now.Sub(rs.boot)),
		"msgPutTotalTodayNow":                   i64(ss.PutMessages),
		"msgPutTotalTodayMorning":               i64(today.puts),
		"msgPutTotalYesterdayMorning":           i64(yesterday.puts),
		"msgGetTotalTodayNow":                   i64(rs.gets.Load()),
		"msgGetTotalTodayMorning":               i64(today.gets),
		"msgGetTotalYesterdayMorning":           i64(yesterday.gets),
		"putTps":                                putTps,
		"getTransferedTps":                      getTps,
		"putMessageTimesTotal":                  i64(ss.PutMessages),
		"putMessageSizeTotal":                   i64(ss.PutBytes),
		"commitLogMinOffset":                    i64(ss.MinPhysicalOffset),
		"commitLogMaxOffset":                    i64(ss.MaxPhysicalOffset),
		"commitLogDiskRatio":                    ratio,
		"consumeQueueDiskRatio":                 ratio,
		"earliestMessageTimeStamp":              i64(b.earliestMessageTime()),
		"sendThreadPoolQueueSize":               "0",
		"pullThreadPoolQueueSize":               "0",
		"queryThreadPoolQueueSize":              "0",
		"pageCacheLockTimeMills":                "0",
		"dispatchBehindBytes":                   i64(max(ss.MaxPhysicalOffset-ss.DispatchedOffset, 0)),
		"sendThreadPoolQueueHeadWaitTimeMills":  "0",
		"pullThreadPoolQueueHeadWaitTimeMills":  "0",
		"queryThreadPoolQueueHeadWaitTimeMills": "0",
		"diskFull":                              strconv.FormatBool(ss.DiskFull),
		"unconsumedMessagesDeleted":             i64(ss.UnconsumedDeleted),
	}
	resp := req.NewResponse(code.Success, "")
	b.addReplicationInfo(t) // role.go
	resp.Body = (&body.KVTable{Table: t}).Encode()
	return resp
}

// earliestMessageTime is the store time of the oldest record in the log, 0 if empty.
func (b *Broker) earliestMessageTime() int64 {
	st := b.store
	if st.MaxPhysicalOffset() <= st.MinPhysicalOffset() {
		return 0
	}
	rec, err := st.ReadRecord(st.MinPhysicalOffset())
	if err != nil {
		return 0
	}
	return message.RecordStoreTimestamp(rec)
}

// formatRuntime renders an uptime as Java's StoreStatsService does:
// "[ 1 days, 2 hours, 3 minutes, 4 seconds ]".
func formatRuntime(d time.Duration) string {
	s := int64(d / time.Second)
	return "[ " + strconv.FormatInt(s/86400, 10) + " days, " + strconv.FormatInt(s%86400/3600, 10) +
		" hours, " + strconv.FormatInt(s%3600/60, 10) + " minutes, " + strconv.FormatInt(s%60, 10) + " seconds ]"
}

// handleTopicStats serves GET_TOPIC_STATS_INFO (202): min and max offset and the store
// time of the newest message of every write queue of the topic.
func (b *Broker) handleTopicStats(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.GetTopicStatsInfoRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	tc, ok := b.topics.Get(h.Topic)
	if !ok {
		return errorResponse(req, reject(errTopicNotExist, "topic[%s] not exist", h.Topic))
	}
	t := &body.TopicStatsTable{OffsetTable: make(map[body.MessageQueue]body.TopicOffset, tc.GetWriteQueueNums())}
	for q := int32(0); q < tc.GetWriteQueueNums(); q++ {
		minOff := max(b.store.MinOffset(h.Topic, q), 0)
		maxOff := max(b.store.MaxOffset(h.Topic, q), 0)
		var last int64
		if maxOff > 0 {
			last = storeTimeAt(b.store, h.Topic, q, maxOff-1)
		}
		t.OffsetTable[body.MessageQueue{Topic: h.Topic, BrokerName: b.opts.BrokerName, QueueID: q}] =
			body.TopicOffset{MinOffset: minOff, MaxOffset: maxOff, LastUpdateTimestamp: last}
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = t.Encode()
	return resp
}

// handleConsumeStats serves GET_CONSUME_STATS (208): for the named topic, or every topic
// the group has committed offsets on, each read queue's max offset, the group's
// committed offset and the store time of the last consumed message, plus the group's
// consumeTps (committed messages per second over the last minute).
//
// A named topic that does not exist answers TOPIC_NOT_EXIST, and a group the broker has
// never heard of (no config, no offsets, not online) SUBSCRIPTION_GROUP_NOT_EXIST, so the
// operator's typo gets a clear answer; a known group with nothing consumed yet gets an
// empty table, as from Java.
func (b *Broker) handleConsumeStats(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.GetConsumeStatsRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	var topics []string
	if h.Topic != "" {
		if _, ok := b.topics.Get(h.Topic); !ok {
			return errorResponse(req, reject(errTopicNotExist, "topic[%s] not exist", h.Topic))
		}
		topics = []string{h.Topic}
	} else {
		topics = b.topicsConsumedBy(h.ConsumerGroup)
	}
	_, known := b.groups.Get(h.ConsumerGroup)
	if !known && len(topics) == 0 && len(b.clients.ConsumerIDs(h.ConsumerGroup)) == 0 && h.Topic == "" {
		return errorResponse(req, reject(errGroupNotExist, "subscription group[%s] not exist", h.ConsumerGroup))
	}
	now := b.now()
	cs := &body.ConsumeStats{OffsetTable: make(map[body.MessageQueue]body.OffsetWrapper)}
	subscribed := b.clients.SubscriptionCount(h.ConsumerGroup) > 0
	for _, topic := range topics {
		tc, ok := b.topics.Get(topic)
		if !ok {
			continue
		}
		// An online group that does not subscribe to the topic (leftover offsets) is
		// left out, as Java does.
		if _, ok := b.clients.Subscription(h.ConsumerGroup, topic); subscribed && !ok {
			continue
		}
		var sum int64
		for q := int32(0); q < tc.GetReadQueueNums(); q++ {
			brokerOff := max(b.store.MaxOffset(topic, q), 0)
			consumerOff, ok := b.offsets.Get(h.ConsumerGroup, topic, q)
			if !ok || consumerOff < 0 {
				consumerOff = 0
			}
			sum += consumerOff
			cs.OffsetTable[body.MessageQueue{Topic: topic, BrokerName: b.opts.BrokerName, QueueID: q}] = body.OffsetWrapper{
				BrokerOffset:   brokerOff,
				ConsumerOffset: consumerOff,
				LastTimestamp:  storeTimeAt(b.store, topic, q, consumerOff-1),
			}
		}
		cs.ConsumeTps += b.stats.consumeTps(clients.GroupTopic{Group: h.ConsumerGroup, Topic: topic}, now, sum)
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = cs.Encode()
	return resp
}

// topicsConsumedBy lists the topics on which group has committed offsets, sorted.
func (b *Broker) topicsConsumedBy(group string) []string {
	all, _ := b.topics.All()
	var out []string
	for _, tc := range all {
		if slices.Contains(b.offsets.Groups(tc.GetTopicName()), group) {
			out = append(out, tc.GetTopicName())
		}
	}
	slices.Sort(out)
	return out
}

// handleConsumerConnections serves GET_CONSUMER_CONNECTION_LIST (203); a group with no
// live connection answers CONSUMER_NOT_ONLINE (206).
func (b *Broker) handleConsumerConnections(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.GetConsumerConnectionListRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	cc, ok := b.clients.ConsumerConnection(h.ConsumerGroup)
	if !ok {
		return req.NewResponse(code.ConsumerNotOnline, "the consumer group["+h.ConsumerGroup+"] not online")
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = cc.Encode()
	return resp
}

// handleProducerConnections serves GET_PRODUCER_CONNECTION_LIST (204); a group with no
// live connection answers SYSTEM_ERROR, as Java does.
func (b *Broker) handleProducerConnections(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.GetProducerConnectionListRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	pc, ok := b.clients.ProducerConnection(h.ProducerGroup)
	if !ok {
		return req.NewResponse(code.SystemError, "the producer group["+h.ProducerGroup+"] not exist")
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = pc.Encode()
	return resp
}
