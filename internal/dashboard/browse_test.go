package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/rocketgo/rocketgo/client"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/tests/cluster"
)

// localMillis is a time as a datetime-local input with step 0.001 takes it.
//
// It is the normalized form a datetime-local input keeps (the HTML standard's shortest
// form: no trailing zeros in the fraction, no seconds when they and the fraction are
// zero); chromedp's SetValue fails when the value read back differs from the one set.
func localMillis(ms int64) string {
	t := time.UnixMilli(ms).Local()
	if t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format("2006-01-02T15:04")
	}
	return t.Format("2006-01-02T15:04:05.999")
}

// nextMilli waits until the clock has passed ms, so the next message is stored after it.
func nextMilli(t *testing.T, ms int64) {
	testutil.Eventually(t, 5*time.Second, "the clock to pass a millisecond", func() bool { return time.Now().UnixMilli() > ms })
}

// TestDashboardBrowseResendTimers drives the messages page's browse by time range and
// resend, and the timer messages page, in headless Chromium: a browse finds exactly
// the messages stored in the range, newest first; a resent message reaches the live
// group's consumer; a listed timer message cancelled in the page is never delivered,
// while a later one is.
func TestDashboardBrowseResendTimers(t *testing.T) {
	if chromePath() == "" {
		t.Skip("no chromium binary found (install chromium, or set $CHROME)")
	}
	c := cluster.Start(t)
	ns := c.NamesrvAddr()
	const browseTopic, timerTopic, group = "browsed", "later", "watchers"
	c.CreateTopic(t, browseTopic, 2)
	c.CreateTopic(t, timerTopic, 1)
	c.CreateTopic(t, client.RetryTopic(group), 1)
	ctx := context.Background()
	p, err := client.NewProducer(client.WithNameServer(ns), client.WithInstanceName("browse-producer"),
		client.WithLogger(quietLogger(t)), client.WithProducerGroup("PG_browse"))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Shutdown(context.Background()) })
	watchers := &deliveries{}
	pushConsumer(t, ns, group, timerTopic, watchers.listener)

	// Three batches, each stored strictly after the one before; the range is the middle one.
	send := func(batch string, n int) int64 {
		for i := range n {
			key := fmt.Sprintf("%s-%d", batch, i)
			if _, err := p.Send(ctx, client.NewMessage(browseTopic, []byte("body of "+key)).WithKeys(key)); err != nil {
				t.Fatal(err)
			}
		}
		return time.Now().UnixMilli()
	}
	afterA := send("A", 3)
	nextMilli(t, afterA)
	begin := time.Now().UnixMilli()
	end := send("B", 4)
	nextMilli(t, end)
	send("C", 2)

	// A message the live group consumed once; the page resends it.
	if _, err := p.Send(ctx, client.NewMessage(timerTopic, []byte("resend me")).WithKeys("R-0")); err != nil {
		t.Fatal(err)
	}
	received := func(body string) int {
		n := 0
		for _, m := range watchers.snapshot() {
			if string(m.Body) == body {
				n++
			}
		}
		return n
	}
	testutil.Eventually(t, 20*time.Second, "watchers consuming R-0", func() bool { return received("resend me") == 1 })

	srv, err := New(Config{NameServers: []string{ns}, Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	addr, err := srv.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, "http://"+addr+"/")

	t.Run("browse by time range", func(t *testing.T) {
		b.open(t, "messages")
		b.do(t, "browse the range", chromedp.SetValue(chromedp.ID("browse-topic"), browseTopic),
			chromedp.SetValue(chromedp.ID("browse-begin"), localMillis(begin)), chromedp.SetValue(chromedp.ID("browse-end"), localMillis(end)),
			chromedp.Click(chromedp.ID("msg-browse")))
		b.waitJS(t, "the browse answer", `document.getElementById('browse-count')?.innerText === '4 message(s)'`)
		keys, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('#msg-table tbody tr'), tr => tr.cells[3].innerText)`))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Join(keys, " "), "B-3 B-2 B-1 B-0"; got != want {
			t.Errorf("browsed keys %q, want %q (batch B only, newest first)", got, want)
		}
		if n, _ := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#browse-note').length`)); n != 0 {
			t.Errorf("a 4-message browse says it was truncated or failed")
		}
		b.screenshot(t, "messages-browse")
	})

	t.Run("resend to a live group", func(t *testing.T) {
		b.do(t, "browse later", chromedp.SetValue(chromedp.ID("browse-topic"), timerTopic),
			chromedp.SetValue(chromedp.ID("browse-begin"), localMillis(begin)), chromedp.SetValue(chromedp.ID("browse-end"), ""),
			chromedp.Click(chromedp.ID("msg-browse")))
		b.waitJS(t, "R-0 alone", `document.getElementById('msg-body')?.innerText === 'resend me'`)
		b.do(t, "name the group", chromedp.SetValue(chromedp.ID("resend-group"), group))
		b.confirm(t, "#resend-btn")
		b.waitJS(t, "the resend reported", `/^resent to .+: CR_SUCCESS$/.test(document.getElementById('flash').innerText)`)
		testutil.Eventually(t, 10*time.Second, "watchers receiving R-0 a second time", func() bool { return received("resend me") == 2 })
		b.do(t, "scroll to the resend row", chromedp.ScrollIntoView(chromedp.ID("resend-btn")))
		b.screenshot(t, "messages-resend")
	})

	t.Run("timers list and cancel", func(t *testing.T) {
		cancelled, err := p.Send(ctx, client.NewMessage(timerTopic, []byte("cancel me")).WithTags("T").WithDeliverDelay(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		kept, err := p.Send(ctx, client.NewMessage(timerTopic, []byte("keep me")).WithTags("T").WithDeliverDelay(12*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		b.open(t, "timers")
		b.do(t, "list later", chromedp.SetValue(chromedp.ID("timers-topic"), timerTopic), chromedp.Click(chromedp.ID("timers-load")))
		b.waitJS(t, "both timers listed in due order", fmt.Sprintf(`(() => {
			const rows = Array.from(document.querySelectorAll('#timers-table tbody tr'), tr => Array.from(tr.cells, c => c.innerText));
			return rows.length === 2 && rows[0][0] === %q && rows[1][0] === %q && rows.every(r => r[4] === 'timer' && r[1] === 'later / 0'); })()`,
			cancelled.MsgID, kept.MsgID))
		b.screenshot(t, "timers")
		b.confirm(t, "#timers-table tbody tr:first-child .timer-row-cancel")
		b.waitJS(t, "the cancel reported", `document.getElementById('flash').innerText === 'cancelled 1 timer message(s)'`)
		b.waitJS(t, "the list without it", fmt.Sprintf(`(() => { const rows = document.querySelectorAll('#timers-table tbody tr');
			return rows.length === 1 && rows[0].cells[0].innerText === %q; })()`, kept.MsgID))
		// The kept timer is due after the cancelled one: once it arrives, the cancelled
		// one would have too.
		testutil.Eventually(t, 30*time.Second, "the kept timer delivered", func() bool { return received("keep me") == 1 })
		if received("cancel me") != 0 {
			t.Fatalf("the cancelled timer message was delivered: %s", bodies(watchers.snapshot()))
		}
	})

	t.Run("api bad input", func(t *testing.T) {
		for _, q := range []string{"messages/browse?topic=bad%20topic!", "messages/browse?topic=x&begin=5&end=4", "timers?topic=bad%20topic!"} {
			st, body := getJSON(t, "http://"+addr+"/api/"+q)
			if st != 400 || body["error"] == "" {
				t.Errorf("GET %s: %d %v, want 400 with an error", q, st, body)
			}
		}
	})
}

// getJSON fetches a JSON object.
func getJSON(t *testing.T, url string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]string
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}
