package codec

// ExtEntries are string entries of an extFields encoded once in one serialization, for
// an ExtWriter that writes the same entries with request after request (a producer's
// group and topic): ExtEncoder.Entries appends the encoded bytes instead of encoding
// each entry again. The bytes are what ExtEncoder.Str writes for the same entries.
type ExtEntries struct {
	ser byte
	enc []byte   // the entries in ser; a JSON run starts without its separating comma
	n   int      // entries in enc
	kv  []string // key, value, ...: for an encoder of another kind
	err error    // an entry that cannot be encoded: Entries then writes kv, which fails alike
}

// NewExtEntries encodes the entries kv (key, value, key, value, ...) in serialization
// ser (SerializeRocketMQ or SerializeJSON).
func NewExtEntries(ser byte, kv ...string) *ExtEntries {
	e := ExtEncoder{ser: ser}
	for i := 0; i+1 < len(kv); i += 2 {
		e.Str(kv[i], kv[i+1])
	}
	return &ExtEntries{ser: ser, enc: e.dst, n: e.n, kv: kv, err: e.err}
}

// Entries writes the entries of x, exactly as Str would write each in turn: an encoder
// of x's serialization appends x's bytes, any other (the other serialization, a map)
// gets them one by one.
func (e *ExtEncoder) Entries(x *ExtEntries) {
	if e.m != nil || e.ser != x.ser || x.err != nil || e.err != nil {
		for i := 0; i+1 < len(x.kv); i += 2 {
			e.Str(x.kv[i], x.kv[i+1])
		}
		return
	}
	if e.ser != SerializeRocketMQ && e.n > 0 && x.n > 0 {
		e.dst = append(e.dst, ',')
	}
	e.dst = append(e.dst, x.enc...)
	e.n += x.n
}
