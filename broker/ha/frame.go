package ha

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"unicode/utf8"

	"github.com/rocketgo/rocketgo/proto/message"
)

// Frame types.
const (
	TypeHello     byte = 1 // slave → master: who it is and where its log ends
	TypeWelcome   byte = 2 // master → slave: accepted; the log id and where streaming starts
	TypeRefuse    byte = 3 // master → slave: refused, and why; the master closes
	TypeData      byte = 4 // master → slave: a run of the log at an offset
	TypeHeartbeat byte = 5 // master → slave: the master's log end, while idle
	TypeAck       byte = 6 // slave → master: the slave's log end
	TypeConfirm   byte = 7 // master → slave: the master's confirm offset (version 2)
)

// Version is the protocol version a HELLO carries. Version 2 adds CONFIRM: a master
// sends it to a slave of version 2 or later only, and serves slaves of version 1 too.
const Version = 2

// confirmVersion is the first version whose slaves receive CONFIRM frames.
const confirmVersion = 2

// versionRefusal begins a master's refusal of a HELLO version it does not speak; every
// version's master words it so, and a slave that meets it speaks version 1 instead.
const versionRefusal = "the slave speaks replication protocol version"

// Sizes of the fixed parts.
const (
	headerLen     = 7  // magic 2, type 1, payload length 4
	helloFixed    = 59 // version 2, id 16, broker id 8, segment bytes 8, offset 8, check from 8, crc 4, name length 1, reserved 4
	welcomeLen    = 40 // id 16, start 8, min 8, max 8
	dataHeaderLen = 12 // offset 8, crc 4
	heartbeatLen  = 8
	ackLen        = 8
	maxReasonLen  = 4096
	maxNameLen    = 255
)

var magic = [2]byte{'R', 'H'}

// crcTable is CRC-32C: hardware-computed, about 10 GB/s, so every data frame carries
// one. A record's own CRC covers only its body; the frame's covers the headers and
// properties too.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Errors of the codec.
var (
	// ErrFrame marks bytes that are not a frame of this protocol: wrong magic, unknown
	// type, a payload whose length does not fit its type or exceeds the limit.
	ErrFrame = errors.New("ha: bad frame")
)

// LogID identifies a log: every store holding a copy of one log carries its id.
type LogID [16]byte

// Hello opens a replication connection (slave → master).
type Hello struct {
	Version      uint16
	LogID        LogID // the slave's log id; zero when it has none yet
	BrokerID     int64
	SegmentBytes int64
	// Offset is where the slave's log ends: streaming resumes there.
	Offset int64
	// CheckFrom..Offset is the window of the slave's log that CheckCRC (CRC-32C)
	// covers; CheckFrom == Offset when the slave sends no checksum.
	CheckFrom  int64
	CheckCRC   uint32
	BrokerName string
}

// Welcome accepts a slave (master → slave).
type Welcome struct {
	LogID LogID
	// Start is where the stream begins: the slave's offset, or for an empty slave the
	// master's oldest stored offset.
	Start     int64
	MasterMin int64
	MasterMax int64
}

// Data carries a run of the master's log (master → slave).
type Data struct {
	Offset int64
	CRC    uint32 // CRC-32C of Bytes
	Bytes  []byte
}

// appendHeader appends a frame header for a payload of n bytes.
func appendHeader(dst []byte, typ byte, n int) []byte {
	dst = append(dst, magic[0], magic[1], typ)
	return binary.BigEndian.AppendUint32(dst, uint32(n))
}

// AppendHello appends h as a frame.
func AppendHello(dst []byte, h Hello) []byte {
	name := h.BrokerName
	if len(name) > maxNameLen {
		name = name[:maxNameLen]
	}
	dst = appendHeader(dst, TypeHello, helloFixed+len(name))
	dst = binary.BigEndian.AppendUint16(dst, h.Version)
	dst = append(dst, h.LogID[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.BrokerID))
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.SegmentBytes))
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.Offset))
	dst = binary.BigEndian.AppendUint64(dst, uint64(h.CheckFrom))
	dst = binary.BigEndian.AppendUint32(dst, h.CheckCRC)
	dst = append(dst, byte(len(name)))
	// Four reserved bytes keep the fixed part aligned for later fields.
	dst = append(dst, 0, 0, 0, 0)
	return append(dst, name...)
}

// DecodeHello decodes a HELLO payload.
func DecodeHello(p []byte) (Hello, error) {
	if len(p) < helloFixed {
		return Hello{}, fmt.Errorf("%w: hello of %d bytes, need %d", ErrFrame, len(p), helloFixed)
	}
	be := binary.BigEndian
	var h Hello
	h.Version = be.Uint16(p)
	copy(h.LogID[:], p[2:18])
	h.BrokerID = int64(be.Uint64(p[18:]))
	h.SegmentBytes = int64(be.Uint64(p[26:]))
	h.Offset = int64(be.Uint64(p[34:]))
	h.CheckFrom = int64(be.Uint64(p[42:]))
	h.CheckCRC = be.Uint32(p[50:])
	n := int(p[54])
	if len(p) != helloFixed+n {
		return Hello{}, fmt.Errorf("%w: hello of %d bytes with a %d-byte name", ErrFrame, len(p), n)
	}
	name := p[helloFixed:]
	if !utf8.Valid(name) {
		return Hello{}, fmt.Errorf("%w: hello broker name is not UTF-8", ErrFrame)
	}
	h.BrokerName = string(name)
	return h, nil
}

// AppendWelcome appends w as a frame.
func AppendWelcome(dst []byte, w Welcome) []byte {
	dst = appendHeader(dst, TypeWelcome, welcomeLen)
	dst = append(dst, w.LogID[:]...)
	dst = binary.BigEndian.AppendUint64(dst, uint64(w.Start))
	dst = binary.BigEndian.AppendUint64(dst, uint64(w.MasterMin))
	return binary.BigEndian.AppendUint64(dst, uint64(w.MasterMax))
}

// DecodeWelcome decodes a WELCOME payload.
func DecodeWelcome(p []byte) (Welcome, error) {
	if len(p) != welcomeLen {
		return Welcome{}, fmt.Errorf("%w: welcome of %d bytes, want %d", ErrFrame, len(p), welcomeLen)
	}
	var w Welcome
	copy(w.LogID[:], p)
	w.Start = int64(binary.BigEndian.Uint64(p[16:]))
	w.MasterMin = int64(binary.BigEndian.Uint64(p[24:]))
	w.MasterMax = int64(binary.BigEndian.Uint64(p[32:]))
	return w, nil
}

// AppendRefuse appends a REFUSE frame carrying reason (cut to 4 KiB).
func AppendRefuse(dst []byte, reason string) []byte {
	if len(reason) > maxReasonLen {
		reason = reason[:maxReasonLen]
	}
	dst = appendHeader(dst, TypeRefuse, len(reason))
	return append(dst, reason...)
}

// DecodeRefuse decodes a REFUSE payload; bytes that are not UTF-8 are replaced.
func DecodeRefuse(p []byte) (string, error) {
	if len(p) > maxReasonLen {
		return "", fmt.Errorf("%w: refusal of %d bytes, at most %d", ErrFrame, len(p), maxReasonLen)
	}
	return string([]rune(string(p))), nil
}

// AppendDataHeader appends the frame header and data header of a DATA frame carrying b
// at offset; b itself follows on the wire (written separately, without a copy).
func AppendDataHeader(dst []byte, offset int64, b []byte) []byte {
	dst = appendHeader(dst, TypeData, dataHeaderLen+len(b))
	dst = binary.BigEndian.AppendUint64(dst, uint64(offset))
	return binary.BigEndian.AppendUint32(dst, crc32.Checksum(b, crcTable))
}

// DecodeData decodes a DATA payload and checks its CRC. Bytes aliases p.
func DecodeData(p []byte) (Data, error) {
	if len(p) <= dataHeaderLen {
		return Data{}, fmt.Errorf("%w: data of %d bytes carries no log bytes", ErrFrame, len(p))
	}
	d := Data{
		Offset: int64(binary.BigEndian.Uint64(p)),
		CRC:    binary.BigEndian.Uint32(p[8:]),
		Bytes:  p[dataHeaderLen:],
	}
	if d.Offset < 0 {
		return Data{}, fmt.Errorf("%w: data at negative offset %d", ErrFrame, d.Offset)
	}
	if got := crc32.Checksum(d.Bytes, crcTable); got != d.CRC {
		// Damaged log bytes: a bad frame, and corruption of the replicated log.
		return Data{}, fmt.Errorf("%w: %w: data at %d: crc 0x%08X, computed 0x%08X", ErrFrame, message.ErrCorrupt, d.Offset, d.CRC, got)
	}
	return d, nil
}

// AppendOffset appends a HEARTBEAT or ACK frame: both carry one offset.
func AppendOffset(dst []byte, typ byte, offset int64) []byte {
	dst = appendHeader(dst, typ, 8)
	return binary.BigEndian.AppendUint64(dst, uint64(offset))
}

// DecodeOffset decodes a HEARTBEAT or ACK payload.
func DecodeOffset(p []byte) (int64, error) {
	if len(p) != 8 {
		return 0, fmt.Errorf("%w: offset frame of %d bytes, want 8", ErrFrame, len(p))
	}
	off := int64(binary.BigEndian.Uint64(p))
	if off < 0 {
		return 0, fmt.Errorf("%w: negative offset %d", ErrFrame, off)
	}
	return off, nil
}

// payloadLimit returns the largest payload a frame of typ may have, given the limit for
// DATA frames.
func payloadLimit(typ byte, dataLimit int) (int, bool) {
	switch typ {
	case TypeHello:
		return helloFixed + maxNameLen, true
	case TypeWelcome:
		return welcomeLen, true
	case TypeRefuse:
		return maxReasonLen, true
	case TypeData:
		return dataHeaderLen + dataLimit, true
	case TypeHeartbeat, TypeAck, TypeConfirm:
		return 8, true
	}
	return 0, false
}

// ParseHeader checks a frame header and returns its type and payload length; dataLimit
// bounds the log bytes of a DATA frame, so no reader allocates what a peer merely
// claims.
func ParseHeader(h []byte, dataLimit int) (typ byte, n int, err error) {
	if len(h) < headerLen {
		return 0, 0, fmt.Errorf("%w: header of %d bytes", ErrFrame, len(h))
	}
	if h[0] != magic[0] || h[1] != magic[1] {
		return 0, 0, fmt.Errorf("%w: magic %02X%02X", ErrFrame, h[0], h[1])
	}
	typ = h[2]
	limit, ok := payloadLimit(typ, dataLimit)
	if !ok {
		return 0, 0, fmt.Errorf("%w: unknown type %d", ErrFrame, typ)
	}
	size := binary.BigEndian.Uint32(h[3:])
	if uint64(size) > uint64(limit) {
		return 0, 0, fmt.Errorf("%w: type %d payload of %d bytes, at most %d", ErrFrame, typ, size, limit)
	}
	return typ, int(size), nil
}

// ReadFrame reads one frame from r into buf (grown as needed, never beyond the limit) and
// returns its type and payload, which aliases the returned buffer.
func ReadFrame(r io.Reader, buf []byte, dataLimit int) (typ byte, payload, newBuf []byte, err error) {
	var h [headerLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, buf, err
	}
	typ, n, err := ParseHeader(h[:], dataLimit)
	if err != nil {
		return 0, nil, buf, err
	}
	if cap(buf) < n {
		buf = make([]byte, n)
	}
	payload = buf[:n]
	if _, err := io.ReadFull(r, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, buf, err
	}
	return typ, payload, buf, nil
}
