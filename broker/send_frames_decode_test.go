package broker

import (
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
)

var benchArena codec.BodyArena

// decodeSendFrame decodes a send frame as the server does for the raw send routes: the
// body borrowed from the frame (codec.DecodeFrameLent).
func decodeSendFrame(f []byte) (*codec.Command, error) {
	c, _, err := codec.DecodeFrameLent(f, func(c int32) bool { return c == code.SendMessageV2 }, &benchArena)
	return c, err
}
