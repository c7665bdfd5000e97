package ha

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"crypto/tls"

	"github.com/rocketgo/rocketgo/remoting/tlsconf"
	"github.com/rs/zerolog"
)

// Sink is what the slave side writes: the store.
type Sink interface {
	// AppendRaw appends a run read from the master at offset, the end of this log, and
	// returns the new end.
	AppendRaw(offset int64, b []byte) (int64, error)
	MaxPhysicalOffset() int64
	MinPhysicalOffset() int64
	// Checksum returns the CRC-32C of the log's bytes in [from, to).
	Checksum(from, to int64) (uint32, error)
	// ResetEmpty moves an empty log to start at start.
	ResetEmpty(start int64) error
	SegmentBytes() int64
	// LogID returns the log's id (ok false when it has none; created when create).
	LogID(create bool) (id [16]byte, ok bool, err error)
	// AdoptLogID records the master's log id before the first replicated append.
	AdoptLogID(id [16]byte) error
	// SetConfirmOffset bounds what the slave dispatches to what the master's
	// SyncStateSet holds (CONFIRM frames; math.MaxInt64 lifts the bound).
	SetConfirmOffset(off int64)
}

// ClientOptions configures the slave side.
type ClientOptions struct {
	BrokerName string
	BrokerID   int64
	// Heartbeat is how often the slave reports its log end even without new data.
	Heartbeat time.Duration
	// Housekeeping drops a master silent for this long (it sends heartbeats).
	Housekeeping time.Duration
	// DialTimeout bounds connecting to the master, the TLS handshake included.
	DialTimeout time.Duration
	// TLS, when set, makes the replication connection a TLS connection (tls.enable).
	TLS *tls.Config
	// RetryMin and RetryMax bound the pause between connection attempts, which
	// doubles from RetryMin while attempts keep failing.
	RetryMin, RetryMax time.Duration
	// DataLimit bounds the log bytes of one DATA frame the slave accepts.
	DataLimit int
	// OnMasterUnknown runs (rate-limited to once per RetryMax) while the slave knows
	// no master address or cannot reach the one it knows: the broker asks the
	// NameServers again, whose answer may name a new master.
	OnMasterUnknown func()
	Logger          zerolog.Logger
}

// checkWindow is how many bytes before its log end a slave checksums for the master.
const checkWindow = 4096

// While frames keep arriving, the slave acknowledges at least every ackEveryBytes of log
// and every ackEvery.
const (
	ackEveryBytes = 1 << 20
	ackEvery      = 2 * time.Millisecond
)

// Status describes the slave side.
type Status struct {
	MasterAddr string // the master's HA address in use, "" when unknown
	Connected  bool   // streaming from the master
	Offset     int64  // where this log ends
	MasterMax  int64  // where the master's log ended, as last heard
	// Refused is the master's (or this slave's own) last reason for refusing to
	// replicate, "" once streaming resumed.
	Refused   string
	LastError string // the last connection failure, "" once streaming resumed
}

// Client is the slave side: it connects to the master's HA port, proves its log is a
// prefix of the master's, and appends what the master streams, reconnecting until
// Close.
type Client struct {
	sink Sink
	o    ClientOptions
	log  zerolog.Logger

	mu struct {
		sync.Mutex
		addr    string
		conn    net.Conn
		status  Status
		lastLog string
	}
	masterMax atomic.Int64
	// speak is the protocol version of the next HELLO; owned by the loop goroutine.
	// It falls back to 1 for a master that refused Version (an older rocketgo).
	speak     uint16
	speakAddr string // the master speak was chosen for
	kick      chan struct{}
	stop      chan struct{}
	wg        sync.WaitGroup
	once      sync.Once
}

// NewClient returns a slave side over sink; it connects once started and given an
// address.
func NewClient(sink Sink, o ClientOptions) *Client {
	if o.OnMasterUnknown == nil {
		o.OnMasterUnknown = func() {}
	}
	return &Client{
		sink: sink,
		o:    o,
		log:  o.Logger.With().Str("component", "ha-slave").Logger(),
		kick: make(chan struct{}, 1),
		stop: make(chan struct{}),
	}
}

// SetMasterAddr sets the master's HA address ("ip:port"). A change drops the current
// connection and connects to the new address at once; "" keeps the last known one.
func (c *Client) SetMasterAddr(addr string) {
	if addr == "" {
		return
	}
	c.mu.Lock()
	if c.mu.addr == addr {
		c.mu.Unlock()
		return
	}
	c.mu.addr = addr
	c.mu.status.MasterAddr = addr
	conn := c.mu.conn
	c.mu.Unlock()
	c.log.Info().Str("addr", addr).Msg("master address set")
	if conn != nil {
		conn.Close()
	}
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// Status returns the slave side's state.
func (c *Client) Status() Status {
	c.mu.Lock()
	st := c.mu.status
	c.mu.Unlock()
	st.Offset = c.sink.MaxPhysicalOffset()
	st.MasterMax = max(c.masterMax.Load(), st.Offset)
	return st
}

// Start runs the connection loop until Close.
func (c *Client) Start() {
	c.wg.Add(1)
	go c.loop()
}

// Close stops replicating and waits for the connection loop. Nothing is appended after
// it returns.
func (c *Client) Close() error {
	c.once.Do(func() {
		close(c.stop)
		c.mu.Lock()
		if c.mu.conn != nil {
			c.mu.conn.Close()
		}
		c.mu.Unlock()
		c.wg.Wait()
	})
	return nil
}

// refusal is a refusal to replicate: by the master, or by this slave when the master's
// answer shows it holds another log.
type refusal struct{ reason string }

func (r *refusal) Error() string { return "replication refused: " + r.reason }

func (c *Client) loop() {
	defer c.wg.Done()
	pause := c.o.RetryMin
	var lastHook time.Time
	for {
		c.mu.Lock()
		addr := c.mu.addr
		c.mu.Unlock()
		var (
			err      error
			streamed bool
		)
		if addr == "" {
			err = errors.New("no master address known yet")
		} else {
			if addr != c.speakAddr {
				c.speak, c.speakAddr = Version, addr
			}
			streamed, err = c.session(addr)
		}
		select {
		case <-c.stop:
			return
		default:
		}
		c.note(err)
		if streamed {
			pause = c.o.RetryMin // the master went away: try again soon
		}
		var ref *refusal
		if errors.As(err, &ref) && c.speak > 1 && strings.Contains(ref.reason, versionRefusal) {
			// An older master: speak its version. It sends no confirm offset, so
			// nothing bounds this slave's dispatch (docs/failover.md §5).
			c.speak = 1
			c.sink.SetConfirmOffset(math.MaxInt64)
			c.log.Warn().Str("addr", addr).Msg("the master speaks replication protocol version 1; following it without confirm offsets")
			continue
		}
		if (addr == "" || !errors.As(err, &ref)) && time.Since(lastHook) >= c.o.RetryMax {
			lastHook = time.Now()
			c.o.OnMasterUnknown()
		}
		select {
		case <-c.stop:
			return
		case <-c.kick:
			pause = c.o.RetryMin
		case <-time.After(pause):
			pause = min(2*pause, c.o.RetryMax)
		}
	}
}

// note records how a session ended, logging a refusal at error level once per distinct
// reason: an operator must act on it.
func (c *Client) note(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mu.status.Connected = false
	if err == nil {
		return
	}
	c.mu.status.LastError = err.Error()
	var ref *refusal
	if errors.As(err, &ref) {
		c.mu.status.Refused = ref.reason
		if c.mu.lastLog != ref.reason {
			c.mu.lastLog = ref.reason
			c.log.Error().Str("addr", c.mu.addr).Str("reason", ref.reason).Int64("offset", c.sink.MaxPhysicalOffset()).
				Msg("replication refused; this slave keeps its log and appends nothing until the cause is fixed")
		}
		return
	}
	if c.mu.lastLog != err.Error() {
		c.mu.lastLog = err.Error()
		c.log.Warn().Err(err).Str("addr", c.mu.addr).Msg("replication connection failed; retrying")
	}
}

// session connects to addr, handshakes and applies the stream until it fails;
// streamed reports that the handshake succeeded. It returns a nil error only when
// Close interrupted it.
func (c *Client) session(addr string) (streamed bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.o.DialTimeout)
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		var tc net.Conn
		if tc, err = tlsconf.Dial(ctx, conn, c.o.TLS, addr); err != nil {
			conn.Close()
		}
		conn = tc
	}
	cancel()
	if err != nil {
		return false, fmt.Errorf("dial master %s: %w", addr, err)
	}
	defer conn.Close()
	c.mu.Lock()
	if c.mu.addr != addr {
		c.mu.Unlock()
		return false, fmt.Errorf("master address changed from %s", addr)
	}
	c.mu.conn = conn
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.mu.conn = nil
		c.mu.Unlock()
	}()
	select {
	case <-c.stop:
		return false, nil
	default:
	}

	br := bufio.NewReaderSize(conn, 256<<10)
	if err := c.handshake(conn, br); err != nil {
		return false, err
	}
	c.mu.Lock()
	c.mu.status.Connected, c.mu.status.Refused, c.mu.status.LastError, c.mu.lastLog = true, "", "", ""
	c.mu.Unlock()
	c.log.Info().Str("addr", addr).Int64("offset", c.sink.MaxPhysicalOffset()).Int64("master_max", c.masterMax.Load()).
		Msg("replicating from master")

	var wmu sync.Mutex
	ack := func(off int64) error {
		wmu.Lock()
		defer wmu.Unlock()
		_ = conn.SetWriteDeadline(time.Now().Add(c.o.Housekeeping))
		_, err := conn.Write(AppendOffset(nil, TypeAck, off))
		return err
	}
	beatDone := make(chan struct{})
	defer func() { <-beatDone }()
	defer conn.Close()
	go func() {
		defer close(beatDone)
		t := time.NewTicker(c.o.Heartbeat)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				conn.Close()
				return
			case <-t.C:
				if err := ack(c.sink.MaxPhysicalOffset()); err != nil {
					conn.Close()
					return
				}
			}
		}
	}()
	err = c.stream(conn, br, ack)
	select {
	case <-c.stop:
		return true, nil
	default:
		return true, err
	}
}

// handshake sends HELLO and applies the master's answer.
func (c *Client) handshake(conn net.Conn, br *bufio.Reader) error {
	id, hasID, err := c.sink.LogID(false)
	if err != nil {
		return &refusal{reason: fmt.Sprintf("cannot read this slave's log id: %v", err)}
	}
	off := c.sink.MaxPhysicalOffset()
	h := Hello{
		Version:      c.speak,
		BrokerID:     c.o.BrokerID,
		BrokerName:   c.o.BrokerName,
		SegmentBytes: c.sink.SegmentBytes(),
		Offset:       off,
		CheckFrom:    off,
	}
	if hasID {
		h.LogID = id
	}
	if off > 0 {
		// The window ends at the log's end and stays inside the segment holding its
		// last byte, as Checksum requires.
		seg := c.sink.SegmentBytes()
		from := max(off-checkWindow, (off-1)/seg*seg, c.sink.MinPhysicalOffset())
		if from < off {
			if crc, err := c.sink.Checksum(from, off); err == nil {
				h.CheckFrom, h.CheckCRC = from, crc
			}
		}
	}
	_ = conn.SetDeadline(time.Now().Add(handshakeTimeout))
	if _, err := conn.Write(AppendHello(nil, h)); err != nil {
		return fmt.Errorf("write hello: %w", err)
	}
	typ, p, _, err := ReadFrame(br, nil, 0)
	if err != nil {
		return fmt.Errorf("read the master's answer: %w", err)
	}
	_ = conn.SetDeadline(time.Time{})
	switch typ {
	case TypeRefuse:
		reason, err := DecodeRefuse(p)
		if err != nil {
			return err
		}
		return &refusal{reason: reason}
	case TypeWelcome:
	default:
		return fmt.Errorf("%w: the master answered hello with type %d", ErrFrame, typ)
	}
	w, err := DecodeWelcome(p)
	if err != nil {
		return err
	}
	if hasID && LogID(id) != w.LogID {
		return &refusal{reason: fmt.Sprintf("the master holds log %x, this slave log %x", w.LogID[:], id[:])}
	}
	c.masterMax.Store(w.MasterMax)
	if off == 0 && w.Start > 0 {
		if err := c.sink.ResetEmpty(w.Start); err != nil {
			return &refusal{reason: fmt.Sprintf("cannot start this empty slave's log at the master's oldest offset %d: %v", w.Start, err)}
		}
		off = w.Start
	}
	if w.Start != off {
		return fmt.Errorf("%w: the master starts the stream at %d, this log ends at %d", ErrFrame, w.Start, off)
	}
	if !hasID {
		if err := c.sink.AdoptLogID([16]byte(w.LogID)); err != nil {
			return &refusal{reason: fmt.Sprintf("cannot adopt the master's log id: %v", err)}
		}
	}
	return nil
}

// stream applies DATA frames and notes heartbeats until the connection fails.
func (c *Client) stream(conn net.Conn, br *bufio.Reader, ack func(int64) error) error {
	var (
		buf       []byte
		lastAck   int64
		lastAckAt time.Time
	)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(c.o.Housekeeping))
		typ, p, nb, err := ReadFrame(br, buf, c.o.DataLimit)
		buf = nb
		if err != nil {
			return err
		}
		switch typ {
		case TypeData:
			d, err := DecodeData(p)
			if err != nil {
				return err
			}
			if end := c.sink.MaxPhysicalOffset(); d.Offset != end {
				return fmt.Errorf("%w: data at %d, this log ends at %d", ErrFrame, d.Offset, end)
			}
			end, err := c.sink.AppendRaw(d.Offset, d.Bytes)
			if err != nil {
				return fmt.Errorf("append the master's log at %d: %w", d.Offset, err)
			}
			if end > c.masterMax.Load() {
				c.masterMax.Store(end)
			}
			// Acknowledge once the frames that have already arrived are applied: one
			// acknowledgement per burst, at once when the stream pauses. A stream that
			// never pauses is still acknowledged every ackEveryBytes or ackEvery, so a
			// SYNC_MASTER's sends are not held up by a busy slave.
			if br.Buffered() == 0 || end-lastAck >= ackEveryBytes || time.Since(lastAckAt) >= ackEvery {
				if err := ack(end); err != nil {
					return fmt.Errorf("write ack: %w", err)
				}
				lastAck, lastAckAt = end, time.Now()
			}
		case TypeHeartbeat:
			off, err := DecodeOffset(p)
			if err != nil {
				return err
			}
			c.masterMax.Store(off)
		case TypeConfirm:
			off, err := DecodeOffset(p)
			if err != nil {
				return err
			}
			c.sink.SetConfirmOffset(off)
		case TypeRefuse:
			reason, err := DecodeRefuse(p)
			if err != nil {
				return err
			}
			return &refusal{reason: reason}
		default:
			return fmt.Errorf("%w: type %d from the master while streaming", ErrFrame, typ)
		}
	}
}
