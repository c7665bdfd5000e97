package body

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/rocketgo/rocketgo/internal/jsonstr"
)

// MaxBodyBytes bounds every body this package decodes, and the inflated size of a
// compressed RegisterBrokerBody. It is far above any real body (a broker with ten
// thousand topics registers well under 2 MiB of JSON) and keeps a hostile body from
// making the decoder allocate without limit.
const MaxBodyBytes = 64 << 20

// maxJSONDepth bounds the nesting of a JSON body. The deepest real body (a route's
// filterServerTable) nests four levels.
const maxJSONDepth = 32

// Errors returned by the decoders. They are wrapped with the detail of what was wrong;
// test them with errors.Is.
var (
	// ErrMalformed marks a body that is not the JSON (or compressed layout) expected.
	ErrMalformed = errors.New("body: malformed")
	// ErrTooLarge marks a body above MaxBodyBytes, or a compressed body that inflates
	// beyond it.
	ErrTooLarge = errors.New("body: too large")
)

// QueueData is one broker's queues of a topic in a route: how many read and write
// queues the broker serves for the topic, and the permission bits (PermRead,
// PermWrite, PermInherit).
type QueueData struct {
	BrokerName     string `json:"brokerName"`
	ReadQueueNums  int32  `json:"readQueueNums"`
	WriteQueueNums int32  `json:"writeQueueNums"`
	Perm           int32  `json:"perm"`
	TopicSysFlag   int32  `json:"topicSysFlag"`
}

// BrokerData is one broker group: its cluster, its name, and the address of each
// member keyed by brokerId (0 is the master, any other id a slave).
type BrokerData struct {
	Cluster     string
	BrokerName  string
	BrokerAddrs map[int64]string
}

// TopicRouteData is the body of a GET_ROUTEINFO_BY_TOPIC (105) response: which brokers
// serve the topic and how many queues each has.
type TopicRouteData struct {
	// OrderTopicConf is the namesrv's order-topic configuration ("brokerA:8;brokerB:8");
	// the key is left out of the JSON when it is empty, as Java leaves out null.
	OrderTopicConf string
	// QueueDatas is encoded as an array even when empty: the official Go client
	// rejects a route whose queueDatas is null or missing.
	QueueDatas  []QueueData
	BrokerDatas []BrokerData
	// FilterServerTable maps a broker address to its filter servers; normally empty.
	FilterServerTable map[string][]string
}

// Encode returns the route as compact JSON (see AppendJSON).
func (r *TopicRouteData) Encode() []byte {
	return r.AppendJSON(make([]byte, 0, 128+64*(len(r.QueueDatas)+len(r.BrokerDatas))))
}

// AppendJSON appends the route as compact JSON to dst and returns the extended slice.
//
// The encoding is written by hand because the official Go client parses brokerAddrs
// as text, not as JSON: it strips the braces, splits on ',' and then at the first
// ':'. Any whitespace inside that object corrupts the addresses, and a missing
// brokerAddrs crashes the client. So the output has no whitespace anywhere, keys
// in the order Java's fastjson writes them (sorted), brokerAddrs always present
// with quoted decimal brokerIds in ascending order, and queueDatas always an array.
// Lists are written in the order the caller gives them.
func (r *TopicRouteData) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"brokerDatas":[`...)
	for i := range r.BrokerDatas {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = r.BrokerDatas[i].appendJSON(dst)
	}
	dst = append(dst, `],"filterServerTable":`...)
	dst = appendStringListMap(dst, r.FilterServerTable)
	if r.OrderTopicConf != "" {
		dst = append(dst, `,"orderTopicConf":`...)
		dst = jsonstr.Append(dst, r.OrderTopicConf)
	}
	dst = append(dst, `,"queueDatas":[`...)
	for i := range r.QueueDatas {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = r.QueueDatas[i].appendJSON(dst)
	}
	return append(dst, "]}"...)
}

func (q *QueueData) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"brokerName":`...)
	dst = jsonstr.Append(dst, q.BrokerName)
	dst = append(dst, `,"perm":`...)
	dst = strconv.AppendInt(dst, int64(q.Perm), 10)
	dst = append(dst, `,"readQueueNums":`...)
	dst = strconv.AppendInt(dst, int64(q.ReadQueueNums), 10)
	dst = append(dst, `,"topicSysFlag":`...)
	dst = strconv.AppendInt(dst, int64(q.TopicSysFlag), 10)
	dst = append(dst, `,"writeQueueNums":`...)
	dst = strconv.AppendInt(dst, int64(q.WriteQueueNums), 10)
	return append(dst, '}')
}

func (b *BrokerData) appendJSON(dst []byte) []byte {
	dst = append(dst, `{"brokerAddrs":`...)
	dst = appendBrokerAddrs(dst, b.BrokerAddrs)
	dst = append(dst, `,"brokerName":`...)
	dst = jsonstr.Append(dst, b.BrokerName)
	dst = append(dst, `,"cluster":`...)
	dst = jsonstr.Append(dst, b.Cluster)
	return append(dst, '}')
}

// appendBrokerAddrs writes {"0":"addr","1":"addr"}: quoted decimal ids in ascending
// order, never null.
func appendBrokerAddrs(dst []byte, addrs map[int64]string) []byte {
	ids := make([]int64, 0, len(addrs))
	for id := range addrs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	dst = append(dst, '{')
	for i, id := range ids {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = strconv.AppendInt(dst, id, 10)
		dst = append(dst, `":`...)
		dst = jsonstr.Append(dst, addrs[id])
	}
	return append(dst, '}')
}

// appendStringListMap writes {"k":["a","b"]} with sorted keys; a nil map or list is
// written empty, never null.
func appendStringListMap(dst []byte, m map[string][]string) []byte {
	dst = append(dst, '{')
	for i, k := range sortedKeys(m) {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonstr.Append(dst, k)
		dst = append(dst, ':')
		dst = appendStringList(dst, m[k])
	}
	return append(dst, '}')
}

// appendStringList writes ["a","b"]; nil is written as [].
func appendStringList(dst []byte, list []string) []byte {
	dst = append(dst, '[')
	for i, s := range list {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = jsonstr.Append(dst, s)
	}
	return append(dst, ']')
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// routeJSON mirrors TopicRouteData for decoding; brokerAddrs keys arrive as strings.
type routeJSON struct {
	OrderTopicConf    string              `json:"orderTopicConf"`
	QueueDatas        []QueueData         `json:"queueDatas"`
	BrokerDatas       []brokerDataJSON    `json:"brokerDatas"`
	FilterServerTable map[string][]string `json:"filterServerTable"`
}

type brokerDataJSON struct {
	Cluster     string            `json:"cluster"`
	BrokerName  string            `json:"brokerName"`
	BrokerAddrs map[string]string `json:"brokerAddrs"`
}

func (b *brokerDataJSON) toBrokerData() (BrokerData, error) {
	addrs, err := parseBrokerAddrs(b.BrokerAddrs)
	if err != nil {
		return BrokerData{}, fmt.Errorf("broker %q: %w", b.BrokerName, err)
	}
	return BrokerData{Cluster: b.Cluster, BrokerName: b.BrokerName, BrokerAddrs: addrs}, nil
}

// parseBrokerAddrs turns the decimal-string keys into brokerIds. Two keys naming
// the same id ("1" and "01") are rejected, because which one would win depends on
// map order.
func parseBrokerAddrs(in map[string]string) (map[int64]string, error) {
	out := make(map[int64]string, len(in))
	for k, v := range in {
		id, err := strconv.ParseInt(k, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: brokerAddrs key %q is not a brokerId", ErrMalformed, k)
		}
		if _, dup := out[id]; dup {
			return nil, fmt.Errorf("%w: brokerAddrs names brokerId %d twice", ErrMalformed, id)
		}
		out[id] = v
	}
	return out, nil
}

// DecodeTopicRouteData parses a route body. It accepts what Java namesrvs send as well
// as what AppendJSON writes: brokerAddrs keys quoted ({"0":"a:1"}) or bare
// ({0:"a:1"}, fastjson's default), and whitespace anywhere. Missing or null lists
// and maps decode as empty, never nil.
func DecodeTopicRouteData(data []byte) (*TopicRouteData, error) {
	var rj routeJSON
	if err := decodeJSONObject(data, &rj); err != nil {
		return nil, fmt.Errorf("route: %w", err)
	}
	r := &TopicRouteData{
		OrderTopicConf:    rj.OrderTopicConf,
		QueueDatas:        rj.QueueDatas,
		BrokerDatas:       make([]BrokerData, 0, len(rj.BrokerDatas)),
		FilterServerTable: nonNilListMap(rj.FilterServerTable),
	}
	if r.QueueDatas == nil {
		r.QueueDatas = []QueueData{}
	}
	for i := range rj.BrokerDatas {
		bd, err := rj.BrokerDatas[i].toBrokerData()
		if err != nil {
			return nil, fmt.Errorf("route: brokerDatas[%d]: %w", i, err)
		}
		r.BrokerDatas = append(r.BrokerDatas, bd)
	}
	return r, nil
}

func nonNilListMap(m map[string][]string) map[string][]string {
	if m == nil {
		return map[string][]string{}
	}
	for k, v := range m {
		if v == nil {
			m[k] = []string{}
		}
	}
	return m
}

// decodeJSONObject decodes a JSON object body into v after bounding its size and
// depth and quoting bare object keys. A body that is not an object (null, an array,
// a number) is malformed.
func decodeJSONObject(data []byte, v any) error {
	if len(data) > MaxBodyBytes {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), MaxBodyBytes)
	}
	std, err := quoteBareKeys(data)
	if err != nil {
		return err
	}
	trimmed := bytes.TrimLeft(std, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	if err := json.Unmarshal(std, v); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// quoteBareKeys rewrites fastjson's non-standard object keys into standard JSON: a
// bare integer key such as 0 in {0:"a:1"} becomes "0". Java writes Map<Long, …> keys
// that way by default. It returns data itself when there is nothing to rewrite.
// Everything else is left to encoding/json to validate; only nesting depth is
// checked here, so that a hostile body cannot make the scan's stack grow.
func quoteBareKeys(data []byte) ([]byte, error) {
	var (
		out       []byte // nil until the first rewrite
		copied    int    // data[:copied] is already in out
		stack     [maxJSONDepth]byte
		depth     int
		expectKey bool
	)
	for i := 0; i < len(data); {
		c := data[i]
		switch {
		case c == '"':
			end, err := skipJSONString(data, i)
			if err != nil {
				return nil, err
			}
			i = end
			expectKey = false
			continue
		case c == '{' || c == '[':
			if depth == maxJSONDepth {
				return nil, fmt.Errorf("%w: JSON nested deeper than %d", ErrMalformed, maxJSONDepth)
			}
			stack[depth] = c
			depth++
			expectKey = c == '{'
		case c == '}' || c == ']':
			if depth > 0 {
				depth--
			}
			expectKey = false
		case c == ',':
			expectKey = depth > 0 && stack[depth-1] == '{'
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
		case expectKey:
			end := i
			for end < len(data) && isBareKeyByte(data[end]) {
				end++
			}
			if end == i || !isJSONInteger(data[i:end]) {
				return nil, fmt.Errorf("%w: object key at byte %d is neither a string nor an integer", ErrMalformed, i)
			}
			out = append(out, data[copied:i]...)
			out = append(out, '"')
			out = append(out, data[i:end]...)
			out = append(out, '"')
			copied = end
			i = end
			expectKey = false
			continue
		default:
			expectKey = false
		}
		i++
	}
	if out == nil {
		return data, nil
	}
	return append(out, data[copied:]...), nil
}

// skipJSONString returns the index just past the string literal starting at
// data[start] (a '"').
func skipJSONString(data []byte, start int) (int, error) {
	for i := start + 1; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("%w: unterminated string at byte %d", ErrMalformed, start)
}

func isBareKeyByte(c byte) bool {
	return c == '-' || c == '+' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

// isJSONInteger reports whether b is an optional '-' and 1..19 decimal digits.
func isJSONInteger(b []byte) bool {
	if len(b) > 0 && b[0] == '-' {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
