package message

import (
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestOffsetMsgID(t *testing.T) {
	for _, tc := range []struct {
		host string
		off  int64
		want string
	}{
		{"10.0.0.1:10911", 0x1000, "0A00000100002A9F0000000000001000"},
		{"192.168.1.200:10911", 0, "C0A801C800002A9F0000000000000000"},
		{"127.0.0.1:65535", 1<<63 - 1, "7F0000010000FFFF7FFFFFFFFFFFFFFF"},
		{"[::ffff:10.0.0.1]:10911", 0x1000, "0A00000100002A9F0000000000001000"},
		{"[2001:db8::1]:10911", 0x2A, "20010DB800000000000000000000000100002A9F000000000000002A"},
	} {
		h := netip.MustParseAddrPort(tc.host)
		got := OffsetMsgID(h, tc.off)
		if got != tc.want {
			t.Errorf("OffsetMsgID(%s, %d): got %s, want %s", tc.host, tc.off, got, tc.want)
			continue
		}
		for _, id := range []string{got, strings.ToLower(got)} {
			ph, po, err := ParseOffsetMsgID(id)
			if err != nil || ph != netip.AddrPortFrom(h.Addr().Unmap(), h.Port()) || po != tc.off {
				t.Errorf("ParseOffsetMsgID(%s): got %v %d %v", id, ph, po, err)
			}
		}
	}
}

func TestParseOffsetMsgIDBad(t *testing.T) {
	for _, id := range []string{
		"",
		"0A00000100002A9F000000000000100",   // 31
		"0A00000100002A9F00000000000010000", // 33
		"0A00000100002A9F00000000000010ZZ",  // not hex
		"0A000001FFFFFFFF0000000000001000",  // port -1
		"0A0000010001000000000000000010000", // odd length
		"0A00000100010000000000000000100000000000000000000000000000", // 58
	} {
		if _, _, err := ParseOffsetMsgID(id); !errors.Is(err, ErrBadMsgID) {
			t.Errorf("ParseOffsetMsgID(%q): got %v, want ErrBadMsgID", id, err)
		}
	}
}

// fixedClock returns a clock that reads the times in ts one after another, then the last.
func fixedClock(ts ...time.Time) func() time.Time {
	var mu sync.Mutex
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t := ts[0]
		if len(ts) > 1 {
			ts = ts[1:]
		}
		return t
	}
}

func TestUniqIDSourceLayout(t *testing.T) {
	now := time.Date(2024, 3, 5, 10, 0, 0, 250e6, time.UTC) // 381600250 ms into March
	s := NewUniqIDSource(netip.MustParseAddr("10.0.0.1"), 1234, 0x01020304, fixedClock(now))
	// IP 0A000001, pid 04D2, salt 01020304, elapsed 16BEC1FA, counter 0000 then 0001.
	for i, want := range []string{"0A00000104D20102030416BEC1FA0000", "0A00000104D20102030416BEC1FA0001"} {
		if got := s.Next(); got != want {
			t.Fatalf("id %d: got %s, want %s", i, got, want)
		}
	}
	u, err := ParseUniqID("0A00000104D20102030416BEC1FA0001")
	if err != nil {
		t.Fatal(err)
	}
	if u.IP != netip.MustParseAddr("10.0.0.1") || u.PID != 1234 || u.Salt != 0x01020304 || u.Counter != 1 ||
		u.Elapsed != 381600250*time.Millisecond {
		t.Fatalf("parse: got %+v", u)
	}
	if got := u.Time(now.Add(time.Hour)); !got.Equal(now) {
		t.Fatalf("Time: got %v, want %v", got, now)
	}
	// Seen early in the next month, the id belongs to the previous one.
	if got := u.Time(time.Date(2024, 4, 1, 0, 0, 1, 0, time.UTC)); !got.Equal(now) {
		t.Fatalf("Time across month: got %v, want %v", got, now)
	}
}

func TestUniqIDSourceIPv6(t *testing.T) {
	s := NewUniqIDSource(netip.MustParseAddr("2001:db8::7"), 1, 0, nil)
	id := s.Next()
	if len(id) != UniqIDLenV6 || !strings.HasPrefix(id, "20010DB8000000000000000000000007") {
		t.Fatalf("ipv6 id: %s", id)
	}
	u, err := ParseUniqID(id)
	if err != nil || u.IP != netip.MustParseAddr("2001:db8::7") || u.PID != 1 {
		t.Fatalf("parse: %+v %v", u, err)
	}
}

func TestUniqIDCounterWrapAdvancesTime(t *testing.T) {
	now := time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)
	s := NewUniqIDSource(netip.MustParseAddr("10.0.0.1"), 1, 0, fixedClock(now))
	seen := make(map[string]bool, 1<<16+2)
	var last string
	for i := 0; i < 1<<16+2; i++ {
		last = s.Next()
		if seen[last] {
			t.Fatalf("id %d repeats: %s", i, last)
		}
		seen[last] = true
	}
	u, _ := ParseUniqID(last)
	if u.Elapsed != 4*24*time.Hour+time.Millisecond || u.Counter != 1 {
		t.Fatalf("after wrap: elapsed %v counter %d, want 96h0m0.001s and 1", u.Elapsed, u.Counter)
	}
}

func TestUniqIDClockBackAndMonthRoll(t *testing.T) {
	t0 := time.Date(2024, 3, 31, 23, 59, 59, 999e6, time.UTC)
	s := NewUniqIDSource(netip.MustParseAddr("10.0.0.1"), 1, 0, fixedClock(
		t0, t0.Add(-5*time.Millisecond), time.Date(2024, 4, 1, 0, 0, 0, 7e6, time.UTC)))
	a, _ := ParseUniqID(s.Next())
	b, _ := ParseUniqID(s.Next())
	c, _ := ParseUniqID(s.Next())
	if b.Elapsed != a.Elapsed || b.Counter != a.Counter+1 {
		t.Fatalf("clock step back: got %v/%d after %v/%d", b.Elapsed, b.Counter, a.Elapsed, a.Counter)
	}
	if c.Elapsed != 7*time.Millisecond {
		t.Fatalf("new month: elapsed %v, want 7ms", c.Elapsed)
	}
	// 30 days 23:59:59.999 = 2678399999 ms does not fit an int32: Java's (int) cast
	// writes it negative, and it parses back as the unsigned value.
	if want := 2678399999 * time.Millisecond; a.Elapsed != want {
		t.Fatalf("end of month: elapsed %v, want %v", a.Elapsed, want)
	}
}

func TestNewUniqIDConcurrentUnique(t *testing.T) {
	const workers, per = 4, 20000
	ids := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range per {
				ids[w] = append(ids[w], NewUniqID())
			}
		}()
	}
	wg.Wait()
	seen := make(map[string]bool, workers*per)
	for _, list := range ids {
		for _, id := range list {
			if len(id) != UniqIDLenV4 || strings.ToUpper(id) != id || !IsUniqIDHex(id) {
				t.Fatalf("malformed id %q", id)
			}
			if seen[id] {
				t.Fatalf("duplicate id %s", id)
			}
			seen[id] = true
		}
	}
	u, err := ParseUniqID(ids[0][0])
	if err != nil || !u.IP.Is4() {
		t.Fatalf("parse own id: %+v %v", u, err)
	}
}

func TestParseUniqIDGoClientForm(t *testing.T) {
	// The Go client writes the prefix upper case and the tail lower case.
	u, err := ParseUniqID("C0A800640F3A000000001a2b3c4d00ff")
	if err != nil {
		t.Fatal(err)
	}
	if u.IP != netip.MustParseAddr("192.168.0.100") || u.PID != 0x0F3A || u.Salt != 0 ||
		u.Elapsed != 0x1a2b3c4d*time.Millisecond || u.Counter != 0xFF {
		t.Fatalf("got %+v", u)
	}
	for _, bad := range []string{"", "C0A8", "C0A800640F3A000000001a2b3c4d00fg", strings.Repeat("0", 33)} {
		if _, err := ParseUniqID(bad); !errors.Is(err, ErrBadMsgID) {
			t.Errorf("ParseUniqID(%q): got %v, want ErrBadMsgID", bad, err)
		}
		if IsUniqIDHex(bad) {
			t.Errorf("IsUniqIDHex(%q) = true", bad)
		}
	}
}
