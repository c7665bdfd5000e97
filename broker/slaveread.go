package broker

import (
	"context"
	"encoding/json"
	"time"

	"github.com/rocketgo/rocketgo/broker/internal/metasync"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// Serving reads while the master is down, and keeping the slave's metadata current for
// it (docs/operations.md §3.3):
//
//   - a slave answers QUERY_CONSUMER_OFFSET (14) from its copy of the offsets and takes
//     UPDATE_CONSUMER_OFFSET (15); what it takes stays pending until the master holds it
//     (broker/internal/metasync, pending.go);
//   - a master answers RELAY_CONSUMER_OFFSETS (2501) by raising offsets only;
//   - a master answers SLAVE_METADATA_VERSION (2500), recording what the slave applied,
//     and answers a topic or group change only once its live slaves have applied it.

// handleSlaveMetadataVersion serves SLAVE_METADATA_VERSION (2500) on a master: it
// records the versions the slave applied and answers with the master's.
//
// When the slave already has the master's versions and asks for waitMillis, the answer
// is held until a topic or group changes or the wait (at most metasync.MaxHold) ends.
func (b *Broker) handleSlaveMetadataVersion(conn *server.Conn, req *codec.Command) *codec.Command {
	if b.repl.acks == nil {
		return errorResponse(req, reject(errBadRequest, "broker %s/%d is a slave: it has no slaves to report metadata versions to it",
			b.opts.BrokerName, b.opts.BrokerID))
	}
	var h header.SlaveMetadataVersionRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	// Take the change channel before reading the versions: a change made in between
	// closes it, so it is not missed.
	changes := b.repl.acks.Changes()
	b.repl.acks.Report(h.BrokerID, meta.DataVersion(h.Topics), meta.DataVersion(h.Groups))
	if hold := min(time.Duration(h.WaitMillis)*time.Millisecond, metasync.MaxHold); hold > 0 && conn != nil &&
		h.Topics == header.Version(b.topics.Version()) && h.Groups == header.Version(b.groups.Version()) {
		go func() {
			t := time.NewTimer(hold)
			defer t.Stop()
			select {
			case <-changes:
			case <-t.C:
			}
			if err := conn.Reply(b.metadataVersions(req)); err != nil {
				b.log.Debug().Err(err).Msg("answer a held SLAVE_METADATA_VERSION")
			}
		}()
		return nil
	}
	return b.metadataVersions(req)
}

// metadataVersions is the answer to SLAVE_METADATA_VERSION: the master's versions.
func (b *Broker) metadataVersions(req *codec.Command) *codec.Command {
	rh := header.SlaveMetadataVersionResponse{Topics: header.Version(b.topics.Version()), Groups: header.Version(b.groups.Version())}
	resp := req.NewResponse(code.Success, "")
	resp.ExtFields = rh.Encode()
	return resp
}

// handleRelayConsumerOffsets serves RELAY_CONSUMER_OFFSETS (2501) on a master: every
// relayed offset larger than the master's replaces it.
func (b *Broker) handleRelayConsumerOffsets(_ *server.Conn, req *codec.Command) *codec.Command {
	if b.isSlave() {
		return errorResponse(req, reject(errBadRequest, "broker %s/%d is a slave: relay consumer offsets to its master",
			b.opts.BrokerName, b.opts.BrokerID))
	}
	var w meta.ConsumerOffsetsJSON
	if err := json.Unmarshal(req.Body, &w); err != nil {
		return errorResponse(req, reject(errBadRequest, "RELAY_CONSUMER_OFFSETS body is not a consumer offset table: %v", err))
	}
	n, err := b.offsets.MergeOffsetsMax(&w)
	if err != nil {
		return errorResponse(req, err)
	}
	if n > 0 {
		b.log.Info().Int("raised", n).Msg("offsets committed on a slave while this master was down")
	}
	return req.NewResponse(code.Success, "")
}

// noteSlaveCommit records, on a slave, an offset a consumer committed here.
func (b *Broker) noteSlaveCommit(h *header.UpdateConsumerOffsetRequest) {
	if b.isSlave() && b.repl.meta != nil {
		b.repl.meta.NoteCommit(h.ConsumerGroup, h.Topic, h.QueueID, h.CommitOffset)
	}
}

// toSlaves wraps a handler that changes topics or groups: on a master its successful
// answer waits until the live slaves have applied the change, at most slaveTimeout. A
// slave that does not have it by then still gets it with its next poll; the answer is the
// same either way, the change is made on the master.
func (b *Broker) toSlaves(h server.Handler) server.Handler {
	return func(conn *server.Conn, req *codec.Command) *codec.Command {
		resp := h(conn, req)
		if b.repl.acks == nil || resp == nil || resp.Code != code.Success {
			return resp
		}
		b.repl.acks.Changed() // answer the slaves' held polls now
		ctx, cancel := context.WithTimeout(context.Background(), b.opts.SlaveTimeout)
		defer cancel()
		if !b.repl.acks.Wait(ctx, b.topics.Version(), b.groups.Version()) {
			b.log.Warn().Int32("code", req.Code).Dur("waited", b.opts.SlaveTimeout).
				Msg("a slave has not applied the metadata change yet; it gets it with its next poll")
		}
		return resp
	}
}
