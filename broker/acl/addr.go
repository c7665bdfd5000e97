package acl

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// addrMatcher is one address pattern of the configuration file, Apache's
// RemoteAddressStrategy. It matches the client's IP without its port.
type addrMatcher interface {
	match(ip netip.Addr) bool
}

// parseAddrPattern reads a pattern as RemoteAddressStrategyFactory does:
//
//	""                    matches nothing
//	"*", "*.*.*.*"        matches every address
//	"192.168.1.{1,2,3}"   the listed last octets
//	"10.0.0.1,10.0.0.2"   the listed addresses; a bare octet ("10.0.0.1,2,3") takes
//	                      the first address's first three octets
//	"192.168.*.*"         one octet "*" or a range "1-10", every later octet "*"
//	"192.168.0.1", "::1"  one address
func parseAddrPattern(p string) (addrMatcher, error) {
	p = strings.TrimSpace(p)
	switch {
	case p == "":
		return matchNone{}, nil
	case p == "*" || p == "*.*.*.*" || p == "*:*:*:*:*:*:*:*":
		return matchAll{}, nil
	case strings.HasSuffix(p, "}"):
		i := strings.LastIndexByte(p, '{')
		if i < 0 || !strings.HasSuffix(p[:i], ".") || strings.Count(p[:i], ".") != 3 {
			return nil, fmt.Errorf("address pattern %q: braces must hold the last octet", p)
		}
		var list []string
		for o := range strings.SplitSeq(p[i+1:len(p)-1], ",") {
			list = append(list, p[:i]+strings.TrimSpace(o))
		}
		return parseList(p, list)
	case strings.Contains(p, ","):
		parts := strings.Split(p, ",")
		prefix := ""
		if j := strings.LastIndexByte(parts[0], '.'); j >= 0 {
			prefix = strings.TrimSpace(parts[0][:j+1])
		}
		for k, o := range parts {
			o = strings.TrimSpace(o)
			if _, err := strconv.ParseUint(o, 10, 8); err == nil && prefix != "" {
				o = prefix + o
			}
			parts[k] = o
		}
		return parseList(p, parts)
	case strings.ContainsAny(p, "*-"):
		return parseRange(p)
	}
	a, err := netip.ParseAddr(p)
	if err != nil {
		return nil, fmt.Errorf("address pattern %q: not an IP address", p)
	}
	return matchOne{a.Unmap()}, nil
}

func parseList(p string, list []string) (addrMatcher, error) {
	m := make(matchList, 0, len(list))
	for _, s := range list {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("address pattern %q: %q is not an IP address", p, s)
		}
		m = append(m, a.Unmap())
	}
	return m, nil
}

// parseRange reads an IPv4 pattern whose first wildcard octet (2nd to 4th) is "*" or
// "a-b" and whose later octets are all "*" (RangeRemoteAddressStrategy).
func parseRange(p string) (addrMatcher, error) {
	oct := strings.Split(p, ".")
	bad := fmt.Errorf("address pattern %q: want a.b.c.d with one octet \"*\" or \"lo-hi\" and only \"*\" after it", p)
	if len(oct) != 4 {
		return nil, bad
	}
	var r matchRange
	r.at = -1
	for i, o := range oct {
		o = strings.TrimSpace(o)
		switch {
		case r.at >= 0:
			if o != "*" {
				return nil, bad
			}
		case i > 0 && o == "*":
			r.at, r.lo, r.hi = i, 0, 255
		case i > 0 && strings.Contains(o, "-"):
			lo, hi, _ := strings.Cut(o, "-")
			l, err1 := strconv.ParseUint(lo, 10, 8)
			h, err2 := strconv.ParseUint(hi, 10, 8)
			if err1 != nil || err2 != nil || l > h {
				return nil, bad
			}
			r.at, r.lo, r.hi = i, byte(l), byte(h)
		default:
			v, err := strconv.ParseUint(o, 10, 8)
			if err != nil {
				return nil, bad
			}
			r.head[i] = byte(v)
		}
	}
	if r.at < 0 {
		return nil, bad
	}
	return r, nil
}

type matchNone struct{}

func (matchNone) match(netip.Addr) bool { return false }

type matchAll struct{}

func (matchAll) match(netip.Addr) bool { return true }

type matchOne struct{ a netip.Addr }

func (m matchOne) match(ip netip.Addr) bool { return ip == m.a }

type matchList []netip.Addr

func (m matchList) match(ip netip.Addr) bool {
	for _, a := range m {
		if a == ip {
			return true
		}
	}
	return false
}

// matchRange matches IPv4 addresses whose octets before at equal head and whose octet
// at lies in lo..hi.
type matchRange struct {
	head   [4]byte
	at     int
	lo, hi byte
}

func (m matchRange) match(ip netip.Addr) bool {
	if !ip.Is4() {
		return false
	}
	b := ip.As4()
	for i := 0; i < m.at; i++ {
		if b[i] != m.head[i] {
			return false
		}
	}
	return b[m.at] >= m.lo && b[m.at] <= m.hi
}
