package message

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

// Lengths of the hex message ids (§5).
const (
	OffsetMsgIDLenV4 = 32 // 4-byte IP + int32 port + int64 offset
	OffsetMsgIDLenV6 = 56 // 16-byte IP + int32 port + int64 offset
	UniqIDLenV4      = 32 // 4-byte IP + int16 pid + int32 salt + int32 ms + int16 counter
	UniqIDLenV6      = 56 // the same with a 16-byte IP
)

const hexUpper = "0123456789ABCDEF"

// appendHexUpper appends the upper-case hex of b.
func appendHexUpper(dst, b []byte) []byte {
	for _, c := range b {
		dst = append(dst, hexUpper[c>>4], hexUpper[c&0xF])
	}
	return dst
}

// OffsetMsgID returns the broker-generated message id of a stored record: the store host
// (IPv4 4 bytes or IPv6 16 bytes), its port as int32 and the physical offset as int64,
// in upper-case hex (32 characters for IPv4, 56 for IPv6). An IPv4-mapped address counts
// as IPv4 and an invalid one as 0.0.0.0, as in the record.
func OffsetMsgID(storeHost netip.AddrPort, physicalOffset int64) string {
	var out [OffsetMsgIDLenV6]byte
	return string(AppendOffsetMsgID(out[:0], storeHost, physicalOffset))
}

// AppendOffsetMsgID appends OffsetMsgID(storeHost, physicalOffset) to dst, for a writer
// that puts the id straight into a frame.
func AppendOffsetMsgID(dst []byte, storeHost netip.AddrPort, physicalOffset int64) []byte {
	var raw [28]byte
	b := appendHost(raw[:0], storeHost)
	b = binary.BigEndian.AppendUint64(b, uint64(physicalOffset))
	return appendHexUpper(dst, b)
}

// ParseOffsetMsgID decodes an offset message id (either case) into the store host and the
// physical offset. The form is chosen by length, 32 for IPv4 and 56 for IPv6, as Java
// does; anything else wraps ErrBadMsgID.
func ParseOffsetMsgID(id string) (netip.AddrPort, int64, error) {
	if len(id) != OffsetMsgIDLenV4 && len(id) != OffsetMsgIDLenV6 {
		return netip.AddrPort{}, 0, fmt.Errorf("%w: offset id of %d characters, want %d or %d",
			ErrBadMsgID, len(id), OffsetMsgIDLenV4, OffsetMsgIDLenV6)
	}
	var raw [28]byte
	b := raw[:len(id)/2]
	if _, err := hex.Decode(b, []byte(id)); err != nil {
		return netip.AddrPort{}, 0, fmt.Errorf("%w: %q: %v", ErrBadMsgID, id, err)
	}
	var a netip.Addr
	n := 4
	if len(b) == 16 {
		a = netip.AddrFrom4([4]byte(b[:4]))
	} else {
		n = 16
		a = netip.AddrFrom16([16]byte(b[:16]))
	}
	port := int32(binary.BigEndian.Uint32(b[n:]))
	if port < 0 || port > math.MaxUint16 {
		return netip.AddrPort{}, 0, fmt.Errorf("%w: %q: port %d", ErrBadMsgID, id, port)
	}
	return netip.AddrPortFrom(a, uint16(port)), int64(binary.BigEndian.Uint64(b[n+4:])), nil
}

// UniqIDSource generates client unique ids (UNIQ_KEY) in Java's MessageClientIDSetter
// layout: a fixed prefix of IP, pid (int16) and a per-process int32 (Java's classloader
// hash), then the milliseconds since the start of the current local month (int32) and a
// counter (int16), all upper-case hex. It is safe for concurrent use and never returns the
// same id twice within a month: if the counter wraps within one millisecond value, the
// time field moves on by one.
type UniqIDSource struct {
	prefix []byte // upper-case hex of IP + pid + salt
	now    func() time.Time

	mu struct {
		sync.Mutex
		monthStart int64 // ms, start of the month of the last id
		nextMonth  int64 // ms, start of the following month
		elapsed    int64 // time field of the last id
		counter    uint16
		wrapAt     uint16 // counter value at which elapsed was last advanced
	}
}

// NewUniqIDSource returns a source with the given identity. ip must be IPv4 (32-character
// ids) or IPv6 (56); an invalid ip is written as 0.0.0.0. now defaults to time.Now.
func NewUniqIDSource(ip netip.Addr, pid int, salt int32, now func() time.Time) *UniqIDSource {
	if now == nil {
		now = time.Now
	}
	var raw [22]byte
	b := raw[:0]
	ip = ip.Unmap()
	switch {
	case !ip.IsValid():
		b = append(b, 0, 0, 0, 0)
	case ip.Is4():
		a := ip.As4()
		b = append(b, a[:]...)
	default:
		a := ip.As16()
		b = append(b, a[:]...)
	}
	b = binary.BigEndian.AppendUint16(b, uint16(pid))
	b = binary.BigEndian.AppendUint32(b, uint32(salt))
	// The month bounds start at zero, so the first Next computes them.
	return &UniqIDSource{prefix: appendHexUpper(nil, b), now: now}
}

// monthBounds returns the start of t's local month and of the next one, in ms.
func monthBounds(t time.Time) (int64, int64) {
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location())
	return start.UnixMilli(), start.AddDate(0, 1, 0).UnixMilli()
}

// Next returns a new unique id.
func (s *UniqIDSource) Next() string {
	return string(s.appendNext(make([]byte, 0, s.idLen())))
}

// idLen is the length of the ids of s.
func (s *UniqIDSource) idLen() int { return len(s.prefix) + 12 }

// appendNext appends the next id to dst.
func (s *UniqIDSource) appendNext(dst []byte) []byte { return s.appendNextAt(dst, s.now()) }

// appendNextAt appends the next id to dst with t as the current time, for a caller
// that read the clock already.
func (s *UniqIDSource) appendNextAt(dst []byte, t time.Time) []byte {
	nowMS := t.UnixMilli()
	s.mu.Lock()
	if nowMS >= s.mu.nextMonth || nowMS < s.mu.monthStart-int64(time.Hour/time.Millisecond) {
		// A new month (or the clock jumped back by more than an hour): restart the time
		// field, as Java's setStartTime does.
		s.mu.monthStart, s.mu.nextMonth = monthBounds(t)
		s.mu.elapsed = -1
	}
	elapsed := max(nowMS-s.mu.monthStart, 0)
	// Like Java's COUNTER.getAndIncrement: the first id of a process has counter 0.
	counter := s.mu.counter
	s.mu.counter++
	switch {
	case elapsed > s.mu.elapsed:
		s.mu.elapsed = elapsed
		s.mu.wrapAt = counter
	case counter == s.mu.wrapAt:
		// Every counter value was used with this time field (the clock stood still or
		// stepped back): advance the time field rather than repeat an id.
		s.mu.elapsed++
	}
	elapsed = s.mu.elapsed
	s.mu.Unlock()

	dst = append(dst, s.prefix...)
	var tail [6]byte
	binary.BigEndian.PutUint32(tail[:], uint32(int32(elapsed)))
	binary.BigEndian.PutUint16(tail[4:], counter)
	return appendHexUpper(dst, tail[:])
}

var (
	defaultUniqOnce sync.Once
	defaultUniq     *UniqIDSource
)

// NewUniqID returns a client unique id from the process-wide source: the first
// non-loopback IPv4 address of this host (127.0.0.1 if none), the pid, and a random
// int32 standing in for Java's classloader hash so two processes with the same pid
// (containers) still differ. The result is 32 upper-case hex characters.
func NewUniqID() string { return defaultUniqSource().Next() }

// defaultUniqSource returns the process-wide source of NewUniqID.
func defaultUniqSource() *UniqIDSource {
	defaultUniqOnce.Do(func() {
		var salt [4]byte
		_, _ = rand.Read(salt[:]) // crypto/rand.Read never fails on supported platforms
		defaultUniq = NewUniqIDSource(HostIPv4(), os.Getpid(), int32(binary.BigEndian.Uint32(salt[:])), nil)
	})
	return defaultUniq
}

// HostIPv4 returns the first non-loopback IPv4 address of the host, preferring public
// over private ones like Java's UtilAll.getIP, or 127.0.0.1. It is the address in unique
// ids, in client ids, and the one a broker advertises when none is configured.
func HostIPv4() netip.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	var private netip.Addr
	for _, a := range addrs {
		pfx, err := netip.ParsePrefix(a.String())
		if err != nil {
			continue
		}
		ip := pfx.Addr().Unmap()
		if !ip.Is4() || ip.IsLoopback() || ip.IsUnspecified() || ip.IsLinkLocalUnicast() {
			continue
		}
		if !ip.IsPrivate() {
			return ip
		}
		if !private.IsValid() {
			private = ip
		}
	}
	if private.IsValid() {
		return private
	}
	return netip.AddrFrom4([4]byte{127, 0, 0, 1})
}

// UniqID is a parsed client unique id.
type UniqID struct {
	IP      netip.Addr
	PID     uint16
	Salt    int32         // classloader hash in Java ids, 0 in Go client ids
	Elapsed time.Duration // since the start of the creation month (local time), mod 2^32 ms
	Counter uint16
}

// ParseUniqID decodes a client unique id of 32 (IPv4) or 56 (IPv6) hex characters in
// either case; Go client ids mix upper and lower case. Other lengths wrap ErrBadMsgID.
func ParseUniqID(id string) (UniqID, error) {
	if len(id) != UniqIDLenV4 && len(id) != UniqIDLenV6 {
		return UniqID{}, fmt.Errorf("%w: unique id of %d characters, want %d or %d", ErrBadMsgID, len(id), UniqIDLenV4, UniqIDLenV6)
	}
	var raw [28]byte
	b := raw[:len(id)/2]
	if _, err := hex.Decode(b, []byte(id)); err != nil {
		return UniqID{}, fmt.Errorf("%w: %q: %v", ErrBadMsgID, id, err)
	}
	var u UniqID
	n := 4
	if len(b) == 16 {
		u.IP = netip.AddrFrom4([4]byte(b[:4]))
	} else {
		n = 16
		u.IP = netip.AddrFrom16([16]byte(b[:16]))
	}
	be := binary.BigEndian
	u.PID = be.Uint16(b[n:])
	u.Salt = int32(be.Uint32(b[n+2:]))
	// Unsigned: after 24.8 days the int32 Java writes has wrapped negative.
	u.Elapsed = time.Duration(be.Uint32(b[n+6:])) * time.Millisecond
	u.Counter = be.Uint16(b[n+10:])
	return u, nil
}

// Time returns the creation time of the id as seen from now: the start of now's local
// month plus Elapsed, or of the previous month if that would lie in the future (Java's
// getNearlyTimeFromID).
func (u UniqID) Time(now time.Time) time.Time {
	start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, now.Location())
	t := start.Add(u.Elapsed)
	if t.After(now) {
		t = start.AddDate(0, -1, 0).Add(u.Elapsed)
	}
	return t
}

// IsUniqIDHex reports whether s looks like a unique id: 32 or 56 hex characters.
func IsUniqIDHex(s string) bool {
	if len(s) != UniqIDLenV4 && len(s) != UniqIDLenV6 {
		return false
	}
	return strings.IndexFunc(s, func(r rune) bool {
		return !('0' <= r && r <= '9' || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F')
	}) < 0
}
