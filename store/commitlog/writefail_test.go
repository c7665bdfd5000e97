package commitlog

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// TestAsyncAppendManyWriteFailureNotAcked: under ASYNC_FLUSH a unit of AppendMany is
// acknowledged only if its records reached the file. Here unit 0 is staged, unit 1
// does not fit the segment, so appendLocked commits unit 0 before the roll; that write
// fails. Unit 0 must then get an error too: its records are neither in the file nor
// below Written.
func TestAsyncAppendManyWriteFailureNotAcked(t *testing.T) {
	l := fixedLog(t, t.TempDir(), false)
	defer l.Close()
	l.files.Last().Fail(errors.New("injected EIO"))
	small := record(t, "T", 0, []byte("x"))
	big := record(t, "T", 0, bytes.Repeat([]byte{1}, 16200)) // 16 KiB segments: forces a roll
	units := []Unit{
		{Recs: small, Count: 1, Topic: []byte("T"), QueueID: 0, Advance: true},
		{Recs: big, Count: 1, Topic: []byte("T"), QueueID: 0, Advance: true},
	}
	res, errs := make([]Result, 2), make([]error, 2)
	l.AppendMany(units, res, errs)
	for i := range units {
		if errs[i] == nil && res[i].EndOffset > l.Written() {
			t.Errorf("unit %d acknowledged (%+v) but the log's written end is %d (log error: %v)", i, res[i], l.Written(), l.Err())
		}
	}
}

// TestExclusiveAfterAsyncWriteFailure: after a failed ASYNC_FLUSH write, Written called
// inside Exclusive (Store.DeleteTopic does) must not try to commit under the held lock.
func TestExclusiveAfterAsyncWriteFailure(t *testing.T) {
	l := fixedLog(t, t.TempDir(), false)
	l.files.Last().Fail(errors.New("injected EIO"))
	if _, err := l.Append(record(t, "T", 0, []byte("x")), 1, []byte("T"), 0, true); !errors.Is(err, ErrWriteFailed) {
		t.Fatalf("append on a failed segment: %v", err)
	}
	done := make(chan int64, 1)
	go func() {
		_ = l.Exclusive(func() error { done <- l.Written(); return nil })
	}()
	select {
	case w := <-done:
		if w != 0 {
			t.Fatalf("written %d, want 0", w)
		}
		l.Close()
	case <-time.After(5 * time.Second):
		t.Fatal("Exclusive deadlocked: Written inside it commits under the held lock")
	}
}
