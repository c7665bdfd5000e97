package sqlread

import (
	"sync"

	"github.com/rocketgo/rocketgo/broker/filter"
)

// maxCachedExprs bounds the compiled expressions kept; the cache is emptied when
// full (subscriptions change rarely, so it refills with what is in use).
const maxCachedExprs = 1024

// Cache holds compiled SQL92 subscriptions by source text, failures included, so a
// pull does not compile its consumer's expression again. The zero value is ready.
type Cache struct {
	mu sync.Mutex
	m  map[string]entry
}

type entry struct {
	e   *filter.Expr
	err error
}

// Compile returns the compiled expr, compiling it on first use; refuse turns a compile
// error into the error kept and returned for expr.
func (c *Cache) Compile(expr string, refuse func(error) error) (*filter.Expr, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ent, ok := c.m[expr]; ok {
		return ent.e, ent.err
	}
	e, err := filter.Compile(expr)
	if err != nil {
		err = refuse(err)
	}
	if c.m == nil || len(c.m) >= maxCachedExprs {
		c.m = make(map[string]entry)
	}
	c.m[expr] = entry{e, err}
	return e, err
}
