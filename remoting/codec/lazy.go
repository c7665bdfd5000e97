package codec

// Lazy extFields: a receiver that knows how to read a request's header straight from the
// frame (the broker's sends) has the server decode it with DecodeFrameCopyLazy, which
// checks the extFields exactly as DecodeFrameCopy does (the same errors for the same
// bytes) but builds no map. The receiver reads the entries with RangeExt, or asks for
// the map with LoadExt where it needs one (an ACL check, a rarely taken path).

// DecodeFrameCopyLazy is DecodeFrameCopy that leaves the extFields of a request unparsed
// when lazy reports true for its code: ExtFields stays nil until LoadExt. Responses and
// other codes are decoded in full.
func DecodeFrameCopyLazy(frame []byte, lazy func(code int32) bool) (*Command, error) {
	c := new(Command)
	body, err := decodeFrameInto(frame, c, lazy)
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		c.Body = append(make([]byte, 0, len(body)), body...)
	}
	return c, nil
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
		c.ExtFields = make(map[string]string, countRocketMQEntries([]byte(c.raw)))
		_ = walkRocketMQExt(c.raw, c.ExtFields, nil) // checked when decoded
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
