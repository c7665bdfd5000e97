package ha

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/rocketgo/rocketgo/proto/message"
	"github.com/rocketgo/rocketgo/remoting/tlsconf"
)

// Source is what the master side reads: the store.
type Source interface {
	// ReadRaw returns the log's bytes from the record boundary from on (whole records of
	// one segment, or a blank's header), at most maxBytes (at least one record); nil at
	// the end of the log.
	ReadRaw(from int64, maxBytes int) ([]byte, error)
	MaxPhysicalOffset() int64
	MinPhysicalOffset() int64
	// Checksum returns the CRC-32C of the log's bytes in [from, to).
	Checksum(from, to int64) (uint32, error)
	// Grown returns a channel closed once the log has grown past after.
	Grown(after int64) <-chan struct{}
}

// ServerOptions configures the master side.
type ServerOptions struct {
	// Addr is the address to listen on ("0.0.0.0:10912").
	Addr string
	// BrokerName is the master/slave group: a slave of another group is refused.
	BrokerName string
	// LogID is the master's log id.
	LogID LogID
	// SegmentBytes is the CommitLog segment size; a slave's must be equal, or the two
	// logs could not have the same layout.
	SegmentBytes int64
	// BatchBytes bounds the log bytes of one DATA frame (one record is always sent
	// whole, whatever its size).
	BatchBytes int
	// Heartbeat is how often an idle master tells its slaves where its log ends.
	Heartbeat time.Duration
	// Housekeeping drops a slave silent for this long.
	Housekeeping time.Duration
	// SlaveTimeout bounds a SYNC_MASTER wait (OnReplicated).
	SlaveTimeout time.Duration
	// FallBehindMax: a slave further behind than this does not count as available.
	FallBehindMax int64
	// MaxSlaves bounds the replication connections served at once.
	MaxSlaves int
	// AllAck (allAckInSyncStateSet, controller mode) completes a SYNC_MASTER wait only
	// once every slave of the SyncStateSet acknowledged it (syncset.go).
	AllAck bool
	// Confirm, with AllAck, is told the confirm offset whenever it moves, from
	// the first SetSyncStateSet on (nothing is released before the set is known): the
	// end every slave of the SyncStateSet acknowledged, or math.MaxInt64 while the set
	// has no slave. The master dispatches nothing past it (store.SetConfirmOffset). It
	// runs with the SyncStateSet lock held, on the goroutine that read the
	// acknowledgement (or called SetSyncStateSet), and must not block.
	Confirm func(off int64)
	// MinInSyncReplicas (minInSyncReplicas): with AllAck, a SyncStateSet smaller than
	// this (the master counted) refuses SYNC writes.
	MinInSyncReplicas int
	// Now is the clock of the SYNC_MASTER deadlines (time.Now when nil).
	Now func() time.Time
	// TLS is the HA port's tls.mode and configuration; the zero value is plain only.
	TLS    tlsconf.Server
	Logger zerolog.Logger
}

// handshakeTimeout bounds how long a new connection may take to say HELLO.
const handshakeTimeout = 10 * time.Second

// maxHandshakes bounds the connections waiting for their HELLO at once: the HA port
// has no authentication, and idle connections must not pile up goroutines.
const maxHandshakes = 64

// maxCheckWindow bounds the checksum window a slave may ask the master to compute.
const maxCheckWindow = 64 << 10

// Server is the master side: it listens on the HA port, streams its log to every slave
// that proves its log is a prefix of the master's, and completes SYNC_MASTER waits as
// the slaves acknowledge.
type Server struct {
	src Source
	o   ServerOptions
	log zerolog.Logger

	ln net.Listener // set by Start before the goroutines that use it
	// addr is ln's address, published by Start for Addr: a broker serves requests that
	// ask for it (GET_BROKER_RUNTIME_INFO) from before its replication starts.
	addr  atomic.Pointer[netip.AddrPort]
	waits waitList

	mu struct {
		sync.Mutex
		conns  map[*slaveConn]struct{}
		closed bool
	}
	sync       syncState    // syncset.go
	confirmed  atomic.Int64 // the confirm offset the slaves are told, -1 while unknown (syncset.go)
	live       atomic.Int32 // slaves past the handshake
	handshakes chan struct{}
	added      chan struct{}
	stop       chan struct{}
	wg         sync.WaitGroup
	once       sync.Once
}

// slaveConn is one slave being served.
type slaveConn struct {
	c        net.Conn
	addr     string
	brokerID int64
	version  uint16 // of its HELLO: CONFIRM frames go to version confirmVersion on
	since    time.Time
	sent     atomic.Int64 // end of the last run written
	acked    atomic.Int64 // the slave's last acknowledged log end
	// wake is kicked by a SYNC_MASTER wait: the sender looks for the new record at
	// once instead of after the dispatcher has processed it.
	wake chan struct{}
	// allSent is the last time the sender had sent the whole log, and where it ended
	// then (syncset.go): an acknowledgement reaching it means the slave caught up.
	allSent struct {
		sync.Mutex
		off int64
		at  time.Time
	}
}

// SlaveInfo describes a connected slave.
type SlaveInfo struct {
	Addr     string
	BrokerID int64
	Acked    int64 // where the slave's log ends, as it last acknowledged
	Since    time.Time
}

// NewServer returns a server over src; it listens at Start.
func NewServer(src Source, o ServerOptions) *Server {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxSlaves <= 0 {
		o.MaxSlaves = 16
	}
	s := &Server{
		src:        src,
		o:          o,
		log:        o.Logger.With().Str("component", "ha-master").Logger(),
		added:      make(chan struct{}, 1),
		handshakes: make(chan struct{}, maxHandshakes),
		stop:       make(chan struct{}),
	}
	s.mu.conns = make(map[*slaveConn]struct{})
	// Under AllAck the offset is unknown until the SyncStateSet is: a master opened
	// with its log held back (store.Options.HoldUnconfirmed) releases nothing, nor do
	// its slaves, before it knows whom it waits for.
	s.confirmed.Store(math.MaxInt64)
	if o.AllAck {
		s.confirmed.Store(-1)
	}
	return s
}

// Start listens on Addr and serves slaves until Close.
func (s *Server) Start(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.o.Addr)
	if err != nil {
		return fmt.Errorf("ha: listen on %s: %w", s.o.Addr, err)
	}
	s.ln = ln
	ap, _ := netip.ParseAddrPort(ln.Addr().String())
	s.addr.Store(&ap)
	s.wg.Add(2)
	go s.acceptLoop()
	go s.sweepLoop()
	s.log.Info().Str("addr", ln.Addr().String()).Msg("replication listening")
	return nil
}

// Addr returns the address listened on; the zero value until Start has listened. It
// may be called from any goroutine, also while Start runs.
func (s *Server) Addr() netip.AddrPort {
	if ap := s.addr.Load(); ap != nil {
		return *ap
	}
	return netip.AddrPort{}
}

// Close stops listening, drops every slave, fails the SYNC_MASTER waits with ErrClosed
// and waits for the server's goroutines.
func (s *Server) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		if s.ln != nil {
			err = s.ln.Close()
		}
		s.mu.Lock()
		s.mu.closed = true
		for sc := range s.mu.conns {
			sc.c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
		run(s.waits.failAll(ErrClosed))
	})
	return err
}

// OnReplicated arranges for fn to run once a slave has acknowledged the log through
// end: inline if one already has, with ErrSlaveNotAvailable at once if no slave is
// connected or the connected ones are further behind than FallBehindMax, otherwise
// when a slave's acknowledgement covers end (from the goroutine reading it) or with
// ErrSlaveTimeout after SlaveTimeout. fn runs exactly once and must not block.
func (s *Server) OnReplicated(end int64, fn func(error)) {
	if s.o.AllAck {
		s.onAllAcked(end, fn) // syncset.go
		return
	}
	if end <= s.waits.ackedOffset() {
		fn(nil)
		return
	}
	if s.live.Load() == 0 {
		fn(fmt.Errorf("%w: no slave is connected", ErrSlaveNotAvailable))
		return
	}
	if behind := s.src.MaxPhysicalOffset() - s.liveAcked(); behind > s.o.FallBehindMax {
		fn(fmt.Errorf("%w: the slaves are %d bytes behind, more than haSlaveFallbehindMax %d", ErrSlaveNotAvailable, behind, s.o.FallBehindMax))
		return
	}
	s.await(end, fn)
}

// await registers a SYNC_MASTER wait with the slave timeout and wakes the senders.
func (s *Server) await(end int64, fn func(error)) {
	now, first := s.waits.add(end, fn, s.o.Now().Add(s.o.SlaveTimeout))
	if now != nil {
		now.fn(now.err)
		return
	}
	s.wakeSenders()
	if first {
		select {
		case s.added <- struct{}{}:
		default:
		}
	}
}

// wakeSenders kicks every sender: a send waits for its record to reach a slave.
func (s *Server) wakeSenders() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sc := range s.mu.conns {
		select {
		case sc.wake <- struct{}{}:
		default:
		}
	}
}

// AckedOffset returns the highest log offset a slave has acknowledged since the server
// started.
func (s *Server) AckedOffset() int64 { return s.waits.ackedOffset() }

// Slaves describes the connected slaves, in no particular order.
func (s *Server) Slaves() []SlaveInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SlaveInfo, 0, len(s.mu.conns))
	for sc := range s.mu.conns {
		out = append(out, SlaveInfo{Addr: sc.addr, BrokerID: sc.brokerID, Acked: sc.acked.Load(), Since: sc.since})
	}
	return out
}

// liveAcked returns the furthest acknowledgement of a connected slave.
func (s *Server) liveAcked() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	best := int64(-1)
	for sc := range s.mu.conns {
		best = max(best, sc.acked.Load())
	}
	return best
}

func (s *Server) acceptLoop() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.stop:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			s.log.Warn().Err(err).Msg("accept")
			select {
			case <-s.stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		select {
		case s.handshakes <- struct{}{}:
		default:
			s.log.Warn().Str("addr", c.RemoteAddr().String()).Int("limit", maxHandshakes).Msg("too many replication handshakes at once; connection closed")
			c.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(c)
		}()
	}
}

// serve runs one replication connection: handshake, then the sender on this goroutine
// and the acknowledgement reader on another.
func (s *Server) serve(c net.Conn) {
	defer c.Close()
	log := s.log.With().Str("addr", c.RemoteAddr().String()).Logger()
	_ = c.SetDeadline(time.Now().Add(handshakeTimeout))
	if s.o.TLS.On() {
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		tc, err := s.o.TLS.Accept(ctx, c)
		cancel()
		if err != nil {
			<-s.handshakes
			log.Warn().Err(err).Msg("replication connection closed")
			return
		}
		defer tc.Close()
		c = tc
	}
	br := bufio.NewReaderSize(c, 4096)
	typ, p, _, err := ReadFrame(br, nil, 0)
	<-s.handshakes
	if err != nil {
		log.Warn().Err(err).Msg("replication handshake: no hello")
		return
	}
	if typ != TypeHello {
		log.Warn().Uint8("type", typ).Msg("replication handshake: first frame is not a hello")
		return
	}
	h, err := DecodeHello(p)
	if err != nil {
		log.Warn().Err(err).Msg("replication handshake")
		return
	}
	log = log.With().Int64("broker_id", h.BrokerID).Logger()
	w, reason := s.decide(h)
	sc := &slaveConn{c: c, addr: c.RemoteAddr().String(), brokerID: h.BrokerID, version: h.Version, since: s.o.Now(), wake: make(chan struct{}, 1)}
	if reason == "" && !s.add(sc) {
		reason = fmt.Sprintf("the master serves at most %d slaves at once", s.o.MaxSlaves)
	}
	if reason != "" {
		log.Warn().Str("reason", reason).Int64("offset", h.Offset).Msg("slave refused")
		_, _ = c.Write(AppendRefuse(nil, reason))
		return
	}
	defer s.remove(sc)
	sc.sent.Store(w.Start)
	sc.acked.Store(h.Offset)
	// Live before the welcome goes out: a slave that has read it may see the master
	// answer a send at once, which must then wait for it rather than find no slave.
	s.live.Add(1)
	defer s.live.Add(-1)
	if _, err := c.Write(AppendWelcome(nil, w)); err != nil {
		log.Warn().Err(err).Msg("replication handshake: write welcome")
		return
	}
	_ = c.SetDeadline(time.Time{})
	// The slave holds everything below its offset: that counts as acknowledged.
	s.acked(sc, h.Offset)
	log.Info().Int64("offset", w.Start).Int64("master_max", w.MasterMax).Msg("slave connected")

	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		if err := s.readAcks(sc, br); err != nil {
			log.Info().Err(err).Msg("slave connection closed")
		}
		c.Close()
	}()
	err = s.send(sc, readerDone)
	c.Close()
	<-readerDone
	if err != nil {
		log.Info().Err(err).Int64("acked", sc.acked.Load()).Msg("replication to slave stopped")
	}
}

// decide checks a HELLO against this master's log and returns the WELCOME, or the
// reason to refuse the slave.
func (s *Server) decide(h Hello) (Welcome, string) {
	minOff, maxOff := s.src.MinPhysicalOffset(), s.src.MaxPhysicalOffset()
	w := Welcome{LogID: s.o.LogID, Start: h.Offset, MasterMin: minOff, MasterMax: maxOff}
	var zero LogID
	switch {
	case h.Version < 1 || h.Version > Version:
		return w, fmt.Sprintf("%s %d, this master version %d", versionRefusal, h.Version, Version)
	case h.BrokerName != s.o.BrokerName:
		return w, fmt.Sprintf("the slave belongs to broker group %q, this master to %q", h.BrokerName, s.o.BrokerName)
	case h.BrokerID <= 0:
		return w, fmt.Sprintf("the slave has brokerId %d; slaves have brokerId > 0", h.BrokerID)
	case h.SegmentBytes != s.o.SegmentBytes:
		return w, fmt.Sprintf("the slave's CommitLog segments are %d bytes, this master's %d: mappedFileSizeCommitLog must be equal", h.SegmentBytes, s.o.SegmentBytes)
	case h.LogID != zero && h.LogID != s.o.LogID:
		return w, fmt.Sprintf("the slave holds log %x, this master log %x: the slave replicated another master; give it an empty store to follow this one", h.LogID[:], s.o.LogID[:])
	case h.Offset > maxOff:
		return w, fmt.Sprintf("the slave's log ends at %d, past this master's end %d: the master lost acknowledged data or is not the slave's master; the slave keeps its log", h.Offset, maxOff)
	case h.Offset < 0 || h.CheckFrom < 0 || h.CheckFrom > h.Offset || h.Offset-h.CheckFrom > maxCheckWindow:
		return w, fmt.Sprintf("the slave's offset %d and checksum window start %d are inconsistent", h.Offset, h.CheckFrom)
	}
	if h.Offset == 0 {
		// An empty slave starts at the master's oldest stored byte (a segment start).
		w.Start = minOff
		return w, ""
	}
	if h.Offset < minOff {
		return w, fmt.Sprintf("the slave's log ends at %d, but this master keeps only [%d, %d): the records between were deleted; give the slave an empty store", h.Offset, minOff, maxOff)
	}
	if h.CheckFrom == h.Offset || h.CheckFrom < minOff {
		if h.LogID == s.o.LogID {
			return w, "" // nothing to compare, but the same log
		}
		return w, fmt.Sprintf("the slave's log ends at %d and carries no log id and no checksum this master can verify", h.Offset)
	}
	crc, err := s.src.Checksum(h.CheckFrom, h.Offset)
	if err != nil {
		return w, fmt.Sprintf("cannot checksum this master's log in [%d, %d): %v", h.CheckFrom, h.Offset, err)
	}
	if crc != h.CheckCRC {
		return w, fmt.Sprintf("the slave's log differs from this master's in [%d, %d) (CRC-32C %08x, master %08x): they diverged; the slave keeps its log", h.CheckFrom, h.Offset, h.CheckCRC, crc)
	}
	return w, ""
}

func (s *Server) add(sc *slaveConn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.closed || len(s.mu.conns) >= s.o.MaxSlaves {
		return false
	}
	s.mu.conns[sc] = struct{}{}
	return true
}

func (s *Server) remove(sc *slaveConn) {
	s.mu.Lock()
	delete(s.mu.conns, sc)
	s.mu.Unlock()
}

// send streams the log from sc.sent on, waking on each append and sending a heartbeat
// when idle, until the connection fails, the reader stops or the server closes.
func (s *Server) send(sc *slaveConn, readerDone <-chan struct{}) error {
	hdr := make([]byte, 0, headerLen+dataHeaderLen)
	beat := time.NewTicker(s.o.Heartbeat)
	defer beat.Stop()
	pos := sc.sent.Load()
	var wait <-chan struct{}
	told := int64(-1) // the confirm offset last sent: none yet
	for {
		if c := s.confirmed.Load(); c >= 0 && c != told && sc.version >= confirmVersion {
			_ = sc.c.SetWriteDeadline(time.Now().Add(s.o.Housekeeping))
			if _, err := sc.c.Write(AppendOffset(hdr[:0], TypeConfirm, c)); err != nil {
				return fmt.Errorf("write confirm offset: %w", err)
			}
			told = c
		}
		if pos < s.src.MaxPhysicalOffset() {
			b, err := s.src.ReadRaw(pos, s.o.BatchBytes)
			if err != nil {
				_, _ = sc.c.Write(AppendRefuse(nil, fmt.Sprintf("cannot read this master's log at %d: %v", pos, err)))
				return fmt.Errorf("read log at %d: %w", pos, err)
			}
			next := pos + int64(len(b))
			if len(b) == message.MinBlankSize && binary.BigEndian.Uint32(b[4:]) == message.MagicBlank {
				next = pos + int64(int32(binary.BigEndian.Uint32(b)))
			}
			hdr = AppendDataHeader(hdr[:0], pos, b)
			// Published before the write: the slave may acknowledge the run before
			// WriteTo even returns.
			sc.sent.Store(next)
			_ = sc.c.SetWriteDeadline(time.Now().Add(s.o.Housekeeping))
			bufs := net.Buffers{hdr, b}
			if _, err := bufs.WriteTo(sc.c); err != nil {
				return fmt.Errorf("write data at %d: %w", pos, err)
			}
			pos = next
			wait = nil
			continue
		}
		if wait == nil {
			sc.noteAllSent(pos, s.o.Now())
			wait = s.src.Grown(pos)
			continue // the log may have grown before the wait was registered
		}
		select {
		case <-wait:
			wait = nil
		case <-sc.wake:
		case <-beat.C:
			_ = sc.c.SetWriteDeadline(time.Now().Add(s.o.Housekeeping))
			if _, err := sc.c.Write(AppendOffset(hdr[:0], TypeHeartbeat, s.src.MaxPhysicalOffset())); err != nil {
				return fmt.Errorf("write heartbeat: %w", err)
			}
		case <-readerDone:
			return nil
		case <-s.stop:
			return nil
		}
	}
}

// readAcks reads the slave's acknowledgements until the connection fails or stays
// silent for Housekeeping.
func (s *Server) readAcks(sc *slaveConn, br *bufio.Reader) error {
	var buf []byte
	for {
		_ = sc.c.SetReadDeadline(time.Now().Add(s.o.Housekeeping))
		typ, p, nb, err := ReadFrame(br, buf, 0)
		buf = nb
		if err != nil {
			return err
		}
		if typ != TypeAck {
			return fmt.Errorf("%w: type %d from a slave", ErrFrame, typ)
		}
		off, err := DecodeOffset(p)
		if err != nil {
			return err
		}
		if sent := sc.sent.Load(); off > sent {
			return fmt.Errorf("%w: the slave acknowledged %d, only %d was sent", ErrFrame, off, sent)
		}
		if off < sc.acked.Load() {
			return fmt.Errorf("%w: the slave's acknowledgement went back from %d to %d", ErrFrame, sc.acked.Load(), off)
		}
		sc.acked.Store(off)
		s.acked(sc, off)
	}
}

// sweepLoop fails SYNC_MASTER waits whose deadline passed.
func (s *Server) sweepLoop() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var fire <-chan time.Time
		if d, ok := s.waits.next(); ok {
			wait := d.Sub(s.o.Now())
			if wait <= 0 {
				run(s.waits.expire(s.o.Now()))
				continue
			}
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-s.stop:
			return
		case <-fire:
		case <-s.added:
		}
		timer.Stop()
	}
}
