package client

import (
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/rocketgo/rocketgo/remoting/codec"
)

// The send header (sendHeader) starts with four entries that are the same for every
// message of a producer to one topic — "a" producerGroup, "b" topic, "c" defaultTopic,
// "d" defaultTopicQueueNums — and ends with three that are the same for every message
// — "j" reconsumeTimes, "k" unitMode, "m" batch. They are encoded once
// (codec.ExtEntries) and copied into each frame, where encoding them entry by entry
// was about half of what writing the header cost. The bytes are the same
// (TestSendRequestBytes, TestSendAsyncWireBytes).

// sendHeads caches a producer's leading header entries by topic.
type sendHeads struct {
	last atomic.Pointer[sendHead] // the topic of the last send, found without the map
	all  sync.Map                 // topic → *sendHead
	n    atomic.Int32             // entries in all
}

// sendHead is the leading entries of the send header for one topic.
type sendHead struct {
	topic string
	x     *codec.ExtEntries
}

// maxSendHeads bounds the topics whose header entries a producer keeps: one sending
// to ever new topics encodes the entries of those beyond it per message, as before.
const maxSendHeads = 1024

// sendHead returns the encoded leading entries for topic (namespace-wrapped), or nil
// once maxSendHeads topics have theirs.
func (p *Producer) sendHead(topic string) *codec.ExtEntries {
	if h := p.heads.last.Load(); h != nil && h.topic == topic {
		return h.x
	}
	if v, ok := p.heads.all.Load(topic); ok {
		h := v.(*sendHead)
		p.heads.last.Store(h)
		return h.x
	}
	if p.heads.n.Load() >= maxSendHeads {
		return nil
	}
	h := &sendHead{topic: topic, x: codec.NewExtEntries(p.o.client.serialize,
		"a", p.groupName, "b", topic, "c", p.defaultTopic, "d", strconv.Itoa(defaultTopicQueueNums))}
	if v, loaded := p.heads.all.LoadOrStore(topic, h); loaded {
		h = v.(*sendHead)
	} else {
		p.heads.n.Add(1)
	}
	p.heads.last.Store(h)
	return h.x
}

// sendTails are the trailing entries of the send header: reconsumeTimes 0, unitMode
// false and batch, for a single message and for a batch, in the default serialization.
var sendTails = [2]*codec.ExtEntries{
	codec.NewExtEntries(codec.SerializeRocketMQ, "j", "0", "k", "false", "m", "false"),
	codec.NewExtEntries(codec.SerializeRocketMQ, "j", "0", "k", "false", "m", "true"),
}
