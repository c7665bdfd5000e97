package metrics

import (
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// rocketmq_rpc_latency (Apache RocketMQ 5's RemotingMetricsConstant and
// RemotingMetricsManager): how long the broker took to answer a request, in whole
// milliseconds, per request code and response code.
const (
	rpcLatencyName       = "rocketmq_rpc_latency"
	labelProtocolType    = "protocol_type"
	labelRequestCode     = "request_code"
	labelResponseCode    = "response_code"
	labelIsLongPolling   = "is_long_polling"
	labelResult          = "result"
	protocolTypeRemoting = "remoting"
)

// rpcBuckets are Apache's rpc latency buckets in milliseconds.
var rpcBuckets = []float64{1, 3, 5, 7, 10, 100, 1000, 2000, 3000}

// Result is the result label of an answered request.
type Result uint8

// Results, as Apache names them.
const (
	// ResultSuccess: the answer was handed to the connection.
	ResultSuccess Result = iota
	// ResultOneway: a oneway request, answered with nothing.
	ResultOneway
	// ResultWriteFailed: a late answer found its connection gone.
	ResultWriteFailed
	numResults
)

var resultNames = [numResults]string{"success", "oneway", "write_channel_failed"}

// rpcSlots is how many series one request code can have: response codes (the known
// ones and "other") × is_long_polling × result.
var rpcSlots = (len(responseNames) + 1) * 2 * int(numResults)

// monoBase anchors Mono.
var monoBase = time.Now()

// Mono is a monotonic clock reading in nanoseconds, the start an observation takes.
// It reads the clock once; time.Now reads it twice (wall and monotonic), and the hook
// runs on every request.
func Mono() int64 { return int64(time.Since(monoBase)) }

// rpcSeries is one cached histogram child.
type rpcSeries struct{ h prometheus.Observer }

// RPCRoute observes the answers to one request code. The broker makes one per route
// when it registers its routes, so an observation finds its series by index: no map
// lookup, no label formatting, no allocation once the series exists. A zero RPCRoute
// (metrics off) observes nothing.
type RPCRoute struct {
	r    *rpcMetric
	name string
	// slots holds the series of this code, created on first use.
	slots []atomic.Pointer[rpcSeries]
}

// rpcMetric is the histogram family and the routes made from it.
type rpcMetric struct {
	vec *prometheus.HistogramVec
	mu  sync.Mutex // serializes series creation
}

func newRPCMetric() *rpcMetric {
	return &rpcMetric{vec: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    rpcLatencyName,
		Help:    "Time the broker took to answer a request, in milliseconds.",
		Buckets: rpcBuckets,
	}, []string{labelProtocolType, labelRequestCode, labelResponseCode, labelIsLongPolling, labelResult})}
}

// RPCRoute returns the observer of request code reqCode. A nil Metrics returns a
// zero RPCRoute.
func (m *Metrics) RPCRoute(reqCode int32) *RPCRoute {
	if m == nil {
		return nil
	}
	return &RPCRoute{r: m.rpc, name: RequestCodeName(reqCode), slots: make([]atomic.Pointer[rpcSeries], rpcSlots)}
}

// Observe records one answer with response code respCode to a request that arrived at
// start (a Mono reading). A nil RPCRoute records nothing.
func (rt *RPCRoute) Observe(start int64, respCode int32, longPolling bool, res Result) {
	if rt == nil {
		return
	}
	slot := responseIndex(respCode)*2*int(numResults) + int(res)*2
	if longPolling {
		slot++
	}
	s := rt.slots[slot].Load()
	if s == nil {
		s = rt.resolve(slot, respCode, longPolling, res)
	}
	// Apache records whole milliseconds (elapsed in TimeUnit.MILLISECONDS).
	s.h.Observe(float64((Mono() - start) / int64(time.Millisecond)))
}

// resolve creates the series of a slot on its first observation.
func (rt *RPCRoute) resolve(slot int, respCode int32, longPolling bool, res Result) *rpcSeries {
	rt.r.mu.Lock()
	defer rt.r.mu.Unlock()
	if s := rt.slots[slot].Load(); s != nil {
		return s
	}
	s := &rpcSeries{h: rt.r.vec.WithLabelValues(protocolTypeRemoting, rt.name,
		ResponseCodeName(respCode), boolLabel(longPolling), resultNames[res])}
	rt.slots[slot].Store(s)
	return s
}

// responseIndex is respCode's position in responseNames, or len(responseNames) for
// a code without a name.
func responseIndex(respCode int32) int {
	if respCode >= 0 && int(respCode) < len(responseByCode) {
		if i := responseByCode[respCode]; i > 0 {
			return int(i) - 1
		}
	}
	return len(responseNames)
}

// ResponseCodeName is the response_code label of respCode: Apache's ResponseCode
// field name in lower case, or "other" for a code this broker does not name.
func ResponseCodeName(respCode int32) string {
	i := responseIndex(respCode)
	if i == len(responseNames) {
		return "other"
	}
	return responseNames[i].name
}

// RequestCodeName is the request_code label of reqCode: Apache's RequestCode field
// name in lower case (rocketgo's own name for its extension codes), or the code in
// decimal, as Apache writes a code it does not name.
func RequestCodeName(reqCode int32) string {
	if n, ok := requestNames[reqCode]; ok {
		return n
	}
	return strconv.Itoa(int(reqCode))
}

// responseByCode maps a response code below 256 to its index in responseNames plus
// one (0: no name).
var responseByCode = func() (t [256]uint8) {
	for i, r := range responseNames {
		t[r.code] = uint8(i + 1)
	}
	return t
}()
