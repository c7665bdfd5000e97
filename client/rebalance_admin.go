package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"

	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// Requests a broker forwards to a consumer on behalf of an admin tool:
//
//	220 RESET_CONSUMER_CLIENT_OFFSET     jump the group's queues to new offsets (no answer)
//	221 GET_CONSUMER_STATUS_FROM_CLIENT  report the in-memory offsets of a topic
//	307 GET_CONSUMER_RUNNING_INFO        report settings, subscriptions and queue state
//
// Java tools write and read these bodies with fastjson, whose maps keyed by a
// MessageQueue put a JSON object where a key belongs:
//
//	{"offsetTable":{{"brokerName":"b","queueId":0,"topic":"T"}:5,{"brokerName":"b","queueId":1,"topic":"T"}:7}}
//
// This is not JSON, so such tables are written and read by hand here; a reset body in
// gson's array-of-pairs form ({"offsetTable":[[{mq},5],...]}) is read as well.

// Bounds of a RESET_CONSUMER_CLIENT_OFFSET body: about 80 bytes per queue.
const (
	maxResetEntries   = 1 << 16
	maxResetBodyBytes = 16 << 20
)

// ErrBadResetBody marks a RESET_CONSUMER_CLIENT_OFFSET body that cannot be parsed.
var ErrBadResetBody = fmt.Errorf("%w: reset offset body", ErrBadResponse)

// decodeResetOffsetBody parses the offsetTable of a ResetOffsetBody, in fastjson's
// object-key form or gson's array-of-pairs form. It never panics and bounds the table.
func decodeResetOffsetBody(b []byte) (map[MessageQueue]int64, error) {
	if len(b) > maxResetBodyBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrBadResetBody, len(b))
	}
	i := bytes.Index(b, []byte(`"offsetTable"`))
	if i < 0 {
		return nil, fmt.Errorf("%w: no offsetTable", ErrBadResetBody)
	}
	p := &mqTableParser{b: b, i: i + len(`"offsetTable"`)}
	p.space()
	if !p.eat(':') {
		return nil, fmt.Errorf("%w: offsetTable without value", ErrBadResetBody)
	}
	p.space()
	out := map[MessageQueue]int64{}
	var err error
	switch {
	case p.peek('{'):
		err = p.objectTable(out)
	case p.peek('['):
		err = p.pairTable(out)
	default:
		err = fmt.Errorf("offsetTable is neither an object nor an array")
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadResetBody, err)
	}
	return out, nil
}

// mqTableParser reads a MessageQueue-keyed table starting at b[i].
type mqTableParser struct {
	b []byte
	i int
}

func (p *mqTableParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *mqTableParser) peek(c byte) bool { return p.i < len(p.b) && p.b[p.i] == c }

func (p *mqTableParser) eat(c byte) bool {
	if p.peek(c) {
		p.i++
		return true
	}
	return false
}

// value returns the raw JSON value (object, array, string or scalar) at the cursor.
func (p *mqTableParser) value() ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(p.b[p.i:]))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, err
	}
	p.i += int(dec.InputOffset())
	return raw, nil
}

// entry decodes one key object and offset value and stores them.
func (p *mqTableParser) entry(out map[MessageQueue]int64, key, val []byte) error {
	if len(out) >= maxResetEntries {
		return fmt.Errorf("more than %d entries", maxResetEntries)
	}
	var mq MessageQueue
	if err := json.Unmarshal(key, &mq); err != nil {
		return fmt.Errorf("queue %s: %v", key, err)
	}
	off, err := strconv.ParseInt(string(bytes.TrimSpace(val)), 10, 64)
	if err != nil || off < 0 || mq.Topic == "" || mq.BrokerName == "" || mq.QueueID < 0 {
		return fmt.Errorf("entry %s:%s", key, val)
	}
	out[mq] = off
	return nil
}

// objectTable reads {{mq}:n,{mq}:n}.
func (p *mqTableParser) objectTable(out map[MessageQueue]int64) error {
	p.eat('{')
	for first := true; ; first = false {
		p.space()
		if p.eat('}') {
			return nil
		}
		if !first && !p.eat(',') {
			return fmt.Errorf("expected ',' at %d", p.i)
		}
		p.space()
		if !p.peek('{') {
			return fmt.Errorf("expected a queue object at %d", p.i)
		}
		key, err := p.value()
		if err != nil {
			return err
		}
		p.space()
		if !p.eat(':') {
			return fmt.Errorf("expected ':' at %d", p.i)
		}
		p.space()
		val, err := p.value()
		if err != nil {
			return err
		}
		if err := p.entry(out, key, val); err != nil {
			return err
		}
	}
}

// pairTable reads [[{mq},n],[{mq},n]], which is plain JSON.
func (p *mqTableParser) pairTable(out map[MessageQueue]int64) error {
	raw, err := p.value()
	if err != nil {
		return err
	}
	var pairs [][]json.RawMessage
	if err := json.Unmarshal(raw, &pairs); err != nil {
		return err
	}
	for _, pr := range pairs {
		if len(pr) != 2 {
			return fmt.Errorf("pair of %d items", len(pr))
		}
		if err := p.entry(out, pr[0], pr[1]); err != nil {
			return err
		}
	}
	return nil
}

// appendMQKey writes mq as fastjson writes a MessageQueue key: fields in alphabetical
// order.
func appendMQKey(dst []byte, mq MessageQueue) []byte {
	dst = append(dst, `{"brokerName":`...)
	dst = appendJSONQuoted(dst, mq.BrokerName)
	dst = append(dst, `,"queueId":`...)
	dst = strconv.AppendInt(dst, int64(mq.QueueID), 10)
	dst = append(dst, `,"topic":`...)
	dst = appendJSONQuoted(dst, mq.Topic)
	return append(dst, '}')
}

// appendJSONQuoted appends s as a JSON string.
func appendJSONQuoted(dst []byte, s string) []byte {
	b, _ := json.Marshal(s) // a string always marshals
	return append(dst, b...)
}

// appendMQTable writes a MessageQueue-keyed table, queues sorted, values from val.
func appendMQTable[V any](dst []byte, m map[MessageQueue]V, val func([]byte, V) []byte) []byte {
	keys := make([]MessageQueue, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmpQueue)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendMQKey(dst, k)
		dst = append(dst, ':')
		dst = val(dst, m[k])
	}
	return append(dst, '}')
}

// registerAdminHandlers installs the handlers of 220, 221 and 307 for this group.
func (c *consumerCore) registerAdminHandlers() {
	c.remove = append(c.remove,
		c.inst.handle(code.ResetConsumerClientOffset, c.handleResetOffset),
		c.inst.handle(code.GetConsumerStatusFromClient, c.handleConsumerStatus),
		c.inst.handle(code.GetConsumerRunningInfo, c.handleRunningInfo),
	)
}

// handleResetOffset serves RESET_CONSUMER_CLIENT_OFFSET (220) for this group: each of
// the group's queues named in the body restarts at its new offset, which is committed
// (as a lite pull Seek does). Queues this member does not read are left to their
// readers. No answer is sent, as RocketMQ clients send none.
func (c *consumerCore) handleResetOffset(_ string, req *codec.Command) *codec.Command {
	var h header.ResetOffsetRequest
	if err := h.Decode(req.ExtFields); err != nil || h.Group != c.group {
		return nil
	}
	table, err := decodeResetOffsetBody(req.Body)
	if err != nil {
		c.log.Warn().Err(err).Msg("reset offset request")
		return nil
	}
	for mq, off := range table {
		if mq.Topic != h.Topic {
			continue
		}
		if c.replaceQueue(mq, off) {
			c.log.Info().Str("queue", mq.String()).Int64("offset", off).Msg("offset reset by broker")
		}
	}
	return nil
}

// handleConsumerStatus serves GET_CONSUMER_STATUS_FROM_CLIENT (221): the in-memory
// offsets of the topic's queues this member reads.
func (c *consumerCore) handleConsumerStatus(_ string, req *codec.Command) *codec.Command {
	var h header.GetConsumerStatusRequest
	if err := h.Decode(req.ExtFields); err != nil || h.Group != c.group {
		return nil
	}
	offs := map[MessageQueue]int64{}
	for _, pq := range c.assigned() {
		if pq.mq.Topic != h.Topic {
			continue
		}
		if off, err := c.store.read(context.Background(), pq.mq, false); err == nil {
			offs[pq.mq] = off
		}
	}
	resp := req.NewResponse(code.Success, "")
	b := append([]byte(nil), `{"messageQueueTable":`...)
	b = appendMQTable(b, offs, func(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) })
	resp.Body = append(b, '}')
	return resp
}

// processQueueInfo is ProcessQueueInfo.java as running info reports it per queue.
type processQueueInfo struct {
	CommitOffset         int64 `json:"commitOffset"`
	CachedMsgMinOffset   int64 `json:"cachedMsgMinOffset"`
	CachedMsgMaxOffset   int64 `json:"cachedMsgMaxOffset"`
	CachedMsgCount       int64 `json:"cachedMsgCount"`
	CachedMsgSizeInMiB   int64 `json:"cachedMsgSizeInMiB"`
	Locked               bool  `json:"locked"`
	Droped               bool  `json:"droped"` // sic, the Java field name
	LastPullTimestamp    int64 `json:"lastPullTimestamp"`
	LastConsumeTimestamp int64 `json:"lastConsumeTimestamp"`
	LastLockTimestamp    int64 `json:"lastLockTimestamp"`
}

// handleRunningInfo serves GET_CONSUMER_RUNNING_INFO (307) for this group and client
// id: ConsumerRunningInfo with the consumer's settings (properties), subscriptions and
// per-queue state (mqTable). Thread stacks are not reported (jstack is empty).
func (c *consumerCore) handleRunningInfo(_ string, req *codec.Command) *codec.Command {
	var h header.GetConsumerRunningInfoRequest
	if err := h.Decode(req.ExtFields); err != nil || h.ConsumerGroup != c.group {
		return nil
	}
	if h.ClientID != c.inst.clientID {
		return req.NewResponse(code.SystemError, "Can't find specified client instance "+h.ClientID)
	}
	props := map[string]string{
		"PROP_CONSUME_TYPE":             c.consume,
		"PROP_CONSUMEORDERLY":           strconv.FormatBool(c.orderly),
		"PROP_CLIENT_VERSION":           "rocketgo",
		"PROP_NAMESERVER_ADDR":          joinAddrs(c.o.client.nameServers),
		"PROP_CONSUMER_START_TIMESTAMP": strconv.FormatInt(c.started.UnixMilli(), 10),
		"messageModel":                  c.o.model.String(),
		"consumeFromWhere":              c.o.from.String(),
		"pid":                           strconv.Itoa(os.Getpid()),
	}
	infos := map[MessageQueue]processQueueInfo{}
	for _, pq := range c.assigned() {
		locked, lockedAt := pq.lockState()
		info := processQueueInfo{
			Locked:               locked,
			Droped:               pq.isDropped(),
			LastPullTimestamp:    pq.lastPull.Load() / 1e6,
			LastConsumeTimestamp: pq.lastConsume.Load() / 1e6,
		}
		if !lockedAt.IsZero() {
			info.LastLockTimestamp = lockedAt.UnixMilli()
		}
		info.CachedMsgCount, info.CachedMsgSizeInMiB = pq.cached()
		info.CachedMsgSizeInMiB >>= 20
		info.CachedMsgMinOffset, info.CachedMsgMaxOffset = pq.offsetRange()
		if off, err := c.store.read(context.Background(), pq.mq, false); err == nil {
			info.CommitOffset = off
		}
		infos[pq.mq] = info
	}
	data := c.consumerData()
	b := append([]byte(nil), `{"jstack":"","mqTable":`...)
	b = appendMQTable(b, infos, func(dst []byte, v processQueueInfo) []byte {
		j, _ := json.Marshal(v) // plain fields always marshal
		return append(dst, j...)
	})
	pj, _ := json.Marshal(props)
	b = append(append(append(b, `,"properties":`...), pj...), `,"statusTable":{},"subscriptionSet":`...)
	sj, _ := json.Marshal(data.SubscriptionDataSet)
	b = append(append(b, sj...), '}')
	resp := req.NewResponse(code.Success, "")
	resp.Body = b
	return resp
}

// joinAddrs joins NameServer addresses the way namesrvAddr is written.
func joinAddrs(a []string) string {
	var b bytes.Buffer
	for i, s := range a {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(s)
	}
	return b.String()
}
