package broker

import (
	"github.com/rocketgo/rocketgo/broker/internal/metasync"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// newMetaSync builds a slave's copier of its master's metadata (broker/internal/metasync),
// which applies a snapshot only while the slave streams from the master's log.
func newMetaSync(b *Broker) *metasync.Sync {
	return metasync.New(metasync.Options{
		Topics:   b.topics,
		Groups:   b.groups,
		Offsets:  b.offsets,
		BrokerID: b.opts.BrokerID,
		Streaming: func() (bool, string) {
			st, _ := b.ReplicationStatus()
			return st.Connected, st.LastError
		},
		Interval:      b.opts.SlaveSyncInterval,
		MaxFrameBytes: b.opts.MaxFrameBytes,
		DialTimeout:   haDialTimeout,
		TLS:           b.tls.client,
		Credentials:   b.innerCreds,
		Logger:        b.log,
	})
}

// handleGetAllConsumerOffset serves GET_ALL_CONSUMER_OFFSET (43): every committed offset,
// which a slave copies.
func (b *Broker) handleGetAllConsumerOffset(_ *server.Conn, req *codec.Command) *codec.Command {
	data, err := b.offsets.EncodeOffsets()
	if err != nil {
		return errorResponse(req, err)
	}
	resp := req.NewResponse(code.Success, "")
	resp.Body = data
	return resp
}
