package broker

import (
	"time"

	"github.com/rocketgo/rocketgo/broker/acl"
	"github.com/rocketgo/rocketgo/proto/code"
	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/server"
)

// aclPollInterval is how often plain_acl.yml is looked at for changes.
const aclPollInterval = time.Second

// openACL loads aclFile when aclEnable is set (docs/acl.md).
func (b *Broker) openACL() error {
	if !b.opts.AclEnable {
		return nil
	}
	p, err := acl.Open(b.opts.AclFile, b.log)
	if err != nil {
		return err
	}
	b.acl = p
	return nil
}

// guarded wraps h with the ACL check when ACL is on: a refused request is answered
// NO_PERMISSION with the refusal's remark and never reaches h.
func (b *Broker) guarded(h server.Handler) server.Handler {
	if b.acl == nil {
		return h
	}
	p := b.acl
	return func(c *server.Conn, req *codec.Command) *codec.Command {
		if r := p.Check(req.Code, req.ExtFields, req.Body, c.RemoteAddr().Addr()); r != nil {
			return req.NewResponse(code.NoPermission, r.Remark)
		}
		return h(c, req)
	}
}
