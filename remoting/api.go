package remoting

// This file fixes the API other packages build against; the implementation lives in the
// other files of the package (command.go, server.go, client.go, codec/...).

// Serialization types of the header (high byte of the header-length word).
const (
	SerializeJSON     byte = 0 // fastjson / json-iterator header
	SerializeRocketMQ byte = 1 // ROCKETMQ binary header
)

// Command is one remoting frame: a request or a response (PROTOCOL.md §1).
type Command struct {
	Code      int16  // request code, or response code
	Language  string // "GO", "JAVA", ...
	Version   int32  // sender's MQVersion ordinal
	Opaque    int32  // request id; a response echoes the request's
	Flag      int32  // bit0 response, bit1 oneway
	Remark    string
	ExtFields map[string]string
	Body      []byte
	// BodyParts, when set, is written after Body without copying (writev): the pull path
	// hands slices of the CommitLog mapping here. Decoding never fills it.
	BodyParts [][]byte
	// Serialize is the header serialization the frame was read with, or will be written
	// with. A response uses its request's.
	Serialize byte
}

// Implemented in this package (signatures fixed here):
//
//	func NewRequest(code int16, ext map[string]string, body []byte) *Command
//	func (c *Command) IsResponse() bool
//	func (c *Command) IsOneway() bool
//	func (c *Command) NewResponse(code int16, remark string) *Command
//	    a response to c: same opaque and serialization, flag response, Language "GO",
//	    Version 317, ExtFields an empty non-nil map.
//	func (c *Command) BodyLen() int  // len(Body) + len of all BodyParts
//
// Server (gnet):
//
//	type ServerOptions struct {
//	    Addr          string        // "127.0.0.1:0" for tests; "0.0.0.0:10911"
//	    MaxFrameBytes int           // 16 MiB default
//	    Workers       int           // bounded pool for handlers registered with HandleAsync
//	    Logger        zerolog.Logger
//	}
//	func NewServer(o ServerOptions) *Server
//	func (s *Server) Handle(code int16, h Handler)       // runs on the event loop: must not block
//	func (s *Server) HandleAsync(code int16, h Handler)  // runs on the bounded worker pool
//	func (s *Server) OnOpen(fn func(*Conn))
//	func (s *Server) OnClose(fn func(*Conn))
//	func (s *Server) Start(ctx context.Context) error    // returns once listening
//	func (s *Server) Addr() netip.AddrPort                // the bound address (port 0 resolved)
//	func (s *Server) Close() error                       // stops accepting, closes connections
//
//	// Handler serves one request. It returns the response to write now, or nil when it
//	// answers later with conn.Reply (completion) or the request needs no answer.
//	// Unknown codes get REQUEST_CODE_NOT_SUPPORTED with a remark naming the code.
//	type Handler func(conn *Conn, req *Command) *Command
//
//	// Conn is one accepted connection. Methods are safe from any goroutine.
//	func (c *Conn) ID() uint64
//	func (c *Conn) RemoteAddr() netip.AddrPort
//	func (c *Conn) Reply(resp *Command) error       // write a (late) response
//	func (c *Conn) Invoke(ctx context.Context, req *Command) (*Command, error) // server-started request, waits for the answer
//	func (c *Conn) InvokeOneway(req *Command) error // server-started request, no answer (codes 39, 40)
//	func (c *Conn) Close() error
//	func (c *Conn) SetValue(v any) / Value() any   // per-connection state of the owner
//
// Client transport:
//
//	type ClientOptions struct { MaxFrameBytes int; DialTimeout time.Duration; Logger zerolog.Logger }
//	func NewClient(o ClientOptions) *Client
//	func (c *Client) Invoke(ctx context.Context, addr string, req *Command) (*Command, error)
//	func (c *Client) InvokeAsync(ctx context.Context, addr string, req *Command, cb func(*Command, error)) error
//	func (c *Client) InvokeOneway(addr string, req *Command) error
//	func (c *Client) Handle(code int16, h func(addr string, req *Command) *Command) // server-started requests
//	func (c *Client) CloseAddr(addr string)
//	func (c *Client) Close() error
//
// Errors: ErrTimeout, ErrClosed, ErrFrameTooLarge, ErrBadFrame (all "remoting: ..."), wrapped.
