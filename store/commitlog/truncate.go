package commitlog

import "fmt"

// TruncateTo cuts the recovered log at pos, a record boundary, dropping everything
// from pos on: a replica whose log diverged from its new master's keeps only the
// common prefix (docs/failover.md §4). A pos at or past the end changes nothing. Only
// before Start.
func (l *Log) TruncateTo(pos int64) (RecoverResult, error) {
	res := RecoverResult{CutAt: -1, End: l.written.Load()}
	if pos >= res.End {
		return res, nil
	}
	if pos < l.Min() {
		return res, fmt.Errorf("commitlog: truncate to %d: below the log's first offset %d", pos, l.Min())
	}
	seg := l.files.Find(pos)
	if seg == nil {
		return res, fmt.Errorf("commitlog: truncate to %d: no segment holds it", pos)
	}
	if pos != seg.Start() && !validAt(seg.Bytes()[pos-seg.Start():], pos) {
		return res, fmt.Errorf("commitlog: truncate to %d: not a record boundary", pos)
	}
	res.CutAt, res.CutReason, res.End = pos, "diverged from the new master's log", pos
	if err := l.cut(pos, &res); err != nil {
		return res, err
	}
	l.setEnd(pos, l.files.Find(pos), min(l.fl.flushed.Load(), pos))
	return res, nil
}
