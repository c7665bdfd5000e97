package schedule

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/broker"
	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// typed is one test message's properties as Go values.
type typed struct {
	i      int
	price  float64
	vip    bool
	region string
	hasOpt bool
	tag    string
}

func (m typed) body() string { return fmt.Sprintf("m%02d", m.i) }

// typedMessages are the messages of the SQL92 matrix: an integer, a decimal, a
// boolean, a string, a property present on half of them, and a tag.
func typedMessages() []typed {
	regions := []string{"eu", "us", "asia"}
	var out []typed
	for i := 0; i < 12; i++ {
		out = append(out, typed{i: i, price: float64(i) * 1.5, vip: i%3 == 0, region: regions[i%3], hasOpt: i%2 == 0, tag: "T" + strconv.Itoa(i%4)})
	}
	return out
}

// sql92Matrix pairs expressions with the Go predicate that says which messages match.
var sql92Matrix = []struct {
	expr string
	want func(m typed) bool
}{
	{"i = 5", func(m typed) bool { return m.i == 5 }},
	{"i <> 5", func(m typed) bool { return m.i != 5 }},
	{"i > 8", func(m typed) bool { return m.i > 8 }},
	{"i >= 8", func(m typed) bool { return m.i >= 8 }},
	{"i < 3", func(m typed) bool { return m.i < 3 }},
	{"i <= 3", func(m typed) bool { return m.i <= 3 }},
	{"price > 10.5", func(m typed) bool { return m.price > 10.5 }},
	// An integer literal reads the property as an integer: "13.5" is a type mismatch.
	{"price > 10", func(m typed) bool { return m.price > 10 && m.price == float64(int(m.price)) }},
	{"price BETWEEN 3.0 AND 6.0", func(m typed) bool { return m.price >= 3 && m.price <= 6 }},
	{"i NOT BETWEEN 2 AND 9", func(m typed) bool { return m.i < 2 || m.i > 9 }},
	{"vip = TRUE", func(m typed) bool { return m.vip }},
	{"vip = FALSE AND region = 'eu'", func(m typed) bool { return !m.vip && m.region == "eu" }},
	{"region IN ('us', 'asia')", func(m typed) bool { return m.region == "us" || m.region == "asia" }},
	{"region NOT IN ('us')", func(m typed) bool { return m.region != "us" }},
	{"opt IS NULL", func(m typed) bool { return !m.hasOpt }},
	{"opt IS NOT NULL AND i > 5", func(m typed) bool { return m.hasOpt && m.i > 5 }},
	{"opt = 'x' OR TAGS = 'T1'", func(m typed) bool { return m.hasOpt || m.tag == "T1" }},
	{"NOT (opt = 'x')", func(m typed) bool { return false }}, // opt is "x" or missing: never FALSE
	{"NOT (region = 'eu') AND i < 6", func(m typed) bool { return m.region != "eu" && m.i < 6 }},
	{"missing > 1 OR i = 0", func(m typed) bool { return m.i == 0 }}, // unknown OR TRUE
	{"region > 1", func(m typed) bool { return false }},              // type mismatch: no match
	{"(i = 1 OR i = 2) AND (vip = FALSE OR TAGS = 'T0')", func(m typed) bool { return (m.i == 1 || m.i == 2) && (!m.vip || m.tag == "T0") }},
	{"TRUE", func(m typed) bool { return true }},
}

// TestSQL92Matrix sends messages with typed properties through the SDK and pulls them
// with each expression of the matrix, comparing with the Go predicate; then checks
// the SDK's own SQL92 push consumer and a bad expression's answer.
func TestSQL92Matrix(t *testing.T) {
	t.Parallel()
	c := cluster.Start(t, withBroker(func(o *broker.Options) { o.EnablePropertyFilter = true }))
	const topic = "Typed"
	c.CreateTopic(t, topic, 2)
	p := startProducer(t, c.NamesrvAddr())
	msgs := typedMessages()
	for _, m := range msgs {
		cm := client.NewMessage(topic, []byte(m.body())).WithTags(m.tag).
			WithProperty("i", strconv.Itoa(m.i)).
			WithProperty("price", strconv.FormatFloat(m.price, 'f', -1, 64)).
			WithProperty("vip", strconv.FormatBool(m.vip)).
			WithProperty("region", m.region)
		if m.hasOpt {
			cm.WithProperty("opt", "x")
		}
		send(t, p, cm)
	}
	pl := newPuller(t)
	if !testutil.Poll(10*time.Second, func() bool {
		return len(pl.all(c.BrokerAddr(), topic, 2, "*", "TAG")) == len(msgs)
	}) {
		t.Fatal("messages not all stored")
	}
	for _, row := range sql92Matrix {
		var want []string
		for _, m := range msgs {
			if row.want(m) {
				want = append(want, m.body())
			}
		}
		var got []string
		for _, m := range pl.all(c.BrokerAddr(), topic, 2, row.expr, "SQL92") {
			got = append(got, string(m.Body))
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%q: got %v, want %v", row.expr, got, want)
		}
	}

	// The SDK push consumer with a SQL92 selector.
	col := &collector{}
	startPush(t, c.NamesrvAddr(), "SQLGroup", topic, client.BySQL92("vip = TRUE OR price > 15.0"), col.listener())
	col.waitCount(t, 5, 30*time.Second) // m00 m03 m06 m09 (vip), m11 (16.5)
	got, _ := col.snapshot()
	var names []string
	for _, m := range got {
		names = append(names, string(m.Body))
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "m00,m03,m06,m09,m11" {
		t.Fatalf("SQL92 push consumer received %v", names)
	}

	// A bad expression is refused, pointing at the problem.
	h := header.PullMessageRequest{ConsumerGroup: "g", Topic: topic, MaxMsgNums: 1, SysFlag: header.PullSubscription,
		Subscription: "i >", ExpressionType: "SQL92"}
	resp, err := pl.call(c.BrokerAddr(), code.PullMessage, h.Encode())
	if err != nil || resp.Code != code.SubscriptionParseFailed || !strings.Contains(resp.Remark, "column 4") {
		t.Fatalf("bad expression: %v code %d %q", err, resp.Code, resp.Remark)
	}
}
