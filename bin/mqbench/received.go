package main

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
)

// summaryMessages matches the consumer's closing line (client/bench ConsumeWith):
// "[summary] Consume TPS: … Messages: N … Seconds: S".
var summaryMessages = regexp.MustCompile(`^\[summary\] Consume TPS: .* Messages: (\d+) .* Seconds: ([0-9.]+)$`)

// consumeWatch passes the consumer's output through unchanged and reads the number of
// messages and the seconds of its summary line, so that a run that received nothing
// can fail (docs/mqbench.md §3).
type consumeWatch struct {
	w       io.Writer
	partial []byte // the start of a line not ended yet
	seen    bool   // a summary line went by
	msgs    int64
	seconds string
}

func (c *consumeWatch) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.partial = append(c.partial, p[:n]...)
	for {
		i := bytes.IndexByte(c.partial, '\n')
		if i < 0 {
			break
		}
		if m := summaryMessages.FindSubmatch(c.partial[:i]); m != nil {
			c.msgs, _ = strconv.ParseInt(string(m[1]), 10, 64)
			c.seconds, c.seen = string(m[2]), true
		}
		c.partial = c.partial[i+1:]
	}
	if len(c.partial) > 64<<10 { // not a line of this program's: forget it
		c.partial = c.partial[:0]
	}
	return n, err
}

// check returns the error of a consumer run that ended without receiving a message.
func (c *consumeWatch) check(topic, group string, fromFirst bool) error {
	if !c.seen || c.msgs > 0 {
		return nil
	}
	hint := "the topic holds no message, or they went to another group"
	if !fromFirst {
		hint = "a new group starts after the newest message unless -from-first"
	}
	return fmt.Errorf("consumer: no message received from topic %s by group %s in %s s (%s)", topic, group, c.seconds, hint)
}
