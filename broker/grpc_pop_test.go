package broker

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/internal/testutil"
	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	pb "github.com/rocketgo/rocketgo/proto/rmqpb"
)

// receive calls ReceiveMessage once and returns the messages and the leading status.
func (g *grpcHarness) receive(t *testing.T, cid, group, topic string, invisible time.Duration) ([]*pb.Message, *pb.Status) {
	t.Helper()
	st, err := g.cli.ReceiveMessage(grpcCtx(t, cid), &pb.ReceiveMessageRequest{Group: &pb.Resource{Name: group},
		MessageQueue: &pb.MessageQueue{Topic: &pb.Resource{Name: topic}, Id: 0}, BatchSize: 8,
		InvisibleDuration: durationpb.New(invisible), LongPollingTimeout: durationpb.New(500 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []*pb.Message
	var status *pb.Status
	for {
		r, err := st.Recv()
		if err != nil {
			return msgs, status
		}
		if s := r.GetStatus(); s != nil && status == nil {
			status = s
		}
		if m := r.GetMessage(); m != nil {
			msgs = append(msgs, m)
		}
	}
}

// Received messages carry receipt handles: an acked one never comes back, an unacked
// one comes back after its invisible time as attempt 2, and a renewed handle acks it.
func TestGRPCReceiveAckRedeliver(t *testing.T) {
	g := newGRPCHarness(t, false)
	g.createTopic("pt", 1, 6)
	ctx := grpcCtx(t, "cid-pop")
	for _, b := range []string{"a", "b"} {
		if sr, err := g.cli.SendMessage(ctx, &pb.SendMessageRequest{Messages: []*pb.Message{grpcMessage("pt", message.NewUniqID(), "t", b)}}); err != nil || sr.Status.Code != pb.Code_OK {
			t.Fatal(err, sr)
		}
	}
	g.waitDispatched("pt", 0, 2)
	msgs, st := g.receive(t, "cid-pop", "gp", "pt", time.Second)
	if st.GetCode() != pb.Code_OK || len(msgs) != 2 || string(msgs[0].Body) != "a" || msgs[0].SystemProperties.GetDeliveryAttempt() != 1 {
		t.Fatalf("first receive: %v %d messages", st, len(msgs))
	}
	ack, err := g.cli.AckMessage(ctx, &pb.AckMessageRequest{Group: &pb.Resource{Name: "gp"}, Topic: &pb.Resource{Name: "pt"},
		Entries: []*pb.AckMessageEntry{{MessageId: msgs[0].SystemProperties.MessageId, ReceiptHandle: msgs[0].SystemProperties.GetReceiptHandle()}}})
	if err != nil || ack.Status.Code != pb.Code_OK {
		t.Fatalf("ack: %v %v", err, ack)
	}
	var again []*pb.Message
	deadline := time.Now().Add(10 * time.Second)
	for len(again) == 0 && time.Now().Before(deadline) {
		again, _ = g.receive(t, "cid-pop", "gp", "pt", 30*time.Second)
	}
	if len(again) != 1 || string(again[0].Body) != "b" || again[0].SystemProperties.GetDeliveryAttempt() != 2 {
		t.Fatalf("redelivered %d messages, want b as attempt 2", len(again))
	}
	ch, err := g.cli.ChangeInvisibleDuration(ctx, &pb.ChangeInvisibleDurationRequest{Group: &pb.Resource{Name: "gp"}, Topic: &pb.Resource{Name: "pt"},
		ReceiptHandle: again[0].SystemProperties.GetReceiptHandle(), InvisibleDuration: durationpb.New(time.Minute), MessageId: again[0].SystemProperties.MessageId})
	if err != nil || ch.Status.Code != pb.Code_OK || ch.ReceiptHandle == "" {
		t.Fatalf("ChangeInvisibleDuration: %v %v", err, ch)
	}
	ack, err = g.cli.AckMessage(ctx, &pb.AckMessageRequest{Group: &pb.Resource{Name: "gp"}, Topic: &pb.Resource{Name: "pt"},
		Entries: []*pb.AckMessageEntry{{MessageId: again[0].SystemProperties.MessageId, ReceiptHandle: ch.ReceiptHandle}}})
	if err != nil || ack.Status.Code != pb.Code_OK {
		t.Fatalf("ack with the renewed handle: %v %v", err, ack)
	}
	if left, st := g.receive(t, "cid-pop", "gp", "pt", time.Second); len(left) != 0 || st.GetCode() != pb.Code_MESSAGE_NOT_FOUND {
		t.Fatalf("after acking both: %d messages, status %v", len(left), st)
	}
}

// ForwardMessageToDeadLetterQueue puts a received message in the group's DLQ and
// acknowledges it: it is in %DLQ%<group> and never received again.
func TestGRPCForwardToDeadLetterQueue(t *testing.T) {
	g := newGRPCHarness(t, false)
	g.createTopic("dt", 1, 6)
	ctx := grpcCtx(t, "cid-dlq")
	id := message.NewUniqID()
	if sr, err := g.cli.SendMessage(ctx, &pb.SendMessageRequest{Messages: []*pb.Message{grpcMessage("dt", id, "t", "to the dlq")}}); err != nil || sr.Status.Code != pb.Code_OK {
		t.Fatal(err, sr)
	}
	g.waitDispatched("dt", 0, 1)
	msgs, _ := g.receive(t, "cid-dlq", "gd", "dt", 30*time.Second)
	if len(msgs) != 1 {
		t.Fatalf("received %d messages", len(msgs))
	}
	fw, err := g.cli.ForwardMessageToDeadLetterQueue(ctx, &pb.ForwardMessageToDeadLetterQueueRequest{Group: &pb.Resource{Name: "gd"},
		Topic: &pb.Resource{Name: "dt"}, ReceiptHandle: msgs[0].SystemProperties.GetReceiptHandle(), MessageId: id, DeliveryAttempt: 1, MaxDeliveryAttempts: 16})
	if err != nil || fw.Status.Code != pb.Code_OK {
		t.Fatalf("forward: %v %v", err, fw)
	}
	g.waitDispatched("%DLQ%gd", 0, 1)
	resp := g.pull(&header.PullMessageRequest{ConsumerGroup: "check", Topic: "%DLQ%gd", QueueID: 0, MaxMsgNums: 8, Subscription: "*"})
	if resp.Code != 0 {
		t.Fatalf("pull the DLQ: code %d %s", resp.Code, resp.Remark)
	}
	if recs := records(t, resp.Body); len(recs) != 1 || string(recs[0].Body) != "to the dlq" || recs[0].UniqKey() != id {
		t.Fatalf("DLQ holds %d records", len(recs))
	}
	if again, st := g.receive(t, "cid-dlq", "gd", "dt", time.Second); len(again) != 0 || st.GetCode() != pb.Code_MESSAGE_NOT_FOUND {
		t.Fatalf("after the forward: %d messages, status %v", len(again), st)
	}
}

// RecallMessage cancels a pending timer message by the handle SendMessage answered; a
// second recall finds nothing.
func TestGRPCRecallTimerMessage(t *testing.T) {
	g := newGRPCHarness(t, false)
	req := &header.CreateTopicRequest{Topic: "rt", DefaultTopic: meta.TopicAutoCreate, ReadQueueNums: 1, WriteQueueNums: 1,
		Perm: 6, TopicFilterType: body.FilterSingleTag, Attributes: "+message.type=DELAY"}
	if resp := g.call(code.UpdateAndCreateTopic, req.Encode(), nil); resp.Code != code.Success {
		t.Fatalf("create topic: %d %s", resp.Code, resp.Remark)
	}
	ctx := grpcCtx(t, "cid-recall")
	m := grpcMessage("rt", message.NewUniqID(), "t", "later")
	m.SystemProperties.MessageType = pb.MessageType_DELAY
	m.SystemProperties.DeliveryTimestamp = timestamppb.New(time.Now().Add(time.Hour))
	sr, err := g.cli.SendMessage(ctx, &pb.SendMessageRequest{Messages: []*pb.Message{m}})
	if err != nil || sr.Status.Code != pb.Code_OK || sr.Entries[0].RecallHandle == "" {
		t.Fatalf("send a timer message: %v %v", err, sr)
	}
	recall := func() *pb.Status {
		rr, err := g.cli.RecallMessage(ctx, &pb.RecallMessageRequest{Topic: &pb.Resource{Name: "rt"}, RecallHandle: sr.Entries[0].RecallHandle})
		if err != nil {
			t.Fatal(err)
		}
		return rr.Status
	}
	var st *pb.Status
	testutil.Eventually(t, 5*time.Second, "the timer message recalled", func() bool {
		st = recall()
		return st.Code == pb.Code_OK
	})
	if st := recall(); st.Code != pb.Code_MESSAGE_NOT_FOUND {
		t.Fatalf("second recall: %v", st)
	}
	if rr, err := g.cli.RecallMessage(ctx, &pb.RecallMessageRequest{Topic: &pb.Resource{Name: "rt"}, RecallHandle: "nonsense"}); err != nil || rr.Status.Code != pb.Code_BAD_REQUEST {
		t.Fatalf("a bad recall handle: %v %v", err, rr)
	}
}
