//go:build !linux || socketserver_portable

package socketserver

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// An eventStream is a stream connection of the portable engine. Its
// goroutine (run) reads, runs every callback of the connection, writes
// what the socket takes at once, and closes it; a writer goroutine
// (writeOut) lives while output the socket did not take is queued, so
// that the connection is read while its output waits, up to HighWater,
// as under epoll. Other goroutines reach it through its mailbox.
type eventStream struct {
	e      *eventEngine
	c      *EventConn
	conn   net.Conn
	inCall atomic.Bool // one of c's callbacks runs: c's callbacks-only methods check it

	// Guarded by mu, which the goroutine shares with the writer, the
	// timer and the goroutines that post mail:
	mu      sync.Mutex
	ready   sync.Cond  // on mu: wakes the goroutine parked in next
	mail    streamMail // work from other goroutines
	waiting waitKind   // what the goroutine waits for, if anything
	kicked  bool       // a past read deadline interrupts its Read: to be cleared
	closed  bool       // closed: nothing more is queued, mailed or written
	// Queued output: out[head:] is not yet written. Appending never moves
	// what is queued; whoever writes (flushLocked, or the writer, which
	// holds no lock while it writes) moves head and compacts out.
	out        []byte
	head       int
	writing    bool      // a writer goroutine runs
	limitHit   bool      // the output passed MaxOutput: closing with ErrOutputLimit
	awaitDrain bool      // OnData left input with output queued: offer it again at LowWater
	lastOut    time.Time // the last progress of the output, or when it began to wait
	armed      bool      // the timer is set, for timerAt
	timerAt    time.Time

	// The connection's goroutine's alone:
	state     streamState
	kept      []byte // input OnData left unconsumed
	paused    bool   // not read: the output is over HighWater, until it drains to LowWater
	inEOF     bool   // the client ended its input (with a layer: the layer said so)
	rawEOF    bool   // the socket reached EOF
	opened    bool   // OnOpen ran, so OnClose will
	reported  bool   // the close reason was already reported
	heard     bool   // a byte came (FirstByteTimeout no longer applies)
	preamble  bool   // waiting for Event.Preamble to be satisfied
	counted   bool   // counted against MaxConnsPerIP
	drained   bool   // Shutdown began: the connection closes once idle
	byUser    bool   // Close or AsyncClose ended it
	layerHeld bool   // the layer has input, not read while paused
	layerDone bool   // the layer's CloseWrite was called
	closeErr  error  // why it is closing
	since     time.Time
	lastIn    time.Time
	req       *Request // for VerifyRequest and ConnState, if set
	pipe      *streamPipe
	timer     *time.Timer
	small     [smallRead]byte
}

// smallRead is the buffer an idle connection waits in Read with: a read
// that fills it takes what else the kernel holds in a buffer borrowed for
// the delivery (see readMore).
const smallRead = 512

type streamState uint8

const (
	streamOpen      streamState = iota
	streamClosing               // sending the queued output, then closing
	streamLingering             // output sent and write side shut: discarding input until EOF
	streamClosed
)

type waitKind uint8

const (
	waitNone waitKind = iota // running
	waitRead                 // blocked in Read: a past read deadline interrupts it
	waitPark                 // parked on ready: a signal wakes it
)

// A streamMail is what other goroutines ask of the connection's goroutine.
type streamMail struct {
	wakes    int      // Wake: OnData again
	jobsDone int32    // functions passed to Go that returned
	writes   [][]byte // AsyncWrite through a layer, which only the goroutine may use
	close    bool     // AsyncClose
	expire   bool     // the timer fired
	drained  bool     // the output drained to LowWater while OnData waited for it
	limit    bool     // AsyncWrite passed MaxOutput
	failed   error    // the writer's error
}

func newEventStream(e *eventEngine, c *EventConn, nc net.Conn) *eventStream {
	now := time.Now()
	st := &eventStream{e: e, c: c, conn: nc, since: now, lastIn: now, lastOut: now}
	st.ready.L = &st.mu
	return st
}

// run is the connection's goroutine.
func (st *eventStream) run() {
	defer st.e.forget(st)
	switch {
	case st.e.cfg.Preamble != nil:
		st.preamble = true // opened once it is read
		st.schedule()
	case st.e.cfg.Layer != nil:
		st.startLayer(nil)
	default:
		st.open()
	}
	for st.state != streamClosed {
		switch st.next() {
		case stepMail:
			st.handle()
		case stepRead:
			st.readOnce()
		case stepLayer:
			st.readLayer()
		case stepFinish:
			st.finishClose()
		}
	}
}

// post hands work to the connection's goroutine from any goroutine. It
// fails once the connection is closed.
func (st *eventStream) post(add func(*streamMail)) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return net.ErrClosed
	}
	add(&st.mail)
	st.wakeLocked()
	return nil
}

// nudge has the goroutine look at the engine's state (Shutdown, Close).
func (st *eventStream) nudge() {
	st.mu.Lock()
	st.wakeLocked()
	st.mu.Unlock()
}

// wakeLocked interrupts the goroutine's wait, if it waits. mu is held.
func (st *eventStream) wakeLocked() {
	switch st.waiting {
	case waitPark:
		st.ready.Signal()
	case waitRead:
		if !st.kicked {
			st.kicked = true
			st.conn.SetReadDeadline(aLongTimeAgo)
		}
	}
}

// hasWorkLocked reports whether the goroutine has something to do besides
// waiting. mu is held.
func (st *eventStream) hasWorkLocked() bool {
	m := &st.mail
	return m.wakes > 0 || m.jobsDone > 0 || len(m.writes) > 0 || m.close || m.expire || m.drained || m.limit || m.failed != nil ||
		st.e.closing.Load() || st.e.draining.Load() && !st.drained
}

// A nextStep is what the goroutine does next.
type nextStep uint8

const (
	stepPark   nextStep = iota // wait for the output to drain, or for mail
	stepMail                   // handle the mail, or the engine's state
	stepRead                   // read the socket
	stepLayer                  // read what the layer held while paused
	stepFinish                 // finish the close: the output is sent
)

// next returns what the goroutine does next, once there is something to
// do. (It returns before the step runs, so that the stack the goroutine
// waits in Read with stays small.)
func (st *eventStream) next() nextStep {
	st.mu.Lock()
	defer st.mu.Unlock()
	for {
		if st.hasWorkLocked() {
			return stepMail
		}
		switch s := st.nextLocked(); s {
		case stepRead:
			st.waiting = waitRead
			return s
		case stepLayer, stepFinish:
			return s
		}
		st.waiting = waitPark
		st.ready.Wait()
		st.waiting = waitNone
	}
}

// nextLocked chooses the next step without mail. mu is held.
func (st *eventStream) nextLocked() nextStep {
	pending := len(st.out) - st.head
	switch st.state {
	case streamOpen:
		if st.paused {
			if pending > st.e.cfg.lowWater() {
				return stepPark
			}
			st.paused = false
			if st.layerHeld {
				return stepLayer
			}
		}
		if st.inEOF || st.rawEOF {
			return stepPark // until the output drains: OnData is offered the rest, then it closes
		}
		return stepRead
	case streamClosing:
		if pending == 0 && st.c.jobs.Load() == 0 {
			return stepFinish
		}
	case streamLingering:
		return stepRead
	}
	return stepPark
}

// handle does what the mail asks, and what the engine's state asks.
func (st *eventStream) handle() {
	st.mu.Lock()
	m := st.mail
	st.mail = streamMail{}
	st.mu.Unlock()
	if m.jobsDone > 0 {
		st.c.jobs.Add(-m.jobsDone) // a close may have waited for the functions
	}
	switch {
	case st.e.closing.Load():
		st.closeNow(net.ErrClosed)
		return
	case m.failed != nil:
		st.closeNow(m.failed)
		return
	case m.limit:
		st.fail(ErrOutputLimit)
		return
	}
	if m.expire {
		st.expire()
	}
	if st.e.draining.Load() && !st.drained {
		st.drain()
	}
	if len(m.writes) > 0 && st.state <= streamClosing {
		for _, p := range m.writes {
			st.send(p)
		}
		st.settle(false, false)
	}
	for range m.wakes {
		if st.state == streamOpen {
			st.deliver(nil)
		}
	}
	if m.drained && st.state == streamOpen {
		st.redeliver()
	}
	if m.close && st.state == streamOpen {
		st.byUser = true
		st.beginClose(nil)
	}
}
