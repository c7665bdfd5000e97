package client

import (
	"errors"
	"testing"
	"time"
)

func TestRequestTableLifecycle(t *testing.T) {
	var tab requestTable
	owner, other := &Producer{}, &Producer{}
	timedOut := &pendingRequest{owner: owner, done: make(chan struct{})}
	tab.add("t", timedOut, 20*time.Millisecond)
	answered := &pendingRequest{owner: owner, done: make(chan struct{})}
	tab.add("a", answered, time.Hour)
	cbErr := make(chan error, 1)
	shut := &pendingRequest{owner: owner, done: make(chan struct{}), cb: func(_ *MessageExt, err error) { cbErr <- err }}
	tab.add("s", shut, time.Hour)
	kept := &pendingRequest{owner: other, done: make(chan struct{})}
	tab.add("k", kept, time.Hour)

	select {
	case <-timedOut.done:
	case <-time.After(5 * time.Second):
		t.Fatal("timeout never fired")
	}
	if !errors.Is(timedOut.err, ErrRequestTimeout) || tab.waiting() != 3 {
		t.Fatalf("after timeout: err %v, %d waiting (want 3)", timedOut.err, tab.waiting())
	}
	reply := &MessageExt{}
	if !tab.resolve("a", reply, nil) || answered.reply != reply || tab.resolve("a", nil, nil) {
		t.Fatal("a reply completes its request exactly once")
	}
	shutErr := errors.New("shut down")
	tab.failOwner(owner, shutErr)
	if err := <-cbErr; err != shutErr {
		t.Fatalf("callback got %v", err)
	}
	tab.drop("k")
	if tab.waiting() != 0 {
		t.Fatalf("%d still waiting", tab.waiting())
	}
	select {
	case <-kept.done:
		t.Fatal("drop completed the request")
	default:
	}
}

func TestNewReplyMessage(t *testing.T) {
	req := &MessageExt{MsgID: "m1", Message: Message{Properties: map[string]string{
		PropertyCluster: "C", PropertyReplyToClient: "ip@1", PropertyCorrelationID: "corr", PropertyMessageTTL: "3000",
	}}}
	m, err := NewReplyMessage(req, []byte("ok"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Topic != "C_REPLY_TOPIC" || string(m.Body) != "ok" || m.Property(PropertyMsgType) != "reply" ||
		m.Property(PropertyCorrelationID) != "corr" || m.Property(PropertyReplyToClient) != "ip@1" || m.Property(PropertyMessageTTL) != "3000" {
		t.Fatalf("reply: %+v", m)
	}
	delete(req.Message.Properties, PropertyCorrelationID)
	if _, err := NewReplyMessage(req, nil); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("not a request: got %v", err)
	}
	if _, err := NewReplyMessage(nil, nil); !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("nil request: got %v", err)
	}
}
