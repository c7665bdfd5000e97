package trace

import (
	"fmt"
	"strconv"
)

// minFields is the fewest fields each record type has in any client's encoding.
var minFields = map[Type]int{Pub: 13, SubBefore: 8, SubAfter: 6, EndTransaction: 13}

// Decode parses a trace message body into its records (TraceDataEncoder's decoder).
// Records of an unknown type are skipped, as Java skips them; a record too short for
// its type, or with a malformed number, fails the whole body.
func Decode(body []byte) ([]Record, error) {
	var out []Record
	for i, f := range splitRecords(string(body)) {
		t := Type(f[0])
		need, known := minFields[t]
		if !known {
			continue
		}
		if len(f) < need {
			return nil, fmt.Errorf("trace: record %d (%s) has %d fields, want at least %d", i, t, len(f), need)
		}
		p := parser{f: f}
		r := Record{Type: t}
		switch t {
		case Pub:
			r.Timestamp, r.RegionID, r.Group, r.Topic = p.int(1), f[2], f[3], f[4]
			r.MsgID, r.Tags, r.Keys, r.StoreHost = f[5], f[6], f[7], f[8]
			r.BodyLength, r.CostTime, r.MsgType = int(p.int(9)), p.int(10), MsgType(p.int(11))
			if len(f) == 13 { // the oldest encoding: no offset id
				r.Success = p.bool(12)
			} else {
				r.OffsetMsgID, r.Success = f[12], p.bool(13)
			}
			r.ClientHost = p.opt(14)
		case SubBefore:
			r.Timestamp, r.RegionID, r.Group, r.RequestID = p.int(1), f[2], f[3], f[4]
			r.MsgID, r.RetryTimes, r.Keys = f[5], int(p.int(6)), f[7]
			r.ClientHost = p.opt(8)
		case SubAfter:
			r.RequestID, r.MsgID, r.CostTime, r.Success, r.Keys = f[1], f[2], p.int(3), p.bool(4), f[5]
			if len(f) > 6 {
				r.ContextCode = int(p.int(6))
			}
			if len(f) > 7 {
				r.Timestamp = p.int(7)
			}
			r.Group = p.opt(8)
		case EndTransaction:
			r.Timestamp, r.RegionID, r.Group, r.Topic = p.int(1), f[2], f[3], f[4]
			r.MsgID, r.Tags, r.Keys, r.StoreHost = f[5], f[6], f[7], f[8]
			r.MsgType, r.TransactionID, r.TransactionState = MsgType(p.int(9)), f[10], f[11]
			r.FromTransactionCheck = p.bool(12)
		}
		if p.err != nil {
			return nil, fmt.Errorf("trace: record %d (%s): %w", i, t, p.err)
		}
		out = append(out, r)
	}
	return out, nil
}

// parser reads typed fields, keeping the first error.
type parser struct {
	f   []string
	err error
}

func (p *parser) int(i int) int64 {
	v, err := strconv.ParseInt(p.f[i], 10, 64)
	if err != nil && p.err == nil {
		p.err = fmt.Errorf("field %d %q is not a number", i, p.f[i])
	}
	return v
}

// bool parses like Java's Boolean.parseBoolean: "true" in any case, else false.
func (p *parser) bool(i int) bool {
	v, _ := strconv.ParseBool(p.f[i])
	return v
}

// opt returns field i, or "" when the record is shorter.
func (p *parser) opt(i int) string {
	if i < len(p.f) {
		return p.f[i]
	}
	return ""
}
