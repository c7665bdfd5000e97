package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/rocketgo/rocketgo/proto/code"
)

// Serialization types of the header: the high byte of the header-length word.
const (
	SerializeJSON     byte = 0 // JSON header (fastjson on Java, json-iterator on Go)
	SerializeRocketMQ byte = 1 // ROCKETMQ binary header
)

// Flag bits of a command.
const (
	FlagResponse int32 = 1 << 0 // RPC_TYPE: the command answers a request
	FlagOneway   int32 = 1 << 1 // RPC_ONEWAY: the sender expects no answer
)

// Defaults written into the commands this package creates.
const (
	// DefaultLanguage is the language name stamped on commands created here.
	DefaultLanguage = "GO"
	// DefaultVersion is the MQVersion ordinal stamped on commands created here (V4_5_2,
	// the value the official Go client sends).
	DefaultVersion int32 = 317
	// DefaultMaxFrameBytes bounds a frame (the length prefix) unless options say otherwise;
	// it is Java's com.rocketmq.remoting.frameMaxLength default.
	DefaultMaxFrameBytes = 16 << 20
)

// Errors of this package. They are returned wrapped with context; test with errors.Is.
var (
	// ErrTimeout: the call's context expired before the answer arrived.
	ErrTimeout = errors.New("remoting: timeout")
	// ErrClosed: the connection, client or server is closed, or the connection died
	// while the call was in flight.
	ErrClosed = errors.New("remoting: closed")
	// ErrFrameTooLarge: a length prefix (read) or an encoded frame (write) exceeds the
	// configured MaxFrameBytes, or a header exceeds the 24-bit header-length field.
	ErrFrameTooLarge = errors.New("remoting: frame too large")
	// ErrBadFrame: the bytes are not a well-formed frame or header.
	ErrBadFrame = errors.New("remoting: bad frame")
)

// Command is one remoting frame: a request or a response (docs/protocol.md §1).
//
// A Command is not safe for concurrent mutation; once handed to a Reply, Invoke or
// encoder it must not be changed until that call returns (and BodyParts must stay
// untouched until the bytes are written, see BodyParts).
type Command struct {
	Code      int32  // request code, or response code (5.x POP codes exceed int16)
	Language  string // "GO", "JAVA", ...
	Version   int32  // sender's MQVersion ordinal
	Opaque    int32  // request id; a response echoes the request's
	Flag      int32  // bit0 response, bit1 oneway
	Remark    string // error text of a response; "" when none
	ExtFields map[string]string
	// Ext, when set on a command to be sent, supplies the extFields instead of
	// ExtFields (which encoders then ignore): the entries are appended straight into
	// the frame (see ExtWriter). Decoding never sets it; ExtMap turns it into a map.
	Ext ExtWriter
	// Body is the payload. A decoded command owns its Body (it does not alias any read
	// buffer) unless the decoding function says otherwise.
	Body []byte
	// BodyParts, when set, is written after Body without copying (writev): the pull path
	// hands slices of the CommitLog mapping here. Decoding never fills it. The slices
	// must stay valid and unmodified until the write completes (for Conn.Reply: until
	// the connection has written or buffered them, which happens on its event loop).
	BodyParts [][]byte
	// Serialize is the header serialization the frame was read with, or will be written
	// with (SerializeJSON or SerializeRocketMQ). A response uses its request's.
	Serialize byte

	// raw holds the extFields of a frame decoded with DecodeFrameCopyLazy and not yet
	// parsed into ExtFields (rawSet): the ROCKETMQ entries block, or the whole JSON
	// header (lazy.go).
	raw     string
	rawSet  bool
	rawJSON bool // raw is a JSON header
}

// NewRequest returns a request command with the given code, extFields and body, stamped
// with language "GO" and version 317 and serialized as JSON, like the official Go
// client's requests. The opaque is assigned when the request is sent. A nil ext is
// replaced by an empty map so handlers can always index it.
func NewRequest(code int32, ext map[string]string, body []byte) *Command {
	if ext == nil {
		ext = map[string]string{}
	}
	return &Command{
		Code:      code,
		Language:  DefaultLanguage,
		Version:   DefaultVersion,
		ExtFields: ext,
		Body:      body,
	}
}

// IsResponse reports whether the response bit (bit 0) of Flag is set.
func (c *Command) IsResponse() bool { return c.Flag&FlagResponse != 0 }

// IsOneway reports whether the oneway bit (bit 1) of Flag is set. The official Go
// client never sets it, even for its "oneway" sends (docs/protocol.md §1.4).
func (c *Command) IsOneway() bool { return c.Flag&FlagOneway != 0 }

// HandlerFailed returns the SYSTEM_ERROR answer to c for a handler that panicked with r;
// every place that recovers a handler's panic answers with it.
func (c *Command) HandlerFailed(r any) *Command {
	return c.NewResponse(code.SystemError, fmt.Sprintf("handler for request code %d failed: %v", c.Code, r))
}

// NewResponse returns a response to c: same opaque and serialization, the response flag,
// language "GO", version 317, and an empty non-nil ExtFields map.
func (c *Command) NewResponse(code int32, remark string) *Command {
	return &Command{
		Code:      code,
		Language:  DefaultLanguage,
		Version:   DefaultVersion,
		Opaque:    c.Opaque,
		Flag:      FlagResponse,
		Remark:    remark,
		ExtFields: map[string]string{},
		Serialize: c.Serialize,
	}
}

// BodyLen returns len(Body) plus the lengths of all BodyParts: the body bytes the frame
// carries.
func (c *Command) BodyLen() int {
	n := len(c.Body)
	for _, p := range c.BodyParts {
		n += len(p)
	}
	return n
}

// languages maps the ROCKETMQ binary language byte to its name (LanguageCode.java).
var languages = [...]string{
	"JAVA", "CPP", "DOTNET", "PYTHON", "DELPHI", "ERLANG", "RUBY", "OTHER", "HTTP", "GO",
	"PHP", "OMS", "RUST",
}

// languageOther is the byte of "OTHER", used for names the binary header cannot carry.
const languageOther = 7

// LanguageName returns the name of a ROCKETMQ language byte; unknown bytes read as
// "OTHER" so a newer peer's language never makes a header undecodable.
func LanguageName(b byte) string {
	if int(b) < len(languages) {
		return languages[b]
	}
	return languages[languageOther]
}

// LanguageCode returns the ROCKETMQ language byte of a name; names outside the table
// (including "") map to OTHER (7).
func LanguageCode(name string) byte {
	switch name {
	case "GO": // the common case first
		return 9
	case "JAVA":
		return 0
	}
	for i, n := range languages {
		if n == name {
			return byte(i)
		}
	}
	return languageOther
}

// LengthPrefixBytes is the size of the frame's leading length field: a reader peeks
// this many bytes, passes them to FrameLength, then waits for that many more.
const LengthPrefixBytes = 4

// Frame geometry (see the package documentation for the diagram).
const (
	// headerWordBytes is the size of the serialize-type + header-length word.
	headerWordBytes = 4
	// maxHeaderBytes is the largest header the 24-bit header-length field can describe.
	maxHeaderBytes = 1<<24 - 1
	// rmqFixedBytes is the fixed part of a ROCKETMQ binary header: code 2, language 1,
	// version 2, opaque 4, flag 4, remark length 4, extFields length 4.
	rmqFixedBytes = 21
)

// FrameLength parses a 4-byte length prefix and checks it against maxFrame (the
// DefaultMaxFrameBytes when maxFrame <= 0). The result is the number of bytes that follow
// the prefix. It fails before anything of that size is allocated: a prefix over the limit
// is ErrFrameTooLarge, one too short to hold the header-length word is ErrBadFrame.
func FrameLength(prefix []byte, maxFrame int) (int, error) {
	if len(prefix) < LengthPrefixBytes {
		return 0, fmt.Errorf("%w: length prefix needs 4 bytes, have %d", ErrBadFrame, len(prefix))
	}
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrameBytes
	}
	n := uint64(binary.BigEndian.Uint32(prefix))
	if n > uint64(maxFrame) {
		return 0, fmt.Errorf("%w: length %d over limit %d", ErrFrameTooLarge, n, maxFrame)
	}
	if n < headerWordBytes {
		return 0, fmt.Errorf("%w: length %d shorter than the header word", ErrBadFrame, n)
	}
	return int(n), nil
}

// DecodeFrame decodes one frame without its length prefix: the header word, the header
// and the body. The returned command's Body aliases frame (nil when the body is empty);
// header strings do not. Every malformed input is an error wrapping ErrBadFrame.
func DecodeFrame(frame []byte) (*Command, error) {
	c := new(Command)
	body, err := decodeFrameInto(frame, c, nil, nil)
	if err != nil {
		return nil, err
	}
	if len(body) > 0 {
		c.Body = body
	}
	return c, nil
}

// DecodeFrameCopy is DecodeFrame for a frame that sits in a buffer reused once it is
// decoded (a peeked read buffer): the body is copied out, so the command owns all of
// its bytes.
func DecodeFrameCopy(frame []byte) (*Command, error) { return DecodeFrameCopyLazy(frame, nil, nil) }

// PrepareResponse makes resp answer req: same opaque and serialization, response flag.
// Both ends call it on a handler's result before writing it.
func PrepareResponse(req, resp *Command) {
	resp.Opaque = req.Opaque
	resp.Flag |= FlagResponse
	resp.Serialize = req.Serialize
}

// decodeFrameInto decodes the header of frame into c and returns the body slice, which
// aliases frame. When lazy is not nil and reports true for the request's code, the
// extFields are checked but left unparsed (DecodeFrameCopyLazy); the header strings of
// such a request go into arena when it is not nil (BodyArena.str).
func decodeFrameInto(frame []byte, c *Command, lazy func(code int32) bool, arena *BodyArena) ([]byte, error) {
	if len(frame) < headerWordBytes {
		return nil, fmt.Errorf("%w: frame of %d bytes has no header word", ErrBadFrame, len(frame))
	}
	word := binary.BigEndian.Uint32(frame)
	typ := byte(word >> 24)
	hlen := int(word & maxHeaderBytes)
	if hlen > len(frame)-headerWordBytes {
		return nil, fmt.Errorf("%w: header length %d exceeds frame of %d bytes", ErrBadFrame, hlen, len(frame))
	}
	header := frame[headerWordBytes : headerWordBytes+hlen]
	var err error
	switch typ {
	case SerializeJSON:
		err = decodeJSONHeader(header, c, lazy)
	case SerializeRocketMQ:
		err = decodeRocketMQHeader(header, c, lazy, arena)
	default:
		return nil, fmt.Errorf("%w: unknown serialize type %d", ErrBadFrame, typ)
	}
	if err != nil {
		return nil, err
	}
	c.Serialize = typ
	if c.rawSet && (c.IsResponse() || !lazy(c.Code)) {
		// Only a JSON header can get here: its code or flag came after the
		// extFields (or twice), so the choice made there does not hold.
		c.LoadExt()
	}
	return frame[headerWordBytes+hlen:], nil
}

// AppendHeader appends c's header, serialized as c.Serialize says, to dst. The ROCKETMQ
// binary header holds the code in 16 bits; a command whose code does not fit (the 5.x
// POP codes, 200050 and up) is written with the JSON header instead, which is what an
// Apache peer can read (docs/protocol.md §1).
func AppendHeader(dst []byte, c *Command) ([]byte, error) {
	if c.Serialize == SerializeRocketMQ && (c.Code > math.MaxInt16 || c.Code < math.MinInt16) {
		c.Serialize = SerializeJSON
	}
	switch c.Serialize {
	case SerializeJSON:
		return appendJSONHeader(dst, c), nil
	case SerializeRocketMQ:
		return appendRocketMQHeader(dst, c)
	default:
		return dst, fmt.Errorf("%w: unknown serialize type %d", ErrBadFrame, c.Serialize)
	}
}

// AppendFrame appends c as a whole frame to dst: length prefix, header word, header and
// Body. BodyParts are not appended but are counted in the length prefix: the caller
// writes them right after the returned bytes (writev), which is how large bodies go out
// without a copy. It fails with ErrFrameTooLarge when the header exceeds 24 bits of
// length or the frame exceeds maxFrame (DefaultMaxFrameBytes when maxFrame <= 0).
func AppendFrame(dst []byte, c *Command, maxFrame int) ([]byte, error) {
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrameBytes
	}
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	dst, err := AppendHeader(dst, c)
	if err != nil {
		return dst[:start], err
	}
	hlen := len(dst) - start - LengthPrefixBytes - headerWordBytes
	if hlen > maxHeaderBytes {
		return dst[:start], fmt.Errorf("%w: header of %d bytes", ErrFrameTooLarge, hlen)
	}
	total := uint64(headerWordBytes) + uint64(hlen) + uint64(c.BodyLen())
	if total > uint64(maxFrame) || total > math.MaxInt32 {
		return dst[:start], fmt.Errorf("%w: frame of %d bytes over limit %d", ErrFrameTooLarge, total, maxFrame)
	}
	binary.BigEndian.PutUint32(dst[start:], uint32(total))
	binary.BigEndian.PutUint32(dst[start+LengthPrefixBytes:], uint32(c.Serialize)<<24|uint32(hlen))
	return append(dst, c.Body...), nil
}

// appendRocketMQHeader appends the ROCKETMQ binary header (RocketMQSerializable.java).
// Version is written as int16, as the format has it.
func appendRocketMQHeader(dst []byte, c *Command) ([]byte, error) {
	dst = binary.BigEndian.AppendUint16(dst, uint16(c.Code))
	dst = append(dst, LanguageCode(c.Language))
	dst = binary.BigEndian.AppendUint16(dst, uint16(int16(c.Version)))
	dst = binary.BigEndian.AppendUint32(dst, uint32(c.Opaque))
	dst = binary.BigEndian.AppendUint32(dst, uint32(c.Flag))
	if len(c.Remark) > maxHeaderBytes {
		return dst, fmt.Errorf("%w: remark of %d bytes", ErrFrameTooLarge, len(c.Remark))
	}
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(c.Remark)))
	dst = append(dst, c.Remark...)
	extAt := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst, err := appendExt(dst, c, SerializeRocketMQ)
	if err != nil {
		return dst, err
	}
	extLen := len(dst) - extAt - 4
	if extLen > maxHeaderBytes {
		return dst, fmt.Errorf("%w: extFields of %d bytes", ErrFrameTooLarge, extLen)
	}
	binary.BigEndian.PutUint32(dst[extAt:], uint32(extLen))
	return dst, nil
}

// decodeRocketMQHeader decodes a ROCKETMQ binary header. Every length is checked against
// the bytes that remain, so a hostile length never drives an allocation; strings are
// substrings of one copy of the header. Bytes after the extFields are an error. When
// lazy reports true for a request's code, the extFields are checked and kept unparsed,
// and the copy is made in arena when it is not nil: a send's header is copied into a
// shared chunk instead of an allocation of its own.
func decodeRocketMQHeader(h []byte, c *Command, lazy func(code int32) bool, arena *BodyArena) error {
	remarkAt, extAt, end, err := splitRocketMQHeader(h, c)
	if err != nil {
		return err
	}
	raw := lazy != nil && !c.IsResponse() && lazy(c.Code)
	var s string
	if raw && arena != nil {
		s = arena.str(h)
	} else {
		s = string(h)
	}
	c.Remark = s[remarkAt : extAt-4]
	p := extAt
	ext := s[p:end]
	if raw {
		if err := walkRocketMQExt(ext, nil, nil); err != nil {
			return err
		}
		c.raw, c.rawSet = ext, true
		return nil
	}
	c.ExtFields = make(map[string]string, countRocketMQEntries(h[p:end]))
	return walkRocketMQExt(ext, c.ExtFields, nil)
}

// splitRocketMQHeader reads the fixed fields of a ROCKETMQ binary header into c and
// checks every length against the bytes that remain, so a hostile length never drives
// an allocation. It returns where the remark starts, where the extFields block starts
// (the remark ends 4 bytes before it, at the block's length) and where the block ends,
// which is the header's end: bytes after the extFields are an error.
//
//	code int16 | language byte | version int16 | opaque int32 | flag int32 |
//	remark length int32 | remark | extFields length int32 | extFields
func splitRocketMQHeader(h []byte, c *Command) (remarkAt, extAt, end int, err error) {
	if len(h) < rmqFixedBytes {
		return 0, 0, 0, fmt.Errorf("%w: binary header of %d bytes, need at least %d", ErrBadFrame, len(h), rmqFixedBytes)
	}
	c.Code = int32(int16(binary.BigEndian.Uint16(h)))
	c.Language = LanguageName(h[2])
	c.Version = int32(int16(binary.BigEndian.Uint16(h[3:])))
	c.Opaque = int32(binary.BigEndian.Uint32(h[5:]))
	c.Flag = int32(binary.BigEndian.Uint32(h[9:]))
	p := 13
	rlen := int64(int32(binary.BigEndian.Uint32(h[p:])))
	p += 4
	if rlen < 0 || rlen > int64(len(h)-p) {
		return 0, 0, 0, fmt.Errorf("%w: binary header remark length %d, %d bytes left", ErrBadFrame, rlen, len(h)-p)
	}
	remarkAt = p
	p += int(rlen)
	if len(h)-p < 4 {
		return 0, 0, 0, fmt.Errorf("%w: binary header truncated before extFields length", ErrBadFrame)
	}
	elen := int64(int32(binary.BigEndian.Uint32(h[p:])))
	p += 4
	if elen < 0 || elen > int64(len(h)-p) {
		return 0, 0, 0, fmt.Errorf("%w: binary header extFields length %d, %d bytes left", ErrBadFrame, elen, len(h)-p)
	}
	end = p + int(elen)
	if end != len(h) {
		return 0, 0, 0, fmt.Errorf("%w: binary header has %d bytes after extFields", ErrBadFrame, len(h)-end)
	}
	return remarkAt, p, end, nil
}

// walkRocketMQExt checks the ROCKETMQ extFields entries in ext and puts each into m,
// or hands it to fn, when they are not nil.
func walkRocketMQExt(ext string, m map[string]string, fn func(k, v string, del bool)) error {
	for p, end := 0, len(ext); p < end; {
		if end-p < 2 {
			return fmt.Errorf("%w: binary header extFields entry truncated at key length", ErrBadFrame)
		}
		klen := int(int16(uint16(ext[p])<<8 | uint16(ext[p+1])))
		p += 2
		if klen < 0 || klen > end-p {
			return fmt.Errorf("%w: binary header extFields key length %d, %d bytes left", ErrBadFrame, klen, end-p)
		}
		key := ext[p : p+klen]
		p += klen
		if end-p < 4 {
			return fmt.Errorf("%w: binary header extFields entry truncated at value length", ErrBadFrame)
		}
		vlen := int64(int32(uint32(ext[p])<<24 | uint32(ext[p+1])<<16 | uint32(ext[p+2])<<8 | uint32(ext[p+3])))
		p += 4
		if vlen < 0 || vlen > int64(end-p) {
			return fmt.Errorf("%w: binary header extFields value length %d, %d bytes left", ErrBadFrame, vlen, end-p)
		}
		v := ext[p : p+int(vlen)]
		p += int(vlen)
		switch {
		case m != nil:
			m[key] = v
		case fn != nil:
			fn(key, v, false)
		}
	}
	return nil
}

// countRocketMQEntries counts the well-formed entries at the start of an extFields
// block, so the map is sized once; decoding checks the lengths again.
func countRocketMQEntries(b []byte) int {
	n := 0
	for len(b) >= 2 {
		klen := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+klen+4 {
			break
		}
		vlen := uint64(binary.BigEndian.Uint32(b[2+klen:]))
		if vlen > uint64(len(b)-2-klen-4) {
			break
		}
		b = b[2+klen+4+int(vlen):]
		n++
	}
	return n
}
