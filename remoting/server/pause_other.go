//go:build !linux || poll_opt

package server

import (
	"errors"

	"github.com/panjf2000/gnet/v2"
)

// errNoPause is returned where reads cannot be paused: a connection that would be
// paused is closed instead (pause_linux.go).
var errNoPause = errors.New("remoting: pausing reads is not supported on this platform")

func setReading(gnet.Conn, bool) error { return errNoPause }
