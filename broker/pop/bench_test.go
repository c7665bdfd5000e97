package pop

import (
	"context"
	"testing"
	"time"
)

// BenchmarkReceiveAck measures one message through Receive (batches of 32) and Ack on
// a real store: the POP records of both are appended to the CommitLog.
func BenchmarkReceiveAck(b *testing.B) {
	e := newEnv(b)
	for sent := 0; sent < b.N; sent += 1000 {
		e.send(0, min(1000, b.N-sent), "a")
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		res, err := e.s.Receive(ctx, ReceiveRequest{Group: testGroup, Topic: testTopic, QueueID: 0, Queues: 2,
			MaxNum: 32, InvisibleTime: time.Minute, InitMode: InitMin})
		if err != nil || len(res.Messages) == 0 {
			b.Fatalf("receive after %d: %v", done, err)
		}
		for _, m := range res.Messages {
			if err := e.s.Ack(ctx, testGroup, testTopic, m.Handle); err != nil {
				b.Fatal(err)
			}
		}
		done += len(res.Messages)
	}
}
