package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/rocketgo/rocketgo/internal/testutil"
)

// chromePath finds a Chromium or Chrome binary: $CHROME, then the usual names on PATH.
func chromePath() string {
	if p := os.Getenv("CHROME"); p != "" {
		return p
	}
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// browser is one headless Chromium tab shared by the subtests, recording every console
// error, uncaught exception and error log entry of the page.
type browser struct {
	ctx  context.Context
	base string
	shot string // screenshot directory

	mu     sync.Mutex
	errors []string
}

func newBrowser(t *testing.T, base string) *browser {
	exe := chromePath()
	if exe == "" {
		t.Skip("no chromium binary found (install chromium, or set $CHROME)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 860), chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{ctx: ctx, base: base, shot: os.Getenv("ROCKETGO_SCREENSHOTS")}
	if b.shot == "" {
		b.shot = t.TempDir()
	} else if err := os.MkdirAll(b.shot, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Listen(ctx, b.record); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base)); err != nil {
		t.Fatalf("start chromium %s: %v", exe, err)
	}
	return b
}

func (b *browser) record(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		var parts []string
		for _, a := range ev.Args {
			parts = append(parts, string(a.Value)+a.Description)
		}
		msg = "console.error: " + strings.Join(parts, " ")
	case *runtime.EventExceptionThrown:
		msg = "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
	case *log.EventEntryAdded:
		if ev.Entry.Level != log.EntryLevelError {
			return
		}
		msg = "log error: " + ev.Entry.Text + " " + ev.Entry.URL
	default:
		return
	}
	b.mu.Lock()
	b.errors = append(b.errors, msg)
	b.mu.Unlock()
}

// takeErrors returns and clears the errors recorded so far.
func (b *browser) takeErrors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.errors
	b.errors = nil
	return e
}

// do runs actions with a deadline.
func (b *browser) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v (page errors %q)", what, err, b.takeErrors())
	}
}

// waitJS waits until the JavaScript expression is true.
func (b *browser) waitJS(t *testing.T, what, expr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('main').innerText.slice(0, 2000) + ' | flash: ' + document.getElementById('flash').innerText`))
		t.Fatalf("waiting for %s (%s): %v\npage: %s\nerrors: %q", what, expr, err, text, b.takeErrors())
	}
}

// open navigates to a page of the dashboard and waits until it has rendered.
func (b *browser) open(t *testing.T, page string) {
	t.Helper()
	b.do(t, "open "+page, chromedp.Navigate(b.base+"#/"+page))
	b.waitJS(t, page+" rendered", fmt.Sprintf(`document.body.dataset.page === %q`, page))
}

// confirm clicks the button, then Confirm in the dialog it opens.
func (b *browser) confirm(t *testing.T, button string) {
	t.Helper()
	b.do(t, "click "+button, chromedp.Click(chromedp.CSS(button)))
	b.waitJS(t, "the confirm dialog", `document.getElementById('confirm').open`)
	b.do(t, "confirm", chromedp.Click(chromedp.ID("confirm-ok")))
}

// screenshot saves the viewport as dashboard-<name>.png and checks no error was logged.
func (b *browser) screenshot(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(b.shot, "dashboard-"+name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
	if errs := b.takeErrors(); len(errs) > 0 {
		t.Errorf("page %s logged errors: %q", name, errs)
	}
	// Errors the page caught itself are shown in the red banner.
	if shown, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(f => f.hidden || f.className !== 'bad' ? '' : f.innerText)(document.getElementById('flash'))`)); shown != "" {
		t.Errorf("page %s shows the error %q", name, shown)
	}
}

// TestDashboardInBrowser drives every page in headless Chromium against an in-process
// cluster after a workload and checks what it shows and what its actions change.
func TestDashboardInBrowser(t *testing.T) {
	if chromePath() == "" {
		t.Skip("no chromium binary found (install chromium, or set $CHROME)")
	}
	w := startWorkload(t)
	srv, err := New(Config{NameServers: []string{w.c.NamesrvAddr()}, Logger: quietLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	addr, err := srv.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + addr + "/"
	b := newBrowser(t, base)
	ctx := context.Background()

	t.Run("cluster", func(t *testing.T) {
		b.open(t, "cluster")
		b.waitJS(t, "the broker row", fmt.Sprintf(`(document.querySelector('#brokers-table')?.innerText || '').includes(%q) &&
			document.querySelector('#brokers-table').innerText.includes('MASTER') && document.querySelector('#brokers-table').innerText.includes(%q)`,
			w.c.BrokerName(), w.c.BrokerAddr()))
		// The chart has drawn its canvas.
		b.waitJS(t, "the TPS chart", `!!document.querySelector('#tps-chart canvas')`)
		b.screenshot(t, "cluster")
	})

	t.Run("topics", func(t *testing.T) {
		b.open(t, "topics")
		b.waitJS(t, "orders listed, retry topics hidden", `(() => { const s = document.querySelector('#topics-table')?.innerText || '';
			return s.includes('orders') && s.includes('payments') && !s.includes('%RETRY%') && !s.includes('broker-a'); })()`)
		b.do(t, "open orders", chromedp.Click(chromedp.Search(`//table[@id='topics-table']//td[text()='orders']`)))
		b.waitJS(t, "50 messages in 4 queues", `document.getElementById('topic-total')?.innerText === '50' &&
			document.querySelectorAll('#queues-table tbody tr').length === 4`)
		// QUERY_TOPIC_CONSUME_BY_WHO names billing, which holds offsets on orders.
		b.waitJS(t, "billing among the consumer groups", `/consumer groups:[^\n]*billing/.test(document.getElementById('topic-info').innerText)`)
		b.screenshot(t, "topics")
	})

	t.Run("groups", func(t *testing.T) {
		b.open(t, "groups")
		b.waitJS(t, "billing with lag 10", `Array.from(document.querySelectorAll('#groups-table tbody tr')).some(tr =>
			tr.cells[0].innerText === 'billing' && tr.cells[5].innerText === '10')`)
		b.do(t, "open billing", chromedp.Click(chromedp.Search(`//table[@id='groups-table']//td[text()='billing']`)))
		b.waitJS(t, "billing's lag", `document.getElementById('group-lag')?.innerText === '10'`)
		b.screenshot(t, "groups")

		// Reset billing on orders to a day ago: before every message, so it will read all 50 again.
		dayAgo := time.Now().Add(-24 * time.Hour).Format("2006-01-02T15:04:05")
		b.do(t, "fill the reset form", chromedp.SetValue(chromedp.ID("reset-topic"), ordersTopic), chromedp.SetValue(chromedp.ID("reset-time"), dayAgo))
		b.confirm(t, "#reset-btn")
		b.waitJS(t, "the reset reported", `document.getElementById('flash').innerText === 'reset 4 queues of billing'`)
		prog, err := w.admin.ConsumerProgress(ctx, ordersGroup, ordersTopic)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range prog.Queues {
			if q.Queue.Topic == ordersTopic && q.ConsumerOffset != 0 {
				t.Errorf("after the reset %v has consumer offset %d, want 0", q.Queue, q.ConsumerOffset)
			}
		}
		if lag := lagOn(prog, ordersTopic); lag != firstBatch+secondBatch {
			t.Errorf("lag after the reset %d, want %d", lag, firstBatch+secondBatch)
		}
		b.waitJS(t, "the page showing the new lag", `document.getElementById('group-lag')?.innerText === '50'`)
		b.takeErrors()
	})

	t.Run("messages", func(t *testing.T) {
		b.open(t, "messages")
		b.do(t, "search by key", chromedp.SetValue(chromedp.ID("msg-topic"), ordersTopic), chromedp.SetValue(chromedp.ID("msg-key"), "order-7"),
			chromedp.Click(chromedp.ID("msg-search-key")))
		b.waitJS(t, "the body of order-7", `document.getElementById('msg-body')?.innerText === '{"order":7,"amount":17.50,"currency":"EUR"}'`)
		b.waitJS(t, "one row, tag and key", `document.querySelectorAll('#msg-table tbody tr').length === 1 &&
			document.querySelector('#msg-table').innerText.includes('paid') && document.querySelector('#msg-table').innerText.includes('order-7')`)
		b.do(t, "JSON view", chromedp.Click(chromedp.CSS(`input[name=bodyview][value=json]`)))
		b.waitJS(t, "the body as JSON", `document.getElementById('msg-body').innerText.includes('"currency": "EUR"')`)
		b.do(t, "hex view", chromedp.Click(chromedp.CSS(`input[name=bodyview][value=hex]`)))
		b.waitJS(t, "the body as hex", `document.getElementById('msg-body').innerText.startsWith('7b 22 6f 72')`)

		// The trace: a Pub by the producer group and a Sub by billing, drawn as a timeline.
		id, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.querySelector('#msg-table tbody td').innerText`))
		if err != nil {
			t.Fatal(err)
		}
		testutil.Eventually(t, 15*time.Second, "the trace of order-7 queryable", func() bool {
			recs, err := w.admin.QueryMsgTrace(ctx, "", id)
			return err == nil && len(recs) >= 3
		})
		b.do(t, "show trace", chromedp.Click(chromedp.ID("trace-btn")))
		b.waitJS(t, "a Pub row and a Sub row of billing", fmt.Sprintf(`(() => {
			const rows = Array.from(document.querySelectorAll('#trace-table tbody tr'), tr => Array.from(tr.cells, c => c.innerText));
			return rows.length === 2 && rows[0][0] === 'Pub' && rows[0][1] === %q && rows[0][5] === 'success' &&
				rows[1][0] === 'Sub' && rows[1][1] === %q && rows[1][5] === 'success' && rows.every(r => /^\d+ ms$/.test(r[4]) && r[2] !== ''); })()`,
			ordersProducerGroup, ordersGroup))
		b.waitJS(t, "the timeline chart", `!!document.querySelector('#trace-chart canvas')`)
		b.waitJS(t, "the raw records folded", `(d => !!d && !d.open && d.querySelector('pre').textContent.includes('"SubAfter"'))(document.querySelector('#trace details'))`)
		b.do(t, "scroll to the trace", chromedp.ScrollIntoView(chromedp.ID("trace")))
		b.screenshot(t, "messages")
	})

	t.Run("dlq", func(t *testing.T) {
		b.open(t, "dlq")
		b.do(t, "list refunds", chromedp.SetValue(chromedp.ID("dlq-group"), poisonGroup), chromedp.Click(chromedp.ID("dlq-load")))
		b.waitJS(t, "the dead letter", `!!document.querySelector('button.dlq-resend') &&
			document.getElementById('msg-body')?.innerText === `+"`"+poisonedBody+"`")
		b.screenshot(t, "dlq")
		before := len(w.refunds.snapshot())
		w.refunds.setFailing(false)
		b.confirm(t, "button.dlq-resend")
		b.waitJS(t, "the resend reported", `document.getElementById('flash').innerText === 'resent 1 message(s)'`)
		testutil.Eventually(t, 20*time.Second, "refunds receiving the resent dead letter", func() bool {
			got := w.refunds.snapshot()
			return len(got) > before && string(got[len(got)-1].Body) == poisonedBody && got[len(got)-1].ReconsumeTimes == 0 &&
				got[len(got)-1].Topic == poisonTopic
		})
		t.Logf("refunds deliveries: %s", bodies(w.refunds.snapshot()))
	})

	t.Run("transactions", func(t *testing.T) {
		b.open(t, "transactions")
		b.waitJS(t, "the empty list", `(document.querySelector('#tx-table')?.innerText || '').includes('no pending transaction')`)
		b.screenshot(t, "transactions")
	})

	t.Run("timers", func(t *testing.T) {
		b.open(t, "timers")
		b.do(t, "cancel an unknown id", chromedp.SetValue(chromedp.ID("timer-topic"), ordersTopic), chromedp.SetValue(chromedp.ID("timer-id"), "7F0000010000000000000000DEADBEEF"))
		b.confirm(t, "#timer-cancel")
		b.waitJS(t, "nothing cancelled", `document.getElementById('flash').innerText.startsWith('nothing pending')`)
		b.screenshot(t, "timers")
	})

	t.Run("config", func(t *testing.T) {
		b.open(t, "config")
		b.waitJS(t, "the runtime table", `(() => { const s = document.querySelector('.runtime-table')?.innerText || '';
			return s.includes('brokerVersionDesc') && s.includes('commitLogMaxOffset'); })()`)
		b.waitJS(t, "the not-supported note", `document.querySelector('main .note').innerText.includes('not supported')`)
		b.screenshot(t, "config")
	})

	t.Run("bad input", func(t *testing.T) {
		for _, c := range []struct{ method, path, body, want string }{
			{"GET", "api/topic", "", "topic is required"},
			{"GET", "api/messages/key?topic=orders&key=k&begin=x", "", `begin="x" is not an integer`},
			{"POST", "api/topic", `{"topic":"bad topic!"}`, "only letters"},
			{"POST", "api/topic", `{"topic":`, "request body"},
			{"POST", "api/group/reset", `{"group":"billing"}`, "timestamp"},
			{"POST", "api/dlq/resend", `{"group":"refunds","addr":"x","count":-1}`, "count must be"},
			{"POST", "api/transactions/resolve", `{"unknown":1}`, "unknown field"},
		} {
			req, _ := http.NewRequest(c.method, base+c.path, strings.NewReader(c.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var e struct{ Error string }
			err = json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || err != nil || !strings.Contains(e.Error, c.want) {
				t.Errorf("%s %s %s: %d %q (%v), want 400 naming %q", c.method, c.path, c.body, resp.StatusCode, e.Error, err, c.want)
			}
		}
	})
}
