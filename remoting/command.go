package remoting

import "errors"

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

// Command is one remoting frame: a request or a response (PROTOCOL.md §1).
//
// A Command is not safe for concurrent mutation; once handed to a Reply, Invoke or
// encoder it must not be changed until that call returns (and BodyParts must stay
// untouched until the bytes are written, see BodyParts).
type Command struct {
	Code      int16  // request code, or response code
	Language  string // "GO", "JAVA", ...
	Version   int32  // sender's MQVersion ordinal
	Opaque    int32  // request id; a response echoes the request's
	Flag      int32  // bit0 response, bit1 oneway
	Remark    string // error text of a response; "" when none
	ExtFields map[string]string
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
}

// NewRequest returns a request command with the given code, extFields and body, stamped
// with language "GO" and version 317 and serialized as JSON, like the official Go
// client's requests. The opaque is assigned when the request is sent. A nil ext is
// replaced by an empty map so handlers can always index it.
func NewRequest(code int16, ext map[string]string, body []byte) *Command {
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
// client never sets it, even for its "oneway" sends (PROTOCOL.md §1.4).
func (c *Command) IsOneway() bool { return c.Flag&FlagOneway != 0 }

// NewResponse returns a response to c: same opaque and serialization, the response flag,
// language "GO", version 317, and an empty non-nil ExtFields map.
func (c *Command) NewResponse(code int16, remark string) *Command {
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
