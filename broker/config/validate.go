package config

import (
	"encoding/json"
	"strings"

	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/rocketgo/rocketgo/proto/acl"

	"github.com/rocketgo/rocketgo/broker/dedup"
	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/broker/schedule"
	im "github.com/rocketgo/rocketgo/internal/metrics"
)

// Limits Validate enforces on options that size memory or protocol fields.
const (
	maxTransferCountLimit = 4096 // messages per pull response
	minRegisterPeriod     = 10 * time.Second
	maxRegisterPeriod     = 60 * time.Second
)

// Validate checks the options and names the first invalid one.
func (o Options) Validate() error {
	switch {
	case o.ListenAddr == "":
		return errors.New("broker: listenAddr is empty")
	case o.BrokerName == "":
		return errors.New("broker: brokerName is empty")
	case !meta.ValidName(o.BrokerName):
		return fmt.Errorf("broker: brokerName %q: only [%%|a-zA-Z0-9_-], at most %d characters", o.BrokerName, meta.MaxNameLen)
	case o.ClusterName == "":
		return errors.New("broker: brokerClusterName is empty")
	case !meta.ValidName(o.ClusterName):
		return fmt.Errorf("broker: brokerClusterName %q: only [%%|a-zA-Z0-9_-], at most %d characters", o.ClusterName, meta.MaxNameLen)
	case o.BrokerID < 0:
		return fmt.Errorf("broker: brokerId %d is negative", o.BrokerID)
	case o.DefaultTopicQueueNums < 1 || o.DefaultTopicQueueNums > meta.MaxQueueNums:
		return fmt.Errorf("broker: defaultTopicQueueNums %d outside 1..%d", o.DefaultTopicQueueNums, meta.MaxQueueNums)
	case o.RegisterPeriod <= 0:
		return fmt.Errorf("broker: registerNameServerPeriod %v is not positive", o.RegisterPeriod)
	case o.ClientExpiry < time.Second:
		return fmt.Errorf("broker: clientChannelExpiry %v is under 1s (durations take a unit, e.g. 120s)", o.ClientExpiry)
	case o.ShortPollingTime < time.Millisecond:
		return fmt.Errorf("broker: shortPollingTimeMills %v is under 1ms (durations take a unit, e.g. 1s)", o.ShortPollingTime)
	case o.MaxFrameBytes < 64<<10:
		return fmt.Errorf("broker: maxFrameBytes %d is under 64 KiB", o.MaxFrameBytes)
	case o.MaxBufferedRequestBytesPerConn < int64(o.MaxFrameBytes)+4:
		return fmt.Errorf("broker: maxBufferedRequestBytesPerConn %d is under one whole frame (maxFrameBytes + 4 = %d)", o.MaxBufferedRequestBytesPerConn, o.MaxFrameBytes+4)
	case o.MaxBufferedRequestBytes < o.MaxBufferedRequestBytesPerConn:
		return fmt.Errorf("broker: maxBufferedRequestBytes %d is under maxBufferedRequestBytesPerConn %d", o.MaxBufferedRequestBytes, o.MaxBufferedRequestBytesPerConn)
	case o.innerCredentialsErr() != nil:
		return o.innerCredentialsErr()
	case o.FrameReadTimeout < 10*time.Millisecond:
		return fmt.Errorf("broker: frameReadTimeout %v is under 10ms (durations take a unit, e.g. 30s)", o.FrameReadTimeout)
	case o.DuplicateWindow < 0 || o.DuplicateWindow > dedup.MaxWindow:
		return fmt.Errorf("broker: duplicateWindow %v outside 0..%v", o.DuplicateWindow, dedup.MaxWindow)
	case o.MaxTransferCount < 1 || o.MaxTransferCount > maxTransferCountLimit:
		return fmt.Errorf("broker: maxTransferCountOnMessageInMemory %d outside 1..%d", o.MaxTransferCount, maxTransferCountLimit)
	case o.MaxTransferBytes < 1 || o.MaxTransferBytes > o.MaxFrameBytes/2:
		return fmt.Errorf("broker: maxTransferBytesOnMessageInMemory %d outside 1..maxFrameBytes/2 (%d)", o.MaxTransferBytes, o.MaxFrameBytes/2)
	case o.MaxParkedPulls < 1:
		return fmt.Errorf("broker: maxParkedPulls %d is not positive", o.MaxParkedPulls)
	case o.MaxParkedPullsPerConn < 1:
		return fmt.Errorf("broker: maxParkedPullsPerConn %d is not positive", o.MaxParkedPullsPerConn)
	case o.TraceTopicEnable && !meta.ValidName(o.MsgTraceTopicName):
		return fmt.Errorf("broker: msgTraceTopicName %q: only [%%|a-zA-Z0-9_-], at most %d characters", o.MsgTraceTopicName, meta.MaxNameLen)
	}
	if err := o.validateMetrics(); err != nil {
		return err
	}
	if err := o.validateTxn(); err != nil {
		return err
	}
	if err := o.validateSchedule(); err != nil {
		return err
	}
	if err := o.validateRole(); err != nil {
		return err
	}
	if o.AdvertiseIP != "" {
		if _, err := netip.ParseAddr(o.AdvertiseIP); err != nil {
			return fmt.Errorf("broker: brokerIP1 %q is not an IP address", o.AdvertiseIP)
		}
	}
	if _, _, err := net.SplitHostPort(o.ListenAddr); err != nil {
		return fmt.Errorf("broker: listenAddr %q: %v", o.ListenAddr, err)
	}
	for _, a := range o.NamesrvAddrs {
		if _, err := netip.ParseAddrPort(a); err != nil {
			return fmt.Errorf("broker: namesrvAddr %q is not ip:port", a)
		}
	}
	return nil
}

// ClampedRegisterPeriod returns RegisterPeriod clamped to 10 s .. 60 s, as Java does.
func (o Options) ClampedRegisterPeriod() time.Duration {
	return min(max(o.RegisterPeriod, minRegisterPeriod), maxRegisterPeriod)
}

// validateTxn checks the transaction options (called by Options.Validate).
func (o Options) validateTxn() error {
	switch {
	case o.TransactionCheckInterval < time.Millisecond:
		return fmt.Errorf("broker: transactionCheckInterval %v is under 1ms (durations take a unit, e.g. 60s)", o.TransactionCheckInterval)
	case o.TransactionTimeout < 0:
		return fmt.Errorf("broker: transactionTimeOut %v is negative", o.TransactionTimeout)
	case o.TransactionCheckMax < 1 || o.TransactionCheckMax > maxTxnCheckMax:
		return fmt.Errorf("broker: transactionCheckMax %d outside 1..%d", o.TransactionCheckMax, maxTxnCheckMax)
	}
	return nil
}

// validateSchedule checks the scheduling options.
func (o Options) validateSchedule() error {
	if _, err := schedule.ParseLevels(o.MessageDelayLevel); err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	if o.TimerMaxDelay < time.Second {
		return fmt.Errorf("broker: timerMaxDelay %v is under 1s (durations take a unit, e.g. 720h)", o.TimerMaxDelay)
	}
	return nil
}

// validateRole checks the role, the brokerId that goes with it and the replication
// options.
func (o Options) validateRole() error {
	switch o.BrokerRole {
	case RoleAsyncMaster, RoleSyncMaster:
		// In controller mode the controllers assign the brokerId (docs/failover.md).
		if o.BrokerID != 0 && !o.EnableControllerMode {
			return fmt.Errorf("broker: brokerRole %s needs brokerId 0, not %d (slaves have brokerId > 0)", o.BrokerRole, o.BrokerID)
		}
	case RoleSlave:
		if o.BrokerID <= 0 {
			return fmt.Errorf("broker: brokerRole %s needs a brokerId > 0, not %d", o.BrokerRole, o.BrokerID)
		}
	default:
		return fmt.Errorf("broker: brokerRole %q: want %s, %s or %s", o.BrokerRole, RoleAsyncMaster, RoleSyncMaster, RoleSlave)
	}
	switch {
	case o.HAListenPort < -1 || o.HAListenPort > 65535:
		return fmt.Errorf("broker: haListenPort %d outside -1..65535", o.HAListenPort)
	case o.HATransferBatchBytes < minHABatchBytes || o.HATransferBatchBytes > 64<<20:
		return fmt.Errorf("broker: haTransferBatchSize %d outside %d..%d", o.HATransferBatchBytes, minHABatchBytes, 64<<20)
	case o.HASendHeartbeatInterval <= 0:
		return fmt.Errorf("broker: haSendHeartbeatInterval %v is not positive", o.HASendHeartbeatInterval)
	case o.HAHousekeepingInterval < 2*o.HASendHeartbeatInterval:
		return fmt.Errorf("broker: haHousekeepingInterval %v must be at least twice haSendHeartbeatInterval %v", o.HAHousekeepingInterval, o.HASendHeartbeatInterval)
	case o.SlaveTimeout <= 0:
		return fmt.Errorf("broker: slaveTimeout %v is not positive", o.SlaveTimeout)
	case o.HASlaveFallbehindMax <= 0:
		return fmt.Errorf("broker: haSlaveFallbehindMax %d is not positive", o.HASlaveFallbehindMax)
	case o.AccessMessageInMemoryMaxRatio < 0 || o.AccessMessageInMemoryMaxRatio > 100:
		return fmt.Errorf("broker: accessMessageInMemoryMaxRatio %d outside 0..100", o.AccessMessageInMemoryMaxRatio)
	case o.SlaveSyncInterval < 100*time.Millisecond:
		return fmt.Errorf("broker: slaveSyncInterval %v is under 100ms", o.SlaveSyncInterval)
	}
	if err := o.validateController(); err != nil {
		return err
	}
	if o.HAMasterAddr != "" {
		if _, err := netip.ParseAddrPort(o.HAMasterAddr); err != nil {
			return fmt.Errorf("broker: haMasterAddress %q is not ip:port", o.HAMasterAddr)
		}
	}
	return nil
}

// validateMetrics checks the metrics options.
func (o Options) validateMetrics() error {
	if err := im.CheckExporterType("broker: metricsExporterType", o.MetricsExporterType); err != nil {
		return err
	}
	if err := im.CheckPort("broker: metricsPromExporterPort", o.MetricsPromExporterPort); err != nil {
		return err
	}
	if o.MetricsExporterType == im.ExporterProm && o.MetricsMaxTopicSeries < 1 {
		return fmt.Errorf("broker: metricsMaxTopicSeries %d is not positive", o.MetricsMaxTopicSeries)
	}
	return nil
}

// InnerCredentials parses InnerClientAuthenticationCredentials; the zero value when
// empty.
func (o Options) InnerCredentials() (acl.Credentials, error) {
	var c acl.Credentials
	if strings.TrimSpace(o.InnerClientAuthenticationCredentials) == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(o.InnerClientAuthenticationCredentials), &c); err != nil {
		return c, fmt.Errorf("broker: innerClientAuthenticationCredentials: want {\"accessKey\":\"...\",\"secretKey\":\"...\"}: %w", err)
	}
	if !c.Set() {
		return c, errors.New("broker: innerClientAuthenticationCredentials: accessKey and secretKey are both required")
	}
	return c, nil
}

func (o Options) innerCredentialsErr() error {
	_, err := o.InnerCredentials()
	return err
}
