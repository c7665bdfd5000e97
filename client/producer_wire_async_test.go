package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// rawBroker is a broker made of a bare TCP listener: it keeps the bytes of every
// SEND_MESSAGE_V2 frame exactly as they came off the socket, answers it SUCCESS, and
// answers every other request SUCCESS with nothing (a heartbeat).
type rawBroker struct {
	addr  string
	sends chan []byte // whole frames, length prefix included
}

// startRawBroker listens on 127.0.0.1:0 and serves every connection until the test ends.
func startRawBroker(t *testing.T) *rawBroker {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &rawBroker{addr: ln.Addr().String(), sends: make(chan []byte, 16)}
	acceptAll(t, ln, b.serve)
	return b
}

// acceptAll serves every connection ln accepts with serve, each on its own goroutine,
// until the test ends, when it closes ln and the connections.
func acceptAll(tb testing.TB, ln net.Listener, serve func(net.Conn)) {
	var mu sync.Mutex
	var conns []net.Conn
	tb.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, nc := range conns {
			_ = nc.Close()
		}
	})
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, nc)
			mu.Unlock()
			go serve(nc)
		}
	}()
}

// serve reads frames from nc and answers them until the connection ends.
func (b *rawBroker) serve(nc net.Conn) {
	br := bufio.NewReader(nc)
	for {
		var prefix [codec.LengthPrefixBytes]byte
		if _, err := io.ReadFull(br, prefix[:]); err != nil {
			return
		}
		frame := make([]byte, codec.LengthPrefixBytes+int(binary.BigEndian.Uint32(prefix[:])))
		copy(frame, prefix[:])
		if _, err := io.ReadFull(br, frame[codec.LengthPrefixBytes:]); err != nil {
			return
		}
		req, err := codec.DecodeFrame(frame[codec.LengthPrefixBytes:])
		if err != nil {
			return
		}
		resp := req.NewResponse(code.Success, "")
		if req.Code == code.SendMessageV2 {
			b.sends <- frame
			resp.ExtFields = (&header.SendMessageResponse{MsgID: "7F00000100002A9F0000000000000064", QueueOffset: 5}).Encode()
		}
		if req.IsOneway() {
			continue
		}
		out, err := codec.AppendFrame(nil, resp, 0)
		if err != nil {
			return
		}
		if _, err := nc.Write(out); err != nil {
			return
		}
	}
}

// maskOpaque sets the opaque of frame (length prefix included), a counter of the
// client, to 0. A ROCKETMQ header holds it at a fixed place: after the length, the
// header length, code (2), language (1) and version (2). A JSON header holds it as
// decimal text, so its length, and with it both lengths ahead of it, change.
func maskOpaque(t *testing.T, frame []byte, ser byte) []byte {
	t.Helper()
	if ser == codec.SerializeRocketMQ {
		at := codec.LengthPrefixBytes + 4 + 2 + 1 + 2
		clear(frame[at : at+4])
		return frame
	}
	key := []byte(`"opaque":`)
	i := bytes.Index(frame, key)
	if i < 0 {
		t.Fatalf("no opaque in the JSON frame %q", frame)
	}
	i += len(key)
	j := i
	for j < len(frame) && '0' <= frame[j] && frame[j] <= '9' {
		j++
	}
	cut := uint32(j - i - 1)
	out := append(append(append([]byte(nil), frame[:i]...), '0'), frame[j:]...)
	binary.BigEndian.PutUint32(out, binary.BigEndian.Uint32(out)-cut)
	binary.BigEndian.PutUint32(out[4:], binary.BigEndian.Uint32(out[4:])-cut) // type 0 in the top byte
	return out
}

// TestSendAsyncWireBytes pins the frame an asynchronous send puts on the socket, byte
// for byte, for a message with tags, keys, user properties and a delay level, in both
// header serializations (the golden frames were taken from the producer before its
// answer and argument handling changed). Only the opaque, a counter of the client, is
// masked. The first message carries its own UNIQ_KEY, encoded in key order with the
// others; the second gets a generated one, appended last, which the second golden
// frame holds as fixedID.
func TestSendAsyncWireBytes(t *testing.T) {
	golden := map[byte][2]string{
		codec.SerializeRocketMQ: {
			"000000f1010000e2013609013d000000000000000000000000000000cd0001610000000250470001620000000154000163000000065442573130320001640000000134000165000000013000016600000001300001670000000d3137323637333139333531323300016800000001300001690000005444454c41590133024b455953016b31206b320254414753015461674102554e49515f4b45590137463030303030313030303141424344454630313233343536373839414243440261013102636f6c6f720172656400016a000000013000016b0000000566616c736500016d0000000566616c736568656c6c6f2c2077697265",
			"000000f1010000e2013609013d000000000000000000000000000000cd0001610000000250470001620000000154000163000000065442573130320001640000000134000165000000013000016600000001300001670000000d3137323637333139333531323300016800000001300001690000005444454c41590133024b455953016b31206b32025441475301546167410261013102636f6c6f720172656402554e49515f4b455901374630303030303130303031414243444546303132333435363738394142434400016a000000013000016b0000000566616c736500016d0000000566616c736568656c6c6f2c2077697265"},
		codec.SerializeJSON: {
			"0000016b0000015c7b22636f6465223a3331302c226c616e6775616765223a22474f222c2276657273696f6e223a3331372c226f7061717565223a302c22666c6167223a302c2272656d61726b223a22222c226578744669656c6473223a7b2261223a225047222c2262223a2254222c2263223a22544257313032222c2264223a2234222c2265223a2230222c2266223a2230222c2267223a2231373236373331393335313233222c2268223a2230222c2269223a2244454c41595c7530303031335c75303030324b4559535c75303030316b31206b325c7530303032544147535c7530303031546167415c7530303032554e49515f4b45595c753030303137463030303030313030303141424344454630313233343536373839414243445c7530303032615c7530303031315c7530303032636f6c6f725c7530303031726564222c226a223a2230222c226b223a2266616c7365222c226d223a2266616c7365227d7d68656c6c6f2c2077697265",
			"0000016b0000015c7b22636f6465223a3331302c226c616e6775616765223a22474f222c2276657273696f6e223a3331372c226f7061717565223a302c22666c6167223a302c2272656d61726b223a22222c226578744669656c6473223a7b2261223a225047222c2262223a2254222c2263223a22544257313032222c2264223a2234222c2265223a2230222c2266223a2230222c2267223a2231373236373331393335313233222c2268223a2230222c2269223a2244454c41595c7530303031335c75303030324b4559535c75303030316b31206b325c7530303032544147535c7530303031546167415c7530303032615c7530303031315c7530303032636f6c6f725c75303030317265645c7530303032554e49515f4b45595c75303030313746303030303031303030314142434445463031323334353637383941424344222c226a223a2230222c226b223a2266616c7365222c226d223a2266616c7365227d7d68656c6c6f2c2077697265"},
	}
	const fixedID = "7F0000010001ABCDEF0123456789ABCD"
	for _, ser := range []byte{codec.SerializeRocketMQ, codec.SerializeJSON} {
		rb := startRawBroker(t)
		ns := startFakeNamesrv(t)
		ns.putRoute("T", &body.TopicRouteData{
			QueueDatas:        []body.QueueData{{BrokerName: "raw", ReadQueueNums: 1, WriteQueueNums: 1, Perm: 6}},
			BrokerDatas:       []body.BrokerData{{Cluster: "C", BrokerName: "raw", BrokerAddrs: map[int64]string{0: rb.addr}}},
			FilterServerTable: map[string][]string{},
		})
		born := time.UnixMilli(1726731935123)
		opts := []ProducerOption{WithNameServer(ns.addr), WithInstanceName(uniqueInstance(t)), WithProducerGroup("PG"),
			withClock(func() time.Time { return born })}
		if ser == codec.SerializeJSON {
			opts = append(opts, WithJSONHeaders())
		}
		p, err := NewProducer(opts...)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Shutdown(context.Background()) })

		newMsg := func() *Message {
			return NewMessage("T", []byte("hello, wire")).WithTags("TagA").WithKeys("k1", "k2").
				WithProperty("color", "red").WithProperty("a", "1").WithDelayLevel(3)
		}
		send := func(m *Message) ([]byte, *SendResult) {
			t.Helper()
			got := make(chan *SendResult, 1)
			if err := p.SendAsync(context.Background(), func(r *SendResult, err error) {
				if err != nil {
					t.Errorf("send: %v", err)
				}
				got <- r
			}, m); err != nil {
				t.Fatal(err)
			}
			var frame []byte
			select {
			case frame = <-rb.sends:
			case <-time.After(10 * time.Second):
				t.Fatal("no send reached the broker")
			}
			select {
			case r := <-got:
				return maskOpaque(t, frame, ser), r
			case <-time.After(10 * time.Second):
				t.Fatal("no answer reached the callback")
			}
			return nil, nil
		}

		frame, res := send(newMsg().WithProperty(message.PropUniqKey, fixedID))
		if got := hex.EncodeToString(frame); got != golden[ser][0] {
			t.Errorf("serialize %d: frame\n%s\nwant\n%s", ser, got, golden[ser][0])
		}
		if res == nil || res.MsgID != fixedID || res.OffsetMsgID != "7F00000100002A9F0000000000000064" || res.QueueOffset != 5 || res.Status != SendOK {
			t.Errorf("serialize %d: result %v", ser, res)
		}

		frame, res = send(newMsg())
		if res == nil || len(res.MsgID) != len(fixedID) {
			t.Fatalf("serialize %d: generated id of result %v", ser, res)
		}
		if n := bytes.Count(frame, []byte(res.MsgID)); n != 1 {
			t.Fatalf("serialize %d: generated id %s appears %d times in the frame %x", ser, res.MsgID, n, frame)
		}
		frame = bytes.Replace(frame, []byte(res.MsgID), []byte(fixedID), 1)
		if got := hex.EncodeToString(frame); got != golden[ser][1] {
			t.Errorf("serialize %d, generated id: frame\n%s\nwant\n%s", ser, got, golden[ser][1])
		}
		if !strings.HasPrefix(res.OffsetMsgID, "7F00000100002A9F") {
			t.Errorf("serialize %d: offset id %q", ser, res.OffsetMsgID)
		}
	}
}
