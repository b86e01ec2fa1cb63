//go:build !linux || socketserver_portable

package socketserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/socketserver-go/socketserver/internal/sockopt"
)

// closeFlush bounds how long a closing connection waits for queued output
// that makes no progress, when WriteTimeout is not set (as in the epoll
// engine).
const closeFlush = 30 * time.Second

// beginClose stops reading and closes the connection once its output is
// sent and its Go functions have returned (step finds when).
func (st *eventStream) beginClose(err error) {
	if st.state != streamOpen {
		return
	}
	st.state = streamClosing
	st.closeErr = err
	st.since = time.Now()
	st.schedule()
}

// finishClose closes a connection whose output is sent: first the
// layer's last words (TLS: close_notify), which step sends in turn.
func (st *eventStream) finishClose() {
	if st.pipe != nil && !st.layerDone && st.closeErr == nil {
		st.layerDone = true
		st.c.layer.CloseWrite()
		st.settle(false, false)
		return
	}
	// If the client sent input the server has not read, closing now would
	// answer it with a reset that can destroy the reply in flight: the
	// write side is shut instead, and the input discarded until the client
	// closes, for at most lingerTimeout.
	if !st.inEOF && sockopt.Unread(st.conn) > 0 {
		if cw, ok := st.conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			st.state = streamLingering
			st.since = time.Now()
			st.schedule()
			return
		}
	}
	st.closeNow(st.closeErr)
}

// fail reports err and closes the connection with it.
func (st *eventStream) fail(err error) {
	if st.state == streamClosed {
		return
	}
	st.reported = true
	st.e.s.report(st.c.remote, err)
	st.closeNow(err)
}

// closeNow closes the connection at once, discarding queued output; the
// handler gets the input it left (with InputClosed), then OnClose. err is
// reported unless the connection closed cleanly or it was already.
func (st *eventStream) closeNow(err error) {
	if st.state == streamClosed {
		return
	}
	st.state = streamClosed
	c, s := st.c, st.e.s
	c.gone.Store(true)
	st.mu.Lock()
	st.closed = true
	st.out, st.head = nil, 0
	jobsDone := st.mail.jobsDone // mail from now on fails, and is not waited for
	st.mail = streamMail{}
	st.mu.Unlock()
	c.jobs.Add(-jobsDone)
	if st.timer != nil {
		st.timer.Stop()
	}
	if st.pipe != nil {
		st.pipe.Close()
	}
	st.conn.Close()
	if st.req != nil {
		st.req.observeEnd()
	}
	s.stats.activeConns.Add(-1)
	if st.counted {
		ip, _ := addrIP(c.remote)
		s.releaseIP(ip)
	}
	if st.opened && !st.inEOF && !st.byUser && len(st.kept) > 0 {
		// The last chance to handle an incomplete request, as at EOF.
		st.inEOF = true
		st.callData(st.kept)
	}
	st.kept = nil
	if err != nil && !st.reported && !errors.Is(err, ErrAbortHandler) && !errors.Is(err, net.ErrClosed) {
		s.report(c.remote, err)
	}
	if st.opened {
		st.callClose(err)
	}
	if st.req != nil {
		st.req.setState(StateClosed)
		st.req = nil
	}
}

// drain begins a graceful shutdown of the connection: what its client
// already sent is read and handled, then it closes once idle. One still
// reading its preamble is drained once it opens.
func (st *eventStream) drain() {
	st.drained = true
	if st.state == streamOpen && st.opened {
		st.drainInput()
	}
}

// drainInput reads and handles what the client has already sent (it waits
// in the kernel; reading it does not block), then closes the connection
// unless it holds an incomplete request, which goes on being read until
// Shutdown's deadline.
func (st *eventStream) drainInput() {
	if st.pipe != nil {
		st.readLayer() // what the handshake left
	}
	for range 16 {
		if st.state != streamOpen || st.paused || st.inEOF || st.rawEOF || sockopt.Unread(st.conn) <= 0 {
			break
		}
		st.readOnce()
	}
	st.closeIfIdle()
}

// closeIfIdle closes the connection gracefully, during a shutdown, once it
// holds no incomplete request: no input kept unconsumed, none waiting
// unread while reading is paused. A connection that has sent nothing yet
// is given newConnGrace from its acceptance: its first request may be on
// its way.
func (st *eventStream) closeIfIdle() {
	if st.state != streamOpen || st.preamble || len(st.kept) > 0 ||
		st.paused && sockopt.Unread(st.conn) > 0 || st.pipe != nil && st.pipe.holds() {
		return
	}
	if !st.heard && time.Since(st.since) < newConnGrace {
		st.schedule()
		return
	}
	st.beginClose(nil)
}

// A deadline is one of the times a connection may run out of.
type deadline uint8

const (
	noDeadline    deadline = iota
	graceOver              // Shutdown began, and nothing came within newConnGrace
	preambleLate           // the preamble was not whole within HandshakeTimeout
	firstByteLate          // FirstByteTimeout
	idleTooLong            // IdleTimeout
	inputLate              // ReadTimeout
	outputStalled          // WriteTimeout, or closeFlush while closing
	lingerOver             // the lingering close ends
)

// nextDeadlineLocked returns the connection's nearest deadline and its kind. mu
// is held.
func (st *eventStream) nextDeadlineLocked() (time.Time, deadline) {
	s := st.e.s
	var at time.Time
	kind := noDeadline
	bound := func(from time.Time, d time.Duration, k deadline) {
		if t := from.Add(d); d > 0 && (kind == noDeadline || t.Before(at)) {
			at, kind = t, k
		}
	}
	outWaits := st.head < len(st.out)
	switch st.state {
	case streamOpen:
		if !st.heard {
			if st.drained {
				bound(st.since, newConnGrace, graceOver)
			}
			bound(st.since, s.FirstByteTimeout, firstByteLate)
		}
		if st.preamble {
			bound(st.since, s.handshakeTimeout(), preambleLate)
		}
		bound(st.lastIn, s.ReadTimeout, inputLate)
		bound(later(st.lastIn, st.lastOut), s.IdleTimeout, idleTooLong)
		if outWaits {
			bound(st.lastOut, s.WriteTimeout, outputStalled)
		}
	case streamClosing:
		if outWaits {
			bound(st.lastOut, positiveOr(s.WriteTimeout, closeFlush), outputStalled)
		}
	case streamLingering:
		bound(st.since, lingerTimeout, lingerOver)
	}
	return at, kind
}

// positiveOr returns d if it is positive, otherwise def.
func positiveOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// deadlineError is the error a connection closes with at deadline k: a
// timeout matching os.ErrDeadlineExceeded, or ErrIdleTimeout.
func (st *eventStream) deadlineError(k deadline) error {
	s := st.e.s
	var what string
	var d time.Duration
	switch k {
	case idleTooLong:
		return ErrIdleTimeout
	case lingerOver:
		return st.closeErr
	case preambleLate:
		what, d = "no complete preamble", s.handshakeTimeout()
	case firstByteLate:
		what, d = "no first byte", s.FirstByteTimeout
	case inputLate:
		what, d = "no input", s.ReadTimeout
	default:
		what, d = "output stalled", positiveOr(s.WriteTimeout, closeFlush)
	}
	return fmt.Errorf("socketserver: %s for %v: %w", what, d, os.ErrDeadlineExceeded)
}

// schedule sets the timer for the connection's next deadline.
func (st *eventStream) schedule() {
	st.mu.Lock()
	st.scheduleLocked()
	st.mu.Unlock()
}

// scheduleLocked sets the timer for the next deadline, unless it is set
// for sooner already. Activity only moves deadlines later, so it does not
// set it again: expire looks when the timer fires. mu is held.
func (st *eventStream) scheduleLocked() {
	if st.closed {
		return
	}
	at, kind := st.nextDeadlineLocked()
	switch {
	case kind == noDeadline:
	case st.timer == nil:
		st.armed, st.timerAt = true, at
		st.timer = time.AfterFunc(time.Until(at), st.timerFired)
	case !st.armed || at.Before(st.timerAt):
		st.armed, st.timerAt = true, at
		st.timer.Reset(time.Until(at))
	}
}

func (st *eventStream) timerFired() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.armed = false
	if !st.closed {
		st.mail.expire = true
		st.wakeLocked()
	}
}

// expire acts on a deadline that passed, or sets the timer again if
// activity moved the deadline on.
func (st *eventStream) expire() {
	st.mu.Lock()
	at, kind := st.nextDeadlineLocked()
	if kind != noDeadline && at.After(time.Now()) {
		st.scheduleLocked()
		kind = noDeadline
	}
	st.mu.Unlock()
	switch kind {
	case noDeadline:
	case graceOver:
		st.closeIfIdle()
	default:
		st.closeNow(st.deadlineError(kind))
	}
}
