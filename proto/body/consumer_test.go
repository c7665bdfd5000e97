package body

import (
	"reflect"
	"testing"
)

func TestConsumerListBody(t *testing.T) {
	b := (&GetConsumerListByGroupResponseBody{ConsumerIDList: []string{"10.0.0.1@1", "10.0.0.2@2"}}).Encode()
	if want := `{"consumerIdList":["10.0.0.1@1","10.0.0.2@2"]}`; string(b) != want {
		t.Fatalf("encode: got %s, want %s", b, want)
	}
	if got := string((&GetConsumerListByGroupResponseBody{}).Encode()); got != `{"consumerIdList":[]}` {
		t.Fatalf("empty encode: got %s", got)
	}
	r, err := DecodeConsumerList(b)
	if err != nil || !reflect.DeepEqual(r.ConsumerIDList, []string{"10.0.0.1@1", "10.0.0.2@2"}) {
		t.Fatalf("decode: got %+v, %v", r, err)
	}
	if r, err := DecodeConsumerList(nil); err != nil || len(r.ConsumerIDList) != 0 {
		t.Fatalf("empty decode: got %+v, %v", r, err)
	}
	if _, err := DecodeConsumerList([]byte("{")); err == nil {
		t.Fatal("bad body decoded")
	}
}

func TestConsumerConnectionBody(t *testing.T) {
	c := &ConsumerConnection{
		ConnectionSet: []Connection{
			{ClientID: "b@2", ClientAddr: "127.0.0.1:2", Language: "GO", Version: 317},
			{ClientID: "a@1", ClientAddr: "127.0.0.1:1", Language: "JAVA", Version: 407},
		},
		SubscriptionTable: map[string]SubscriptionData{"T": {Topic: "T", SubString: "*", ExpressionType: "TAG", SubVersion: 7}},
		ConsumeType:       ConsumePassively, MessageModel: Clustering, ConsumeFromWhere: ConsumeFromFirstOffset,
	}
	b := c.Encode()
	want := `{"connectionSet":[{"clientId":"a@1","clientAddr":"127.0.0.1:1","language":"JAVA","version":407},` +
		`{"clientId":"b@2","clientAddr":"127.0.0.1:2","language":"GO","version":317}],` +
		`"subscriptionTable":{"T":{"classFilterMode":false,"topic":"T","subString":"*","tagsSet":[],"codeSet":[],"subVersion":7,"expressionType":"TAG"}},` +
		`"consumeType":"CONSUME_PASSIVELY","messageModel":"CLUSTERING","consumeFromWhere":"CONSUME_FROM_FIRST_OFFSET"}`
	if string(b) != want {
		t.Fatalf("encode:\n got %s\nwant %s", b, want)
	}
	back, err := DecodeConsumerConnection(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.ConnectionSet[0].ClientID != "a@1" || back.SubscriptionTable["T"].SubVersion != 7 || back.ConsumeFromWhere != ConsumeFromFirstOffset {
		t.Fatalf("decode: got %+v", back)
	}
}

func TestProducerConnectionBody(t *testing.T) {
	p := &ProducerConnection{ConnectionSet: []Connection{{ClientID: "p@1", ClientAddr: "1.2.3.4:5", Language: "GO", Version: 317}}}
	b := p.Encode()
	if want := `{"connectionSet":[{"clientId":"p@1","clientAddr":"1.2.3.4:5","language":"GO","version":317}]}`; string(b) != want {
		t.Fatalf("encode: got %s, want %s", b, want)
	}
	back, err := DecodeProducerConnection(b)
	if err != nil || !reflect.DeepEqual(back, p) {
		t.Fatalf("decode: got %+v, %v", back, err)
	}
	if got := string((&ProducerConnection{}).Encode()); got != `{"connectionSet":[]}` {
		t.Fatalf("empty encode: got %s", got)
	}
}
