package broker

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/store"
)

// The two forms of store.ErrDiskFull the store produces (store/retention.go admit, and
// store/store.go append on ENOSPC), with the text that tells the operator why.
const fullUsage = "/data/rocketgo/store is 96.4% used (371 MiB free); sends are refused above 90.0% or below 256 MiB free and resume by themselves"

var (
	errFullByUsage = fmt.Errorf("%w: %s", store.ErrDiskFull, fullUsage)
	errFullENOSPC  = fmt.Errorf("%w: %v", store.ErrDiskFull,
		fmt.Errorf("commitlog: create segment 00000000000004194304: %w", syscall.ENOSPC))
)

// TestResponseCodeDiskFull: the one error table maps a full disk, however the store
// worded or wrapped it, to SERVICE_NOT_AVAILABLE (14), and the remark is the store's
// own text naming the usage. Neighbouring store errors keep their own codes.
func TestResponseCodeDiskFull(t *testing.T) {
	cases := []struct {
		name     string
		err      error
		code     int32
		remarkIn []string
	}{
		{"usage above diskSpaceWarningLevelRatio", errFullByUsage, code.ServiceNotAvailable,
			[]string{"store: disk full", fullUsage}},
		{"ENOSPC on a new segment", errFullENOSPC, code.ServiceNotAvailable,
			[]string{"store: disk full", syscall.ENOSPC.Error(), "00000000000004194304"}},
		{"wrapped once more", fmt.Errorf("append to T/3: %w", errFullByUsage), code.ServiceNotAvailable,
			[]string{"append to T/3", "96.4% used", "above 90.0%"}},
		{"closed store", fmt.Errorf("%w", store.ErrClosed), code.ServiceNotAvailable, nil},
		{"flush timeout", store.ErrFlushTimeout, code.FlushDiskTimeout, nil},
		{"write failed", store.ErrWriteFailed, code.SystemError, nil},
		{"too large", fmt.Errorf("%w: body of 9 bytes, limit 8", store.ErrMessageTooLarge), code.MessageIllegal,
			[]string{"limit 8"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := responseCode(c.err); got != c.code {
				t.Fatalf("responseCode(%q) = %d, want %d", c.err, got, c.code)
			}
			req := codec.NewRequest(code.SendMessage, nil, nil)
			resp := errorResponse(req, c.err)
			if resp.Code != c.code || resp.Remark != remarkOf(c.err) || resp.Remark != c.err.Error() {
				t.Fatalf("errorResponse: code %d remark %q, want %d %q", resp.Code, resp.Remark, c.code, c.err.Error())
			}
			for _, s := range c.remarkIn {
				if !strings.Contains(resp.Remark, s) {
					t.Fatalf("remark %q does not name %q", resp.Remark, s)
				}
			}
		})
	}
}

// fullDisk is the store with appends failing as a full disk makes them fail; the error
// can be cleared to let appends through again.
type fullDisk struct {
	*store.Store
	mu  sync.Mutex
	err error
}

func (f *fullDisk) fail() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

func (f *fullDisk) set(err error) {
	f.mu.Lock()
	f.err = err
	f.mu.Unlock()
}

func (f *fullDisk) Put(rec []byte) (store.PutResult, error) {
	if err := f.fail(); err != nil {
		return store.PutResult{}, err
	}
	return f.Store.Put(rec)
}

func (f *fullDisk) PutBatch(recs []byte) (store.PutResult, error) {
	if err := f.fail(); err != nil {
		return store.PutResult{}, err
	}
	return f.Store.PutBatch(recs)
}

func (f *fullDisk) PutMany(items []store.PutItem, res []store.PutResult, errs []error) {
	if err := f.fail(); err != nil {
		for i := range items {
			res[i], errs[i] = store.PutResult{}, err
		}
		return
	}
	f.Store.PutMany(items, res, errs)
}

// TestSendDiskFull: single, V2 and batch sends whose append fails with the store's
// disk-full error are answered SERVICE_NOT_AVAILABLE with the store's usage text, store
// nothing, and carry the send answer's region fields; once the disk has room the same
// queue takes the next send at offset 0.
func TestSendDiskFull(t *testing.T) {
	fd := &fullDisk{}
	h := newHarnessWith(t, func(b *Broker) {
		fd.Store = b.store
		b.putDst = fd
	})
	h.createTopic("DF", 1, 6)
	bb, err := message.EncodeBatch(nil, []message.BatchEntry{{Body: []byte("b0")}, {Body: []byte("b1")}})
	if err != nil {
		t.Fatal(err)
	}
	v2 := header.SendMessageRequestV2{SendMessageRequest: *sendReq("DF", 0, nil)}
	batch := v2
	batch.Batch = true
	sends := []struct {
		name string
		c    int32
		ext  map[string]string
		body []byte
	}{
		{"SEND_MESSAGE", code.SendMessage, sendReq("DF", 0, nil).Encode(), []byte("single")},
		{"SEND_MESSAGE_V2", code.SendMessageV2, v2.Encode(), []byte("short header")},
		{"SEND_BATCH_MESSAGE", code.SendBatchMessage, batch.Encode(), bb},
	}
	fulls := []struct {
		name     string
		err      error
		remarkIn []string
	}{
		{"usage", errFullByUsage, []string{fullUsage}},
		{"ENOSPC", errFullENOSPC, []string{"store: disk full", syscall.ENOSPC.Error()}},
	}
	for _, full := range fulls {
		for _, s := range sends {
			t.Run(full.name+"/"+s.name, func(t *testing.T) {
				fd.set(full.err)
				resp := h.call(s.c, s.ext, s.body)
				if resp.Code != code.ServiceNotAvailable {
					t.Fatalf("code %d remark %q, want %d", resp.Code, resp.Remark, code.ServiceNotAvailable)
				}
				if resp.Remark != full.err.Error() {
					t.Fatalf("remark %q, want the store's text %q", resp.Remark, full.err.Error())
				}
				for _, want := range full.remarkIn {
					if !strings.Contains(resp.Remark, want) {
						t.Fatalf("remark %q does not name %q", resp.Remark, want)
					}
				}
				if _, ok := resp.ExtFields[message.PropMsgRegion]; !ok {
					t.Fatalf("refused send lacks %s: %v", message.PropMsgRegion, resp.ExtFields)
				}
				if got := h.b.store.MaxOffset("DF", 0); got != 0 {
					t.Fatalf("queue holds %d units after a refused send", got)
				}
			})
		}
	}
	fd.set(nil)
	if r := h.send("DF", 0, "room again", nil); r.QueueOffset != 0 || r.QueueID != 0 {
		t.Fatalf("send after the disk has room: queue %d offset %d, want 0 0", r.QueueID, r.QueueOffset)
	}
}

// TestSendDiskFullRealStore: with diskSpaceWarningLevelRatio below any real usage the store itself
// refuses the append; the broker answers SERVICE_NOT_AVAILABLE with the store's text,
// which names the directory and the measured usage.
func TestSendDiskFullRealStore(t *testing.T) {
	h := newHarness(t, func(_ *Options, so *store.Options) { so.DiskWarnRatio, so.DiskMaxRatio = 1e-9, 1e-9 })
	h.createTopic("DR", 1, 6)
	resp := h.sendWith(sendReq("DR", 0, nil), []byte("no room"))
	if resp.Code != code.ServiceNotAvailable {
		t.Fatalf("code %d remark %q, want %d", resp.Code, resp.Remark, code.ServiceNotAvailable)
	}
	_, perr := h.b.store.Put(mustRecord(t, "DR"))
	if !errors.Is(perr, store.ErrDiskFull) {
		t.Fatalf("store put: %v, want ErrDiskFull", perr)
	}
	// The usage figure may move between the two appends; everything else is the same.
	for _, want := range []string{"store: disk full", h.so.Dir, "% used", "sends are refused above 0.0%", "resume by themselves"} {
		if !strings.Contains(resp.Remark, want) {
			t.Fatalf("remark %q does not name %q (the store says %q)", resp.Remark, want, perr)
		}
	}
	if got := h.b.store.MaxOffset("DR", 0); got != 0 {
		t.Fatalf("queue holds %d units after a refused send", got)
	}
}

// mustRecord encodes a minimal record of topic.
func mustRecord(t *testing.T, topic string) []byte {
	t.Helper()
	rec, err := message.EncodeRecord(nil, &message.Ext{Topic: topic, Body: []byte("x"), Properties: map[string]string{}})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}
