package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// callTimeout bounds every request the harness sends.
const callTimeout = 5 * time.Second

// RouteTimeout is how long WaitRoute and CreateTopic wait for a route by default: the
// broker registers a new topic with the NameServer right after creating it, so this is
// a bound on a bug, not an expected delay.
const RouteTimeout = 15 * time.Second

// Errors of the inspection helpers.
var (
	// ErrNoRoute: the NameServer answered TOPIC_NOT_EXIST for the topic.
	ErrNoRoute = errors.New("cluster: no route")
	// ErrBadRoute: the route body breaks a rule the official Go client depends on
	// (docs/protocol.md §3.1): queueDatas must be an array, brokerAddrs must be a present
	// object without whitespace or escapes.
	ErrBadRoute = errors.New("cluster: route body unusable by the Go client")
)

// Route is a topic's TopicRouteData as the NameServer reports it.
type Route struct {
	QueueDatas  []QueueData  `json:"queueDatas"`
	BrokerDatas []BrokerData `json:"brokerDatas"`
}

// QueueData is one broker's queues of a topic.
type QueueData struct {
	BrokerName     string `json:"brokerName"`
	ReadQueueNums  int    `json:"readQueueNums"`
	WriteQueueNums int    `json:"writeQueueNums"`
	Perm           int    `json:"perm"`
	TopicSysFlag   int    `json:"topicSysFlag"`
}

// BrokerData is one broker group of a route: brokerId (as a decimal string) → address.
type BrokerData struct {
	Cluster     string            `json:"cluster"`
	BrokerName  string            `json:"brokerName"`
	BrokerAddrs map[string]string `json:"brokerAddrs"`
}

// Queue returns the queue data of brokerName, if the route has it.
func (r *Route) Queue(brokerName string) (QueueData, bool) {
	for _, q := range r.QueueDatas {
		if q.BrokerName == brokerName {
			return q, true
		}
	}
	return QueueData{}, false
}

// MasterAddr returns the brokerId 0 address of brokerName, or "".
func (r *Route) MasterAddr(brokerName string) string {
	for _, b := range r.BrokerDatas {
		if b.BrokerName == brokerName {
			return b.BrokerAddrs["0"]
		}
	}
	return ""
}

// invoke sends one request and waits for its answer. A transport failure is retried
// once on a fresh connection, because a broker restart leaves the cached one dead.
func (c *Cluster) invoke(addr string, req func() *codec.Command) (*codec.Command, error) {
	var resp *codec.Command
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		ctx, cancel := context.WithTimeout(c.ctx, callTimeout)
		resp, err = c.rc.Invoke(ctx, addr, req())
		cancel()
		if err == nil {
			return resp, nil
		}
		c.rc.CloseAddr(addr)
	}
	return nil, fmt.Errorf("request to %s: %w", addr, err)
}

// Route asks the NameServer for the topic's route (GET_ROUTEINFO_BY_TOPIC). It returns
// ErrNoRoute when the topic is unknown, and ErrBadRoute when the body would break the
// official Go client.
func (c *Cluster) Route(topic string) (*Route, error) {
	resp, err := c.invoke(c.NamesrvAddr(), func() *codec.Command {
		return codec.NewRequest(code.GetRouteInfoByTopic, map[string]string{"topic": topic}, nil)
	})
	if err != nil {
		return nil, err
	}
	switch resp.Code {
	case code.Success:
	case code.TopicNotExist:
		return nil, ErrNoRoute
	default:
		return nil, fmt.Errorf("route of %q: code %d: %s", topic, resp.Code, resp.Remark)
	}
	return decodeRoute(resp.Body)
}

// decodeRoute decodes a TopicRouteData body and checks the rules of docs/protocol.md §3.1
// that the Go client's hand-written parser depends on.
func decodeRoute(body []byte) (*Route, error) {
	var raw struct {
		QueueDatas  json.RawMessage   `json:"queueDatas"`
		BrokerDatas []json.RawMessage `json:"brokerDatas"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v: %q", ErrBadRoute, err, body)
	}
	if len(raw.QueueDatas) == 0 || raw.QueueDatas[0] != '[' {
		return nil, fmt.Errorf("%w: queueDatas is %q, want an array: %q", ErrBadRoute, raw.QueueDatas, body)
	}
	for _, bd := range raw.BrokerDatas {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(bd, &fields); err != nil {
			return nil, fmt.Errorf("%w: brokerData %q: %v", ErrBadRoute, bd, err)
		}
		if _, ok := fields["brokerAddrs"]; !ok {
			return nil, fmt.Errorf("%w: brokerData without brokerAddrs: %q", ErrBadRoute, bd)
		}
		// encoding/json matches keys case-insensitively, so every spelling that could
		// land in BrokerAddrs is checked.
		for k, addrs := range fields {
			if !strings.EqualFold(k, "brokerAddrs") {
				continue
			}
			if len(addrs) == 0 || addrs[0] != '{' {
				return nil, fmt.Errorf("%w: %s is %q, want an object", ErrBadRoute, k, addrs)
			}
			// The client splits the object's raw text on ',' and ':' and strips quotes:
			// it neither skips whitespace nor resolves escapes.
			if bytes.ContainsAny(addrs, " \t\r\n\\") {
				return nil, fmt.Errorf("%w: whitespace or escapes in %s %q", ErrBadRoute, k, addrs)
			}
		}
	}
	var r Route
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%w: %v: %q", ErrBadRoute, err, body)
	}
	return &r, nil
}

// WaitRoute waits until the NameServer's route for topic lists this cluster's broker
// with its current address as master, and returns that route. It fails the test after
// timeout (RouteTimeout when 0).
func (c *Cluster) WaitRoute(t testing.TB, topic string, timeout time.Duration) *Route {
	t.Helper()
	if timeout <= 0 {
		timeout = RouteTimeout
	}
	var route *Route
	var last error
	name := c.BrokerName()
	ok := testutil.Poll(timeout, func() bool {
		r, err := c.Route(topic)
		if err != nil {
			last = err
			return false
		}
		if _, ok := r.Queue(name); !ok || r.MasterAddr(name) != c.BrokerAddr() {
			last = fmt.Errorf("route %+v lacks %s at %s", *r, name, c.BrokerAddr())
			return false
		}
		route = r
		return true
	})

	if !ok {
		t.Fatalf("cluster: timed out after %v waiting for the route of topic %q: %v", timeout, topic, last)
	}
	return route
}

// WaitNoRoute waits until the NameServer answers TOPIC_NOT_EXIST for topic.
func (c *Cluster) WaitNoRoute(t testing.TB, topic string, timeout time.Duration) {
	t.Helper()
	if timeout <= 0 {
		timeout = RouteTimeout
	}
	var last error
	ok := testutil.Poll(timeout, func() bool {
		_, last = c.Route(topic)
		return errors.Is(last, ErrNoRoute)
	})

	if !ok {
		t.Fatalf("cluster: timed out after %v waiting for topic %q to lose its route: last answer %v", timeout, topic, last)
	}
}

// CreateTopic creates topic on the broker with the given number of read and write
// queues and permission 6 (UPDATE_AND_CREATE_TOPIC, as mqadmin updateTopic does), then
// waits for its route.
func (c *Cluster) CreateTopic(t testing.TB, topic string, queues int) *Route {
	t.Helper()
	ext := map[string]string{
		"topic":           topic,
		"defaultTopic":    "TBW102",
		"readQueueNums":   strconv.Itoa(queues),
		"writeQueueNums":  strconv.Itoa(queues),
		"perm":            "6",
		"topicFilterType": "SINGLE_TAG",
		"topicSysFlag":    "0",
		"order":           "false",
	}
	resp, err := c.invoke(c.BrokerAddr(), func() *codec.Command {
		return codec.NewRequest(code.UpdateAndCreateTopic, ext, nil)
	})
	if err != nil {
		t.Fatalf("cluster: create topic %q: %v", topic, err)
	}
	if resp.Code != code.Success {
		t.Fatalf("cluster: create topic %q: code %d: %s", topic, resp.Code, resp.Remark)
	}
	var route *Route
	var last any
	ok := testutil.Poll(RouteTimeout, func() bool {
		r, err := c.Route(topic)
		if err != nil {
			last = err
			return false
		}
		q, found := r.Queue(c.BrokerName())
		if !found || q.ReadQueueNums != queues || q.WriteQueueNums != queues || r.MasterAddr(c.BrokerName()) != c.BrokerAddr() {
			last = *r
			return false
		}
		route = r
		return true
	})

	if !ok {
		t.Fatalf("cluster: timed out after %v waiting for the route of created topic %q with %d queues: last %+v",
			RouteTimeout, topic, queues, last)
	}
	return route
}

// ConsumerOffset asks the broker for the committed offset of (group, topic, queueID)
// (QUERY_CONSUMER_OFFSET). ok is false when the broker answers QUERY_NOT_FOUND. Note
// RocketMQ's rule, kept by rocketgo for CONSUME_FROM_LAST_OFFSET groups: a group with no
// committed offset on a young queue is answered 0, not QUERY_NOT_FOUND (docs/protocol.md §2.5).
func (c *Cluster) ConsumerOffset(t testing.TB, group, topic string, queueID int) (offset int64, ok bool) {
	t.Helper()
	ext := map[string]string{"consumerGroup": group, "topic": topic, "queueId": strconv.Itoa(queueID)}
	resp, err := c.invoke(c.BrokerAddr(), func() *codec.Command {
		return codec.NewRequest(code.QueryConsumerOffset, ext, nil)
	})
	if err != nil {
		t.Fatalf("cluster: query offset %s/%s/%d: %v", group, topic, queueID, err)
	}
	switch resp.Code {
	case code.Success:
		v, err := strconv.ParseInt(resp.ExtFields["offset"], 10, 64)
		if err != nil {
			t.Fatalf("cluster: query offset %s/%s/%d: bad offset extField %q", group, topic, queueID, resp.ExtFields["offset"])
		}
		return v, true
	case code.QueryNotFound:
		return 0, false
	default:
		t.Fatalf("cluster: query offset %s/%s/%d: code %d: %s", group, topic, queueID, resp.Code, resp.Remark)
		return 0, false
	}
}

// ConsumerIDs asks the broker for the client ids of a consumer group
// (GET_CONSUMER_LIST_BY_GROUP), in the broker's order. An empty group gives nil.
func (c *Cluster) ConsumerIDs(t testing.TB, group string) []string {
	t.Helper()
	resp, err := c.invoke(c.BrokerAddr(), func() *codec.Command {
		return codec.NewRequest(code.GetConsumerListByGroup, map[string]string{"consumerGroup": group}, nil)
	})
	if err != nil {
		t.Fatalf("cluster: consumer list of %s: %v", group, err)
	}
	if len(resp.Body) == 0 {
		return nil
	}
	var body struct {
		ConsumerIDList []string `json:"consumerIdList"`
	}
	if err := json.Unmarshal(resp.Body, &body); err != nil {
		t.Fatalf("cluster: consumer list of %s: code %d body %q: %v", group, resp.Code, resp.Body, err)
	}
	return body.ConsumerIDList
}

// MaxOffset asks the broker for the next logical offset of a queue (GET_MAX_OFFSET).
func (c *Cluster) MaxOffset(t testing.TB, topic string, queueID int) int64 {
	t.Helper()
	ext := map[string]string{"topic": topic, "queueId": strconv.Itoa(queueID)}
	resp, err := c.invoke(c.BrokerAddr(), func() *codec.Command {
		return codec.NewRequest(code.GetMaxOffset, ext, nil)
	})
	if err != nil {
		t.Fatalf("cluster: max offset %s/%d: %v", topic, queueID, err)
	}
	v, err := strconv.ParseInt(resp.ExtFields["offset"], 10, 64)
	if err != nil {
		t.Fatalf("cluster: max offset %s/%d: code %d, offset extField %q", topic, queueID, resp.Code, resp.ExtFields["offset"])
	}
	return v
}

// MinOffset asks the broker for the smallest logical offset still stored in a queue
// (GET_MIN_OFFSET): above 0 once retention has deleted the queue's first messages.
func (c *Cluster) MinOffset(t testing.TB, topic string, queueID int) int64 {
	t.Helper()
	ext := map[string]string{"topic": topic, "queueId": strconv.Itoa(queueID)}
	resp, err := c.invoke(c.BrokerAddr(), func() *codec.Command {
		return codec.NewRequest(code.GetMinOffset, ext, nil)
	})
	if err != nil {
		t.Fatalf("cluster: min offset %s/%d: %v", topic, queueID, err)
	}
	v, err := strconv.ParseInt(resp.ExtFields["offset"], 10, 64)
	if err != nil {
		t.Fatalf("cluster: min offset %s/%d: code %d, offset extField %q", topic, queueID, resp.Code, resp.ExtFields["offset"])
	}
	return v
}
