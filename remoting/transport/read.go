package transport

import (
	"bufio"
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rocketgo/rocketgo/remoting/codec"
	"github.com/rocketgo/rocketgo/remoting/internal/pending"
)

// Who reads a connection: the read baton.
//
// Exactly one goroutine reads a connection at a time: the one holding its baton. Most
// of the time that is the connection's reader goroutine, which decodes every frame and
// completes the call it answers. A synchronous call answered that way costs two
// wake-ups: the network poller wakes the reader, and the reader wakes the caller, on
// two processors often waking the idle one for it. Reading its own answer took the
// synchronous publish figure (b) from about 72 to 50 µs at the median
// (docs/performance.md §5, eighth round).
//
// So a synchronous caller that finds the baton free after writing its request takes it
// and reads its answer itself: the poller wakes the caller directly. Frames that come
// before its answer it delivers as the reader would — other synchronous calls' answers,
// server requests (each on a goroutine of its own anyway) — except an asynchronous
// call's answer: its callback is the user's code, which must not run inside somebody
// else's call (under a lock that caller holds, say), so the caller hands that answer to
// the reader goroutine with the baton and waits for its own. Once it has its answer it
// passes the baton on: to the reader goroutine when other calls are still waiting, or
// it leaves it free when nothing is.
//
// A free baton goes back to the reader goroutine after readerIdle: somebody must read
// an idle connection, for the requests servers start (CHECK_TRANSACTION_STATE) and to
// see it close. The reader goroutine in turn lays the baton down whenever it has just
// answered a synchronous call and no other call waits, since that caller is likely to
// call again soon. A stream of synchronous calls on one connection therefore has one
// handed-off answer, then answers read by their callers for as long as the next call
// comes within readerIdle; concurrent callers, or asynchronous calls in flight, keep
// the reader goroutine reading as before.
//
// A caller reading its answer whose context ends is interrupted with a read deadline
// in the past; it then passes the baton on and fails with the context's error, as a
// waiting caller would. The deadline is set and cleared under the baton's lock and
// tagged with the read it was meant for, so a late one never reaches the next reader.
// A frame larger than the read buffer, read in parts, is never a caller's: a deadline
// between two parts would leave the stream unreadable. A caller that meets one hands
// the baton to the reader goroutine and waits.
//
// An asynchronous call sent while the baton is down gives it to the reader goroutine at
// once, so that its answer is not left unread for readerIdle. A server's request that
// comes while the baton is down waits for it at most that long. When the connection
// fails, the parked reader goroutine waits for a caller still reading to pass the
// baton back before it ends, so that nothing reads the connection after Close.
//
// TLS connections keep the reader goroutine: a deadline in the middle of a TLS record
// is not something this code should have to reason about.

// readerIdle is how long a free baton waits for the next synchronous caller before the
// reader goroutine takes it back (nanoseconds; tests lengthen it).
var readerIdle atomic.Int64

func init() { readerIdle.Store(int64(time.Millisecond)) }

// baton is a connection's read baton.
type baton struct {
	mu   sync.Mutex
	held bool   // a goroutine reads (the reader goroutine or a caller)
	gen  uint64 // moves at the start and end of every caller's read
	// interrupted: a read deadline was set to stop the current caller's read.
	interrupted bool
	kick        chan struct{} // gives the baton to the reader goroutine (cap 1)
	idle        *time.Timer   // returns a free baton to the reader goroutine
	br          *bufio.Reader // read by the holder only
	direct      bool          // callers may read (not TLS)
	carried     carried       // see carried
	// answered counts the answers callers read themselves, for tests.
	answered atomic.Int64
}

// beforeTake and afterTake, when set (by tests), run between a synchronous caller's
// write and its attempt to take the baton, and once it took it.
var beforeTake, afterTake atomic.Pointer[func()]

// carried is an asynchronous call's answer a caller read and leaves to the reader
// goroutine, with the baton: written before the kick, read after it.
type carried struct {
	cmd *codec.Command
	pc  *pending.Call
}

// deliverCarried completes the call whose answer a caller left with the baton, if any.
// Only the reader goroutine calls it, after it received the baton.
func (cc *clientConn) deliverCarried() {
	if c := cc.rb.carried; c.pc != nil {
		cc.rb.carried = carried{}
		c.pc.Complete(c.cmd, nil)
	}
}

// initBaton sets up the baton of a freshly dialled connection, held by the reader
// goroutine that is about to start.
func (cc *clientConn) initBaton() {
	rb := &cc.rb
	rb.held = true
	rb.kick = make(chan struct{}, 1)
	rb.br = bufio.NewReaderSize(cc.nc, readerBufBytes)
	_, rb.direct = cc.nc.(interface{ SetReadDeadline(time.Time) error })
	if cc.cl.o.TLS != nil {
		rb.direct = false
	}
	rb.idle = time.AfterFunc(time.Hour, cc.wakeReader) // after readerIdle down
	rb.idle.Stop()
}

// layDown is the reader goroutine's offer of the baton after it answered a
// synchronous call: it is laid down (and true returned) when no other call waits.
func (cc *clientConn) layDown() bool {
	rb := &cc.rb
	if !rb.direct {
		return false
	}
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if cc.pending.Len() > 0 || cc.dead.Load() {
		return false
	}
	cc.layDownLocked()
	return true
}

// layDownLocked leaves the baton down, for the next synchronous caller, and has it go
// back to the reader goroutine after readerIdle. rb.mu is held.
func (cc *clientConn) layDownLocked() {
	cc.rb.held = false
	cc.rb.idle.Reset(time.Duration(readerIdle.Load()))
}

// passOn is a caller's release of the baton once its read ended: to the reader
// goroutine when toReader, when calls wait or the connection is failing; down
// otherwise. Interrupts meant for the read are void from here on, and a read deadline
// set by one is cleared before anyone reads again.
func (cc *clientConn) passOn(toReader bool) {
	rb := &cc.rb
	rb.mu.Lock()
	defer rb.mu.Unlock()
	rb.gen++
	if rb.interrupted {
		rb.interrupted = false
		_ = cc.nc.SetReadDeadline(time.Time{})
	}
	if toReader || cc.pending.Len() > 0 || cc.dead.Load() {
		cc.kickReader()
		return
	}
	cc.layDownLocked()
}

// kickReader hands the baton to the parked reader goroutine. One kick at most is ever
// outstanding (a kick always follows the baton's being held by nobody or a caller).
func (cc *clientConn) kickReader() {
	select {
	case cc.rb.kick <- struct{}{}:
	default:
	}
}

// take gives the baton to a synchronous caller if it is free, and returns the read's
// generation.
func (cc *clientConn) take() (gen uint64, ok bool) {
	rb := &cc.rb
	if !rb.direct {
		return 0, false
	}
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if rb.held {
		return 0, false
	}
	rb.held = true
	rb.idle.Stop()
	rb.gen++
	return rb.gen, true
}

// interrupt stops the caller's read of generation gen with a read deadline in the past,
// unless that read has ended.
func (cc *clientConn) interrupt(gen uint64) {
	rb := &cc.rb
	rb.mu.Lock()
	defer rb.mu.Unlock()
	if rb.gen == gen && rb.held {
		rb.interrupted = true
		_ = cc.nc.SetReadDeadline(time.Unix(1, 0))
	}
}

// readOwn reads frames as the reader goroutine would until the answer to call cl
// (opaque op) comes, and returns it. ok is false when the baton was taken: the caller
// waits for its answer then (pending.Table.Wait).
func (cc *clientConn) readOwn(ctx context.Context, op int32, cl *pending.Call) (resp *codec.Command, err error, ok bool) {
	if f := beforeTake.Load(); f != nil {
		(*f)()
	}
	gen, ok := cc.take()
	if !ok {
		return nil, nil, false
	}
	if f := afterTake.Load(); f != nil {
		(*f)()
	}
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { cc.interrupt(gen) })
	}
	finished := false
	defer func() {
		// A panic or runtime.Goexit under readUntil (nothing of the user's runs there,
		// so a fault of this package's): the baton must not end with this goroutine.
		// Nobody waits for cl any more: out of the table with it (not recycled, a
		// completer may hold it).
		if !finished {
			if stop != nil {
				stop()
			}
			cc.pending.TakeIf(op, cl)
			cc.passOn(true)
		}
	}()
	resp, err = cc.readUntil(ctx, op, cl)
	finished = true
	if stop != nil {
		stop()
	}
	if err == errHandOff {
		cc.passOn(true)
		return nil, nil, false // cl is still pending: the caller waits for it
	}
	cc.passOn(false)
	pending.Recycle(cl)
	return resp, err, true
}

// readUntil is readOwn's loop, holding the baton.
func (cc *clientConn) readUntil(ctx context.Context, op int32, cl *pending.Call) (*codec.Command, error) {
	for read := false; ; read = true {
		// First, and after every frame delivered: the answer may have come before the
		// baton, read by the reader goroutine, which laid the baton down after it.
		if resp, err, done := cl.Done(); done {
			if read {
				cc.rb.answered.Add(1) // delivered by a frame this caller read
			}
			return resp, err
		}
		// A frame larger than the read buffer is the reader goroutine's: it is read
		// in parts, and a deadline between two would leave the stream unreadable.
		if prefix, err := cc.rb.br.Peek(codec.LengthPrefixBytes); err == nil {
			if n, err := codec.FrameLength(prefix, cc.cl.o.MaxFrameBytes); err == nil && codec.LengthPrefixBytes+n > cc.rb.br.Size() {
				return nil, errHandOff
			}
		}
		cmd, pc, err := cc.readResponse(cc.rb.br)
		switch {
		case err != nil && ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded):
			// Interrupted because the context ended; the read buffer keeps what came
			// of the next frame, for the next reader.
			if cc.pending.Take(op) != nil {
				return nil, pending.ContextError(ctx, op)
			}
			return cl.Result() // completed meanwhile (a connection failure)
		case err != nil:
			// The connection is broken. The reader goroutine, reading next, meets the
			// same failure and fails the connection there: the callbacks of the calls
			// that fails are the user's code too.
			return nil, errHandOff
		case pc == nil && cmd != nil && cmd.IsResponse():
			// An answer the fast path did not match (a JSON header).
			if pc = cc.takeAnswer(cmd); pc == nil {
				continue // late: dropped
			}
		case pc == nil:
			cc.dispatch(cmd) // a server's request: handled on a goroutine of its own
			continue
		}
		switch {
		case pc == cl:
			cc.rb.answered.Add(1)
			return cmd, nil
		case pc.Sync():
			pc.Complete(cmd, nil)
		default:
			// An asynchronous call's answer. Its callback is the user's code, which
			// runs on the reader goroutine, never inside somebody else's call (where
			// a lock that caller holds, or a panic, would be its).
			cc.rb.carried = carried{cmd, pc}
			return nil, errHandOff
		}
	}
}

// errHandOff is readUntil's answer for what it leaves to the reader goroutine: a frame
// larger than the read buffer, an asynchronous call's answer (carried), or a failed
// connection.
var errHandOff = errors.New("transport: frame left to the reader goroutine")

// wakeReader gives a baton that is down to the reader goroutine: an asynchronous call
// was sent, or the baton lay down for readerIdle (its timer).
func (cc *clientConn) wakeReader() {
	rb := &cc.rb
	if !rb.direct {
		return
	}
	rb.mu.Lock()
	if !rb.held && !cc.dead.Load() {
		rb.held = true
		rb.idle.Stop()
		cc.kickReader()
	}
	rb.mu.Unlock()
}

// parkedAtClose: the connection failed while the reader goroutine was parked. A caller
// still reading passes the baton back (passOn kicks on a dead connection), and the
// reader goroutine, which Close waits for, ends only then: nobody reads after Close.
func (cc *clientConn) parkedAtClose() {
	rb := &cc.rb
	rb.mu.Lock()
	free := !rb.held
	rb.held = true
	rb.mu.Unlock()
	if !free {
		<-rb.kick
		cc.deliverCarried()
	}
}
