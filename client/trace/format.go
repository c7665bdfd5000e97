package trace

import (
	"fmt"
	"io"
	"time"
)

// rowFormat is QueryMsgTraceByIdSubCommand's line format.
const rowFormat = "%-10s %-20s %-20s %-20s %-10s %-10s\n"

// FormatTrace prints the trace of one message as mqadmin queryMsgTraceById does: each
// Pub record with its own header, then, per consumer group in the order the groups
// first appear, a header and one "Sub" line per SubAfter record, each block followed by
// a blank line. Times are local, "2006-01-02 15:04:05". The client host is the record's
// BornHost when set (what Java shows), else its ClientHost. A SubAfter without a group
// (Java's encoding has none) takes the group and client host of its SubBefore.
func FormatTrace(w io.Writer, records []Record) error {
	before := map[string]*Record{}
	for i := range records {
		if records[i].Type == SubBefore {
			before[records[i].RequestID+"\x00"+records[i].MsgID] = &records[i]
		}
	}
	var order []string
	subs := map[string][]Record{}
	pw := &printer{w: w}
	for _, r := range records {
		switch r.Type {
		case Pub:
			pw.printf(rowFormat, "#Type", "#ProducerGroup", "#ClientHost", "#SendTime", "#CostTimes", "#Status")
			pw.printf(rowFormat, "Pub", r.Group, host(&r), stamp(r.Timestamp), costs(r.CostTime), status(r.Success))
			pw.printf("\n")
		case SubAfter:
			if b := before[r.RequestID+"\x00"+r.MsgID]; b != nil {
				if r.Group == "" {
					r.Group = b.Group
				}
				if host(&r) == "" {
					r.ClientHost = host(b)
				}
			}
			if _, ok := subs[r.Group]; !ok {
				order = append(order, r.Group)
			}
			subs[r.Group] = append(subs[r.Group], r)
		}
	}
	for _, g := range order {
		pw.printf(rowFormat, "#Type", "#ConsumerGroup", "#ClientHost", "#ConsumerTime", "#CostTimes", "#Status")
		for _, r := range subs[g] {
			pw.printf(rowFormat, "Sub", r.Group, host(&r), stamp(r.Timestamp), costs(r.CostTime), status(r.Success))
		}
		pw.printf("\n")
	}
	return pw.err
}

func host(r *Record) string {
	if r.BornHost != "" {
		return r.BornHost
	}
	return r.ClientHost
}

func stamp(ms int64) string { return time.UnixMilli(ms).Format("2006-01-02 15:04:05") }

func costs(ms int64) string { return fmt.Sprintf("%dms", ms) }

func status(ok bool) string {
	if ok {
		return "success"
	}
	return "failed"
}

// printer keeps the first write error.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) printf(format string, args ...any) {
	if p.err == nil {
		_, p.err = fmt.Fprintf(p.w, format, args...)
	}
}
