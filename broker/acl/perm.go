package acl

import "strings"

// Perm is a permission bit set, Apache's org.apache.rocketmq.acl.common.Permission.
type Perm byte

// Apache's permission bits.
const (
	Deny Perm = 1
	Any  Perm = 1 << 1
	Pub  Perm = 1 << 2
	Sub  Perm = 1 << 3
)

// ParsePerm reads "DENY", "PUB", "SUB", "PUB|SUB" or "SUB|PUB"; anything else, or an
// empty string, is DENY (Permission.parsePermFromString).
func ParsePerm(s string) Perm {
	switch strings.TrimSpace(s) {
	case "PUB":
		return Pub
	case "SUB":
		return Sub
	case "PUB|SUB", "SUB|PUB":
		return Pub | Sub
	}
	return Deny
}

// String names p as the configuration file does.
func (p Perm) String() string {
	switch {
	case p&Deny != 0:
		return "DENY"
	case p&(Pub|Sub) == Pub|Sub:
		return "PUB|SUB"
	case p&Pub != 0:
		return "PUB"
	case p&Sub != 0:
		return "SUB"
	case p&Any != 0:
		return "ANY"
	}
	return "DENY"
}

// allows reports whether owned grants needed (Permission.checkPermission): DENY grants
// nothing, ANY is granted by PUB or SUB, otherwise one needed bit must be owned.
func allows(needed, owned Perm) bool {
	if owned&Deny != 0 {
		return false
	}
	if needed&Any != 0 {
		return owned&(Pub|Sub) != 0
	}
	return needed&owned != 0
}
