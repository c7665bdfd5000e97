package ha

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/tests/internal/proctest"
)

// CreateTopic creates topic with queues read and write queues on the broker at addr.
func CreateTopic(t testing.TB, addr, topic string, queues int32) {
	t.Helper()
	h := &header.CreateTopicRequest{Topic: topic, DefaultTopic: "TBW102", ReadQueueNums: queues, WriteQueueNums: queues,
		Perm: body.PermRead | body.PermWrite, TopicFilterType: body.FilterSingleTag}
	resp, err := Invoke(addr, codec.NewRequest(code.UpdateAndCreateTopic, h.Encode(), nil))
	if err != nil || resp.Code != code.Success {
		t.Fatalf("create topic %s on %s: %v %v", topic, addr, err, resp)
	}
}

// SendResult is the outcome of one send.
type SendResult struct {
	Index       int
	Code        int32
	Remark      string
	QueueID     int32
	QueueOffset int64
	Latency     time.Duration
	Err         error
}

// sendRequest builds a SEND_MESSAGE of body to topic's queue.
func sendRequest(topic string, queue int32, b []byte, props map[string]string) *codec.Command {
	h := &header.SendMessageRequest{
		ProducerGroup:         "ha-producer",
		Topic:                 topic,
		DefaultTopic:          "TBW102",
		DefaultTopicQueueNums: 4,
		QueueID:               queue,
		BornTimestamp:         time.Now().UnixMilli(),
		Properties:            message.EncodeProperties(props),
		MaxReconsumeTimes:     header.Int32(0),
	}
	return codec.NewRequest(code.SendMessage, h.Encode(), b)
}

// result turns a send answer into a SendResult.
func result(i int, resp *codec.Command, err error, took time.Duration) SendResult {
	r := SendResult{Index: i, Latency: took, Err: err}
	if err != nil {
		return r
	}
	r.Code, r.Remark = resp.Code, resp.Remark
	var h header.SendMessageResponse
	if resp.Code == code.Success || resp.Code == code.FlushDiskTimeout || resp.Code == code.FlushSlaveTimeout || resp.Code == code.SlaveNotAvailable {
		if derr := h.Decode(resp.ExtFields); derr != nil {
			r.Err = derr
			return r
		}
		r.QueueID, r.QueueOffset = h.QueueID, h.QueueOffset
	}
	return r
}

// SendOne sends one message and waits for the answer.
func SendOne(addr, topic string, queue int32, b []byte) SendResult {
	began := time.Now()
	resp, err := Invoke(addr, sendRequest(topic, queue, b, nil))
	return result(0, resp, err, time.Since(began))
}

// SendMany sends bodies[i] to queue i % queues of topic, keeping up to window requests
// in flight, and returns every result in input order. It stops early if ctx ends
// (results not sent have Err set).
func SendMany(ctx context.Context, addr, topic string, queues int, bodies [][]byte, window int) []SendResult {
	out := make([]SendResult, len(bodies))
	sem := make(chan struct{}, window)
	var wg sync.WaitGroup
	for i, b := range bodies {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			for j := i; j < len(bodies); j++ {
				out[j] = SendResult{Index: j, Err: ctx.Err()}
			}
			wg.Wait()
			return out
		}
		wg.Add(1)
		began := time.Now()
		i := i
		cctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		err := proctest.Client().InvokeAsync(cctx, addr, sendRequest(topic, int32(i%queues), b, nil), func(resp *codec.Command, err error) {
			out[i] = result(i, resp, err, time.Since(began))
			cancel()
			<-sem
			wg.Done()
		})
		if err != nil {
			out[i] = SendResult{Index: i, Err: err}
			cancel()
			<-sem
			wg.Done()
		}
	}
	wg.Wait()
	return out
}

// Record is one pulled message.
type Record struct {
	QueueID     int32
	QueueOffset int64
	Body        []byte
	Raw         []byte // the stored record, as the pull returned it
}

// pullRequest is a PULL_MESSAGE of up to 32 messages, without long polling.
func pullRequest(group, topic string, queue int32, offset int64) *codec.Command {
	h := &header.PullMessageRequest{ConsumerGroup: group, Topic: topic, QueueID: queue, QueueOffset: offset,
		MaxMsgNums: 32, ExpressionType: "TAG"}
	return codec.NewRequest(code.PullMessage, h.Encode(), nil)
}

// ServesTopic reports whether the broker at addr knows topic: a pull of it is not
// answered TOPIC_NOT_EXIST (a slave knows a topic once it copied its master's configs).
func ServesTopic(addr, topic string) bool {
	resp, err := Invoke(addr, pullRequest("probe", topic, 0, 0))
	return err == nil && resp.Code != code.TopicNotExist
}

// Pull reads queue of topic from offset from up to (excluding) offset to, by repeated
// PULL_MESSAGE requests to addr without long polling; it fails the test on any answer
// other than found or not-yet.
func Pull(t testing.TB, addr, group, topic string, queue int32, from, to int64) []Record {
	t.Helper()
	var out []Record
	deadline := time.Now().Add(30 * time.Second)
	for off := from; off < to; {
		resp, err := Invoke(addr, pullRequest(group, topic, queue, off))
		if err != nil {
			t.Fatalf("pull %s/%d at %d from %s: %v", topic, queue, off, addr, err)
		}
		var ph header.PullMessageResponse
		if err := ph.Decode(resp.ExtFields); err != nil {
			t.Fatalf("pull %s/%d at %d: answer %d %q without offsets: %v", topic, queue, off, resp.Code, resp.Remark, err)
		}
		switch resp.Code {
		case code.Success:
			for b := resp.Body; len(b) > 0; {
				m, n, err := message.DecodeRecord(b)
				if err != nil {
					t.Fatalf("pull %s/%d at %d: record: %v", topic, queue, off, err)
				}
				out = append(out, Record{QueueID: m.QueueID, QueueOffset: m.QueueOffset, Body: m.Body, Raw: append([]byte(nil), b[:n]...)})
				b = b[n:]
			}
			off = ph.NextBeginOffset
		case code.PullNotFound, code.PullRetryImmediately:
			if time.Now().After(deadline) {
				t.Fatalf("pull %s/%d: stuck at %d (want up to %d): %d %q", topic, queue, off, to, resp.Code, resp.Remark)
			}
			time.Sleep(20 * time.Millisecond)
		default:
			t.Fatalf("pull %s/%d at %d from %s: code %d %q", topic, queue, off, addr, resp.Code, resp.Remark)
		}
	}
	return out
}

// MaxOffset returns a queue's max offset on the broker at addr.
func MaxOffset(t testing.TB, addr, topic string, queue int32) int64 {
	t.Helper()
	h := &header.QueueRequest{Topic: topic, QueueID: queue}
	resp, err := Invoke(addr, codec.NewRequest(code.GetMaxOffset, h.Encode(), nil))
	if err != nil {
		t.Fatalf("max offset of %s/%d on %s: %v", topic, queue, addr, err)
	}
	var off int64
	if _, err := fmt.Sscan(resp.ExtFields["offset"], &off); err != nil {
		t.Fatalf("max offset of %s/%d: %q", topic, queue, resp.ExtFields["offset"])
	}
	return off
}

// Percentiles returns the p50 and p99 of ds.
func Percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)*50/100], s[min(len(s)*99/100, len(s)-1)]
}

// LogChecksum returns the SHA-256 of the CommitLog bytes [from, to) of the store in
// dir, read from its segment files of segBytes each.
func LogChecksum(t testing.TB, dir string, segBytes, from, to int64) string {
	t.Helper()
	h := sha256.New()
	for pos := from; pos < to; {
		start := pos - pos%segBytes
		f, err := os.Open(filepath.Join(dir, "commitlog", fmt.Sprintf("%020d", start)))
		if err != nil {
			t.Fatalf("checksum of %s: %v", dir, err)
		}
		end := min(to, start+segBytes)
		if _, err := io.Copy(h, io.NewSectionReader(f, pos-start, end-pos)); err != nil {
			f.Close()
			t.Fatalf("checksum of %s: %v", dir, err)
		}
		f.Close()
		pos = end
	}
	return hex.EncodeToString(h.Sum(nil))
}

// BrokerAddrs returns the addresses by brokerId of brokerName in topic's route on the
// NameServer at ns; nil when the route or the broker is missing.
func BrokerAddrs(ns, topic, brokerName string) map[int64]string {
	h := &header.GetRouteInfoRequest{Topic: topic}
	resp, err := Invoke(ns, codec.NewRequest(code.GetRouteInfoByTopic, h.Encode(), nil))
	if err != nil || resp.Code != code.Success {
		return nil
	}
	r, err := body.DecodeTopicRouteData(resp.Body)
	if err != nil {
		return nil
	}
	for _, b := range r.BrokerDatas {
		if b.BrokerName == brokerName {
			return b.BrokerAddrs
		}
	}
	return nil
}

// CommittedOffset returns group's committed offset of topic's queue on the broker at
// addr; ok is false when none is stored or the broker does not answer.
func CommittedOffset(addr, group, topic string, queue int32) (int64, bool) {
	h := &header.QueryConsumerOffsetRequest{ConsumerGroup: group, Topic: topic, QueueID: queue, SetZeroIfNotFound: header.Bool(false)}
	resp, err := Invoke(addr, codec.NewRequest(code.QueryConsumerOffset, h.Encode(), nil))
	if err != nil || resp.Code != code.Success {
		return 0, false
	}
	var off int64
	if _, err := fmt.Sscan(resp.ExtFields["offset"], &off); err != nil {
		return 0, false
	}
	return off, true
}
