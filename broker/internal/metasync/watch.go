package metasync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rocketgo/rocketgo/proto/body"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

// VersionPollInterval is how long a slave waits before it asks its master for its
// metadata versions (SLAVE_METADATA_VERSION, 2500) again after a failed ask. A
// successful ask is followed by the next at once: the master holds each up to MaxHold
// and answers it as soon as a topic or group changes, so a change reaches the slave
// within a few round trips rather than a slaveSyncInterval.
const VersionPollInterval = 50 * time.Millisecond

// unsupportedBackoff is how long a slave waits before asking again a master that does
// not know SLAVE_METADATA_VERSION (an older broker).
const unsupportedBackoff = time.Minute

// watch polls the master's versions until ctx ends and runs a round whenever they differ
// from the ones applied, then reports at once what it applied.
func (m *Sync) watch(ctx context.Context) {
	defer m.wg.Done()
	t := time.NewTimer(VersionPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		next := VersionPollInterval
		switch changed, err := m.pollVersions(ctx); {
		case err == errUnsupported:
			next = unsupportedBackoff
		case err != nil:
			// The master is down or replication is not streaming: the round loop
			// retries and logs.
		case !changed:
			next = 0 // the master held the ask: ask again at once
		default:
			if err := m.round(ctx); err == nil {
				next = 0 // report the versions just applied
			}
		}
		t.Reset(next)
	}
}

// errNoMaster: the master's address is not known yet.
var errNoMaster = errors.New("master address not known yet")

// errUnsupported: the master does not know SLAVE_METADATA_VERSION.
var errUnsupported = fmt.Errorf("master does not support request %d", code.SlaveMetadataVersion)

// pollVersions reports the applied versions to the master and tells whether the
// master's differ.
func (m *Sync) pollVersions(ctx context.Context) (bool, error) {
	addr := m.MasterAddr()
	if addr == "" {
		return false, errNoMaster
	}
	if ok, _ := m.o.Streaming(); !ok {
		return false, errNotStreaming
	}
	m.mu.Lock()
	h := header.SlaveMetadataVersionRequest{BrokerID: m.o.BrokerID, WaitMillis: MaxHold.Milliseconds(),
		Topics: header.Version(m.mu.topicVersion), Groups: header.Version(m.mu.groupVersion)}
	m.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, requestTimeout)
	defer cancel()
	resp, err := m.client.Invoke(ctx, addr, codec.NewRequest(code.SlaveMetadataVersion, h.Encode(), nil))
	if err != nil {
		return false, err
	}
	if resp.Code == code.RequestCodeNotSupported {
		return false, errUnsupported
	}
	if resp.Code != code.Success {
		return false, fmt.Errorf("request %d from master %s: code %d: %s", code.SlaveMetadataVersion, addr, resp.Code, resp.Remark)
	}
	var rh header.SlaveMetadataVersionResponse
	if err := rh.Decode(resp.ExtFields); err != nil {
		return false, fmt.Errorf("request %d from master %s: %w", code.SlaveMetadataVersion, addr, err)
	}
	return body.DataVersion(rh.Topics) != body.DataVersion(h.Topics) || body.DataVersion(rh.Groups) != body.DataVersion(h.Groups), nil
}
