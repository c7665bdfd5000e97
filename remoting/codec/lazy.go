package codec

import (
	"strings"
	"unsafe"
)

// Lazy extFields: a receiver that knows how to read a request's header straight from the
// frame (the broker's sends) has the server decode it with DecodeFrameCopyLazy, which
// checks the extFields exactly as DecodeFrameCopy does (the same errors for the same
// bytes) but builds no map. The receiver reads the entries with RangeExt, or asks for
// the map with LoadExt where it needs one (an ACL check, a rarely taken path).

// DecodeFrameCopyLazy is DecodeFrameCopy that leaves the extFields of a request unparsed
// when lazy reports true for its code: ExtFields stays nil until LoadExt. Responses and
// other codes are decoded in full. The body of such a request is copied into arena when
// it is not nil (see BodyArena), any other body into its own allocation.
func DecodeFrameCopyLazy(frame []byte, lazy func(code int32) bool, arena *BodyArena) (*Command, error) {
	c := new(Command)
	body, err := decodeFrameInto(frame, c, lazy, arena)
	if err != nil {
		return nil, err
	}
	switch {
	case len(body) == 0:
	case arena != nil && c.rawSet:
		c.Body = arena.copy(body)
	default:
		c.Body = append(make([]byte, 0, len(body)), body...)
	}
	return c, nil
}

// DecodeFrameLent is DecodeFrameCopyLazy for a frame whose bytes stay unchanged while
// its request is served: the body of a request whose code lazy accepts is not copied
// but aliases frame (lent reports it), so the receiver must be done with it, or copy
// it, before the frame's buffer is reused. Anything else is decoded as
// DecodeFrameCopyLazy decodes it. The command comes from arena's slab of commands
// (see BodyArena).
func DecodeFrameLent(frame []byte, lazy func(code int32) bool, arena *BodyArena) (c *Command, lent bool, err error) {
	c = arena.command()
	body, err := decodeFrameInto(frame, c, lazy, arena)
	if err != nil {
		*c = Command{}
		return nil, false, err
	}
	switch {
	case len(body) == 0:
	case c.rawSet:
		c.Body, lent = body[:len(body):len(body)], true
	default:
		c.Body = append(make([]byte, 0, len(body)), body...)
	}
	return c, lent, nil
}

// Sizes of a BodyArena: its chunks are the largest small allocation of the Go runtime,
// and bodies over arenaMaxBody get their own.
const (
	arenaChunk   = 32 << 10
	arenaMaxBody = 4 << 10
	arenaSlab    = 32 // commands allocated at once
)

// BodyArena copies small bodies into shared chunks: one allocation for a run of
// requests instead of one each. A chunk is never written again where it was handed out;
// it is freed once every body in it is unreachable, so a body kept long keeps its whole
// chunk: only requests whose bodies are copied out while they are served (the broker's
// sends, whose bodies go into their records) belong here. The binary (ROCKETMQ) headers
// of those requests are copied into the chunks too (str), so their strings (topic,
// properties, producer group) are substrings of a chunk, and one that outlives its
// request keeps the whole chunk: a receiver copies what it keeps (the broker its
// topic), and LoadExt gives the map strings of their own. It hands out commands the
// same way (DecodeFrameLent), arenaSlab per allocation: a command kept long (a send
// answered once durable) keeps its slab of about 5 KiB. The zero value is ready; it is
// not safe for concurrent use.
type BodyArena struct {
	buf  []byte
	cmds []Command
}

// command returns a zeroed command from the slab.
func (a *BodyArena) command() *Command {
	if len(a.cmds) == 0 {
		a.cmds = make([]Command, arenaSlab)
	}
	c := &a.cmds[0]
	a.cmds = a.cmds[1:]
	return c
}

// copy returns a copy of b, capped at its length so an append cannot reach a neighbour.
func (a *BodyArena) copy(b []byte) []byte {
	if len(b) > arenaMaxBody {
		return append(make([]byte, 0, len(b)), b...)
	}
	if cap(a.buf)-len(a.buf) < len(b) {
		a.buf = make([]byte, 0, arenaChunk)
	}
	n := len(a.buf)
	a.buf = append(a.buf, b...)
	return a.buf[n:len(a.buf):len(a.buf)]
}

// str returns a string with b's bytes: a substring of the current chunk, which is never
// written again where it was handed out, so the string is immutable as Go requires.
func (a *BodyArena) str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > arenaMaxBody {
		return string(b)
	}
	c := a.copy(b)
	return unsafe.String(&c[0], len(c))
}

// HasRawExt reports whether c's extFields are still unparsed (DecodeFrameCopyLazy).
func (c *Command) HasRawExt() bool { return c.rawSet }

// LoadExt parses unparsed extFields into ExtFields, giving the map DecodeFrameCopy
// would have given; it does nothing for any other command.
func (c *Command) LoadExt() {
	if !c.rawSet {
		return
	}
	c.rawSet = false
	if !c.rawJSON {
		// The map's strings are the binary header's, which may lie in an arena
		// (DecodeFrameLent): they get a copy of their own, as whoever asks for the map
		// may keep them.
		raw := strings.Clone(c.raw)
		c.ExtFields = make(map[string]string, countRocketMQEntries([]byte(raw)))
		_ = walkRocketMQExt(raw, c.ExtFields, nil) // checked when decoded
	} else {
		var tmp Command
		sc := jsonScanner{s: c.raw}
		_ = sc.header(&tmp, nil) // checked when decoded
		c.ExtFields = tmp.ExtFields
	}
	c.raw, c.rawJSON = "", false
}

// RangeExt calls fn with each extFields entry of c in frame order: from the unparsed
// frame bytes when HasRawExt, else from ExtFields (del is then always false). A JSON
// entry whose value is null comes with del set: it removes any earlier value of k, as
// the map decode does. Later entries of the same key win. The strings stay valid after
// the call.
func (c *Command) RangeExt(fn func(k, v string, del bool)) {
	if !c.rawSet {
		for k, v := range c.ExtFields {
			fn(k, v, false)
		}
		return
	}
	if !c.rawJSON {
		_ = walkRocketMQExt(c.raw, nil, fn)
		return
	}
	var tmp Command
	sc := jsonScanner{s: c.raw}
	_ = sc.header(&tmp, fn)
}
