//go:build !linux || socketserver_portable

package socketserver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/socketserver-go/socketserver/internal/sockopt"
)

// readOnce waits in Read for input and hands it on. Other goroutines
// interrupt the wait (wakeLocked) with a read deadline in the past, which
// is cleared here.
func (st *eventStream) readOnce() {
	n, err := st.conn.Read(st.small[:])
	st.mu.Lock()
	st.waiting = waitNone
	kicked := st.kicked
	st.kicked = false
	st.mu.Unlock()
	if kicked {
		st.conn.SetReadDeadline(time.Time{})
		if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) {
			return // mail, or the engine's state: step looks
		}
	}
	if n > 0 {
		in := st.small[:n]
		var lent *[]byte
		if n == len(st.small) && err == nil {
			in, lent, err = st.readMore(in)
		}
		st.input(in)
		if lent != nil {
			st.e.bufs.Put(lent)
		}
	}
	if err != nil && st.state != streamClosed {
		st.readFailed(err)
	}
}

// readMore reads, after a read that filled the small buffer, what else the
// kernel holds, into a buffer lent for the delivery; the read does not
// wait. Where the queue's length cannot be told (sockopt.Unread), the
// small buffer's worth is delivered, and the rest comes with the next
// reads.
func (st *eventStream) readMore(first []byte) ([]byte, *[]byte, error) {
	queued := sockopt.Unread(st.conn)
	if queued <= 0 {
		return first, nil, nil
	}
	lent := st.e.bufs.Get().(*[]byte)
	b := *lent
	k := copy(b, first)
	m, err := st.conn.Read(b[k:min(len(b), k+queued)])
	return b[:k+max(m, 0)], lent, err
}

// input takes bytes read from the socket.
func (st *eventStream) input(in []byte) {
	st.e.s.stats.bytesIn.Add(int64(len(in)))
	if st.state == streamLingering {
		return // discarded
	}
	st.lastIn, st.heard = time.Now(), true
	switch {
	case st.preamble:
		st.readPreamble(in)
	case st.pipe != nil:
		st.feedLayer(in, false)
	default:
		st.deliver(in)
	}
}

// readFailed ends the input. At EOF the handler is given what is left and
// the connection closes once its output is sent; an error closes it at
// once.
func (st *eventStream) readFailed(err error) {
	switch {
	case st.e.closing.Load():
		st.closeNow(net.ErrClosed)
	case st.state == streamLingering:
		st.closeNow(st.closeErr)
	case err != io.EOF:
		st.closeNow(err)
	case st.preamble:
		st.rawEOF = true
		st.closeNow(nil) // gone before its preamble was whole
	case st.pipe != nil:
		st.rawEOF = true
		st.feedLayer(nil, true) // the layer reports the end in turn
	default:
		st.rawEOF = true
		st.inputEnded()
	}
}

// inputEnded tells the handler that the client ended its input: OnData
// has the last, incomplete, input if any is left, and the connection
// closes once its output is sent. If the handler stopped for its output,
// it is offered the rest as the output drains, and closes once done.
func (st *eventStream) inputEnded() {
	st.inEOF = true
	if len(st.kept) > 0 {
		st.deliver(nil)
	}
	if !st.awaitingDrain() {
		st.beginClose(nil)
	}
}

func (st *eventStream) awaitingDrain() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.awaitDrain
}

// deliver calls OnData with in, after what was left unconsumed, and keeps
// what it does not consume, up to MaxInput.
func (st *eventStream) deliver(in []byte) {
	data := in
	if len(st.kept) > 0 {
		st.kept = append(st.kept, in...)
		data = st.kept
	}
	n, ok := st.callData(data)
	if !ok {
		return
	}
	rest := data[min(max(n, 0), len(data)):]
	switch {
	case len(rest) == 0:
		st.kept = nil // an idle connection holds no input buffer
	case len(rest) > st.e.cfg.maxInput():
		st.fail(ErrInputLimit)
		return
	default:
		st.kept = append(st.kept[:0], rest...) // overlapping is fine
	}
	st.settle(true, len(rest) > 0)
	if st.drained {
		st.closeIfIdle()
	}
}

// redeliver offers OnData the input it left, now that the output it
// stopped for has drained; a client that ended its input is closed once
// the handler takes no more.
func (st *eventStream) redeliver() {
	st.deliver(nil)
	if st.state == streamOpen && st.inEOF && !st.awaitingDrain() {
		st.beginClose(nil)
	}
}

// readPreamble passes the bytes received so far to Event.Preamble, and
// once it is satisfied opens the connection with what followed.
func (st *eventStream) readPreamble(in []byte) {
	st.kept = append(st.kept, in...)
	var n int
	var remote, local net.Addr
	err := protect(func() (err error) {
		n, remote, local, err = st.e.cfg.Preamble(st.kept, st.c.remote, st.c.local)
		return err
	})
	if errors.Is(err, ErrPreambleIncomplete) {
		if len(st.kept) < maxPreamble {
			return
		}
		err = fmt.Errorf("socketserver: no complete preamble in %d bytes", len(st.kept))
	}
	if err != nil {
		st.fail(err)
		return
	}
	if remote != nil {
		st.c.remote = remote
	}
	if local != nil {
		st.c.local = local
	}
	st.preamble = false
	rest := st.kept[min(max(n, 0), len(st.kept)):]
	st.kept = nil
	if st.e.cfg.Layer != nil {
		st.startLayer(rest)
		return
	}
	if len(rest) > 0 {
		st.kept = append([]byte(nil), rest...)
	}
	st.open()
	if st.state == streamOpen && len(st.kept) > 0 {
		st.deliver(nil)
	}
}

// open admits the connection (MaxConnsPerIP, VerifyRequest and
// ConnState) and calls OnOpen.
func (st *eventStream) open() {
	s, c := st.e.s, st.c
	if ip, isIP := addrIP(c.remote); isIP && s.MaxConnsPerIP > 0 {
		if !s.admitIP(ip) {
			st.closeNow(nil)
			return
		}
		st.counted = true
	}
	if s.ConnState != nil || s.VerifyRequest != nil {
		st.req = &Request{ID: c.id, RemoteAddr: c.remote, LocalAddr: c.local, srv: s, event: c}
		st.req.setState(StateNew)
		if !s.verify(st.req) {
			s.stats.rejected.Add(1)
			st.closeNow(nil)
			return
		}
		st.req.setState(StateActive)
	}
	st.opened = true
	if !st.callOpen() {
		return
	}
	st.settle(false, false)
	if st.drained && st.state == streamOpen {
		st.drainInput()
	}
	st.schedule()
}

// protect runs f, turning a panic into an error.
func protect(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError(v)
		}
	}()
	return f()
}

// The callbacks run through these functions. While one runs, inCall is
// set: the callbacks-only methods of EventConn check it, to refuse a call
// from elsewhere. A panic is recovered and reported, and closes the
// connection.

func (st *eventStream) callOpen() (ok bool) {
	defer st.recovered(&ok)
	st.inCall.Store(true)
	defer st.inCall.Store(false)
	st.e.h.OnOpen(st.c)
	return true
}

func (st *eventStream) callData(in []byte) (n int, ok bool) {
	defer st.recovered(&ok)
	st.inCall.Store(true)
	defer st.inCall.Store(false)
	return st.e.h.OnData(st.c, in), true
}

func (st *eventStream) callClose(err error) {
	defer st.e.recovered(st.c.remote)
	st.inCall.Store(true)
	defer st.inCall.Store(false)
	st.e.h.OnClose(st.c, err)
}

// recovered reports the panic of a callback, unless it was with
// ErrAbortHandler, and closes the connection with it.
func (st *eventStream) recovered(ok *bool) {
	v := recover()
	if v == nil {
		return
	}
	*ok = false
	err := error(ErrAbortHandler)
	if perr, isErr := v.(error); !isErr || !errors.Is(perr, ErrAbortHandler) {
		err = panicError(v)
		st.e.s.report(st.c.remote, err)
	}
	if st.state != streamClosed {
		st.reported = true
		st.closeNow(err)
	}
}
