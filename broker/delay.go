package broker

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rocketgo/rocketgo/broker/meta"
	"github.com/rocketgo/rocketgo/broker/retry"
	"github.com/rocketgo/rocketgo/broker/schedule"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/proto/header"
	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// Delay levels and timer messages (docs/protocol.md §8). A send carrying DELAY=n is stored
// in SCHEDULE_TOPIC_XXXX queue n-1, one carrying TIMER_DELIVER_MS, TIMER_DELAY_SEC or
// TIMER_DELAY_MS in rmq_sys_wheel_timer, both with REAL_TOPIC and REAL_QID; the
// broker/schedule Scheduler appends the message to its real topic when due. The
// scheduler's index lives under <store dir>/schedule and is fed from the log by a
// store projection, so it is rebuilt after a crash.

// propScheduleFrom marks the records the scheduler writes; the send path strips it
// from every message a client sends.
const propScheduleFrom = schedule.PropFrom

// scheduler is the broker's delivery of scheduled messages.
type scheduler = schedule.Scheduler

// Scheduling limits of the broker.
const (
	// adminWait bounds how long an admin request waits for the scheduler.
	adminWait = 5 * time.Second
	// schedulePropsReserve is the property room a scheduled message keeps free for what
	// its delivery adds (SCHEDULE_FROM), so a message accepted is always deliverable.
	schedulePropsReserve = 64
)

// storeNow is the store's clock: records are stamped with it, and due times compare
// with those stamps.
func (b *Broker) storeNow() time.Time {
	if b.sopts.Now != nil {
		return b.sopts.Now()
	}
	return time.Now()
}

// openSchedule opens the scheduler, adds its projection to the store (replaying what
// its index has not seen).
func (b *Broker) openSchedule() error {
	levels, err := schedule.ParseLevels(b.opts.MessageDelayLevel)
	if err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	s, err := schedule.Open(schedule.Options{
		Dir:    filepath.Join(b.sopts.Dir, "schedule"),
		Levels: levels,
		Store:  b.store,
		Guard:  b.store.DiskGuard(),
		Now:    b.storeNow,
		Logger: b.opts.Logger,
		// A slave's master delivers; the slave keeps its index for reads and restarts.
		Passive: b.isSlave(),
	})
	if err != nil {
		return err
	}
	if err := b.store.AddProjection(s.Projection()); err != nil {
		s.Close()
		return fmt.Errorf("broker: replay schedule index: %w", err)
	}
	b.sched = s
	return nil
}

// closeSchedule stops delivering and makes the index durable; the store must still be
// open.
func (b *Broker) closeSchedule() error {
	if b.sched == nil {
		return nil
	}
	return b.sched.Close()
}

// stripScheduleFrom removes SCHEDULE_FROM from properties a client sent; the substring
// test keeps the usual case to one scan.
func stripScheduleFrom(props string) string {
	if !strings.Contains(props, propScheduleFrom) {
		return props
	}
	return message.RemoveProperty(props, propScheduleFrom)
}

// schedProps holds what the send path's one pass over the properties found of DELAY
// and TIMER_*.
type schedProps struct {
	delay, deliverMS, delaySec, delayMS string
	set                                 bool
}

// note records key if it asks for scheduling and reports whether it did.
func (p *schedProps) note(key, val string) bool {
	switch key {
	case message.PropDelay:
		p.delay = val
	case message.PropTimerDeliverMS:
		p.deliverMS = val
	case message.PropTimerDelaySec:
		p.delaySec = val
	case message.PropTimerDelayMS:
		p.delayMS = val
	default:
		return false
	}
	p.set = true
	return true
}

// routeScheduled redirects a send that asks for a delay to where it waits: m's topic
// and queue become the schedule or timer topic's, and sb.props gains REAL_TOPIC,
// REAL_QID (and TIMER_OUT_MS). A send whose DELAY is 0 or less, or whose timer is due
// already, stays as it is (RocketMQ stores it as a plain message).
func (b *Broker) routeScheduled(m *message.Ext, sb *sendBuf, sp *schedProps, batch bool) error {
	if batch {
		return reject(errMessageIllegal, "a batch cannot be delayed (DELAY / TIMER_* on topic %s); send delayed messages one by one", m.Topic)
	}
	props := string(sb.props)
	if sp.delay != "" {
		level, err := strconv.Atoi(strings.TrimSpace(sp.delay))
		if err != nil {
			return reject(errMessageIllegal, "DELAY %q is not a delay level; use 1..%d", sp.delay, b.sched.Levels().Len())
		}
		if level > 0 {
			// DELAY wins over TIMER_*, as in RocketMQ 5.
			for _, k := range []string{message.PropTimerDeliverMS, message.PropTimerDelaySec, message.PropTimerDelayMS} {
				props = message.RemoveProperty(props, k)
			}
			m.Topic, m.QueueID, props = b.delayTarget(m.Topic, m.QueueID, props, level)
			return setSchedProps(sb, props, m.Topic)
		}
	}
	if sp.deliverMS == "" && sp.delaySec == "" && sp.delayMS == "" {
		return nil
	}
	// Rounded up to the millisecond: a relative timer is never due before its delay.
	t := b.storeNow()
	now := t.UnixMilli()
	if t.Nanosecond()%int(time.Millisecond) != 0 {
		now++
	}
	deliver, err := retry.TimerDeliverMS(sp.deliverMS, sp.delaySec, sp.delayMS, now, b.opts.TimerMaxDelay)
	if err != nil {
		return err
	}
	if deliver <= now {
		return nil
	}
	props = message.SetProperty(props, message.PropTimerOutMS, strconv.FormatInt(deliver, 10))
	props = message.SetProperty(props, message.PropRealTopic, m.Topic)
	props = message.SetProperty(props, message.PropRealQueueID, strconv.Itoa(int(m.QueueID)))
	m.Topic, m.QueueID = meta.TopicTimer, 0
	return setSchedProps(sb, props, m.Topic)
}

// delayTarget returns where a message for (topic, queueID) with delay level waits:
// SCHEDULE_TOPIC_XXXX queue level-1 (levels above the last use the last), with
// REAL_TOPIC, REAL_QID and the DELAY used in its properties.
func (b *Broker) delayTarget(topic string, queueID int32, props string, level int) (string, int32, string) {
	level = b.sched.Levels().Clamp(level)
	props = message.SetProperty(props, message.PropDelay, strconv.Itoa(level))
	props = message.SetProperty(props, message.PropRealTopic, topic)
	props = message.SetProperty(props, message.PropRealQueueID, strconv.Itoa(int(queueID)))
	return schedule.TopicSchedule, int32(level - 1), props
}

// setSchedProps installs the rewritten properties, keeping room for what delivery adds.
func setSchedProps(sb *sendBuf, props, topic string) error {
	if len(props)+schedulePropsReserve > message.MaxPropertiesLen {
		return reject(errMessageIllegal, "properties of %d bytes leave no room to schedule the message (limit %d, %d kept free) on %s",
			len(props), message.MaxPropertiesLen, schedulePropsReserve, topic)
	}
	sb.props = append(sb.props[:0], props...)
	return nil
}

// handleCancelScheduled serves CANCEL_SCHEDULED_MESSAGE (2202), a rocketgo
// extension: cancel a pending timer message by topic and unique key.
func (b *Broker) handleCancelScheduled(_ *server.Conn, req *codec.Command) *codec.Command {
	var h header.CancelScheduledRequest
	if err := h.Decode(req.ExtFields); err != nil {
		return errorResponse(req, err)
	}
	if err := meta.CheckTopicName(h.Topic); err != nil {
		return errorResponse(req, err)
	}
	if h.UniqKey == "" {
		return errorResponse(req, reject(errBadRequest, "uniqKey is empty"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), adminWait)
	defer cancel()
	n, err := b.sched.Cancel(ctx, h.Topic, h.UniqKey)
	if err != nil {
		if errors.Is(err, schedule.ErrClosed) {
			err = reject(errNotAvailable, "broker %s is shutting down", b.opts.BrokerName)
		}
		return errorResponse(req, err)
	}
	if n == 0 {
		return errorResponse(req, reject(errNotFound,
			"no pending timer message with uniqKey %s on topic %s (never sent, not indexed yet, delivered, cancelled, or a delay-level message)", h.UniqKey, h.Topic))
	}
	resp := req.NewResponse(code.Success, "")
	resp.ExtFields = map[string]string{"cancelled": strconv.Itoa(n)}
	return resp
}
