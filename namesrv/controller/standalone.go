package controller

import (
	"context"
	"errors"
	"fmt"

	"github.com/rocketgo/rocketgo/remoting/server"
)

// Standalone is a controller with its own remoting server (bin/mqcontroller).
type Standalone struct {
	rs *server.Server
	c  *Controller
}

// StartStandalone listens on o.ListenAddr and joins the controller group.
func StartStandalone(ctx context.Context, o Options) (*Standalone, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	rs := server.NewServer(server.ServerOptions{Addr: o.ListenAddr, Workers: 8, Logger: o.Logger})
	if err := rs.Start(ctx); err != nil {
		return nil, fmt.Errorf("controller: listen on %s: %w", o.ListenAddr, err)
	}
	c, err := New(o, func() string { return rs.Addr().String() })
	if err != nil {
		return nil, errors.Join(err, rs.Close())
	}
	c.Register(rs)
	return &Standalone{rs: rs, c: c}, nil
}

// Addr returns the remoting address listened on.
func (s *Standalone) Addr() string { return s.rs.Addr().String() }

// Close stops serving and leaves the group.
func (s *Standalone) Close() error {
	return errors.Join(s.rs.Close(), s.c.Close())
}
