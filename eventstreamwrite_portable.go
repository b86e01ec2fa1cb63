//go:build !linux || socketserver_portable

package socketserver

import (
	"net"
	"time"

	"github.com/socketserver-go/socketserver/internal/sockopt"
)

// writeChunk bounds one Write of the writer: progress, which WriteTimeout
// watches, is seen between two.
const writeChunk = 64 << 10

// send queues the handler's output p: through the layer, if there is one.
// The goroutine's own.
func (st *eventStream) send(p []byte) error {
	if st.c.layer != nil {
		_, err := st.c.layer.Write(p)
		return err
	}
	return st.queue(p)
}

// queue queues bytes for the socket: the layer's output, or the handler's
// without one.
func (st *eventStream) queue(p []byte) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.queueLocked(p)
}

// queueLocked queues p, unless that would pass MaxOutput: then the
// connection is marked for closing with ErrOutputLimit, and writes fail
// from now on. mu is held.
func (st *eventStream) queueLocked(p []byte) error {
	switch pending := len(st.out) - st.head; {
	case st.closed || st.limitHit:
		return net.ErrClosed
	case pending+len(p) > st.e.cfg.maxOutput():
		st.limitHit = true
		st.c.gone.Store(true)
		return ErrOutputLimit
	case pending == 0:
		st.lastOut = time.Now() // a write stall is timed from here
	}
	st.out = append(st.out, p...)
	return nil
}

// settle acts on what a callback did: a limit it passed, output it
// queued (written by the writer; reading pauses at HighWater). After
// OnData, keptInput says it left input unconsumed: if output is queued,
// the input is offered again once the output drains.
func (st *eventStream) settle(afterData, keptInput bool) {
	st.mu.Lock()
	if st.limitHit {
		st.mu.Unlock()
		st.fail(ErrOutputLimit)
		return
	}
	pending := len(st.out) - st.head
	if afterData {
		st.awaitDrain = keptInput && pending > 0
	}
	st.flushLocked()
	if len(st.out)-st.head >= st.e.cfg.highWater() {
		st.paused = true
	}
	st.scheduleLocked()
	st.mu.Unlock()
}

// flushLocked sends the queued output as far as the socket takes it at
// once (sockopt.TryWrite, which does not wait): a reply that fits costs no
// other goroutine. The writer sends the rest. mu is held.
func (st *eventStream) flushLocked() {
	if st.writing || st.closed || st.head == len(st.out) {
		return
	}
	n, ok, err := sockopt.TryWrite(st.conn, st.out[st.head:])
	st.e.s.stats.bytesOut.Add(int64(n))
	if n > 0 {
		st.wroteLocked(n)
	}
	switch {
	case err != nil:
		st.mail.failed = err // the goroutine closes it at its next step
	case !ok || st.head < len(st.out):
		st.writing = true
		st.e.streams.Go(st.writeOut)
	}
}

// asyncWrite queues a copy of p from any goroutine.
func (st *eventStream) asyncWrite(p []byte) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.closed {
		return net.ErrClosed
	}
	if st.c.layer != nil {
		// The layer belongs to the connection's goroutine.
		st.mail.writes = append(st.mail.writes, append([]byte(nil), p...))
		st.wakeLocked()
		return nil
	}
	idle := st.head == len(st.out)
	if err := st.queueLocked(p); err != nil {
		if err != ErrOutputLimit {
			return err
		}
		// As under epoll, where the loop queues it later: the write is
		// taken, and the connection closes with ErrOutputLimit.
		st.mail.limit = true
		st.wakeLocked()
		return nil
	}
	if idle && st.e.s.WriteTimeout > 0 {
		// The output may stall from now on: the goroutine sets the timer.
		st.mail.expire = true
		st.wakeLocked()
	}
	st.startWriterLocked()
	return nil
}

// startWriterLocked starts the writer if output waits and none runs. mu
// is held.
func (st *eventStream) startWriterLocked() {
	if st.writing || st.closed || st.head == len(st.out) {
		return
	}
	st.writing = true
	st.e.streams.Go(st.writeOut)
}

// writeOut is the writer: it writes the queued output until none is left,
// and ends. It does not hold mu while it writes: the connection goes on
// taking output, and input, meanwhile.
func (st *eventStream) writeOut() {
	st.mu.Lock()
	defer st.mu.Unlock()
	for st.head < len(st.out) && !st.closed {
		chunk := st.out[st.head:min(len(st.out), st.head+writeChunk)]
		st.mu.Unlock()
		n, err := st.conn.Write(chunk)
		st.mu.Lock()
		st.e.s.stats.bytesOut.Add(int64(n))
		if st.closed {
			break // the output was discarded meanwhile
		}
		if n > 0 {
			st.wroteLocked(n)
		}
		if err != nil {
			if st.mail.failed == nil {
				st.mail.failed = err
				st.wakeLocked()
			}
			break
		}
	}
	st.writing = false
}

// wroteLocked records that n bytes of the output went out, and wakes the
// goroutine if that lets it go on: reading again after a pause, offering
// OnData its input again, finishing a close. mu is held.
func (st *eventStream) wroteLocked(n int) {
	st.lastOut = time.Now()
	st.head += n
	pending := len(st.out) - st.head
	switch {
	case pending == 0:
		st.out, st.head = nil, 0 // an idle connection holds no output buffer
	case st.head >= len(st.out)/2:
		// Between two writes nothing reads out: move the rest to the front.
		st.out = st.out[:copy(st.out, st.out[st.head:])]
		st.head = 0
	}
	if pending > st.e.cfg.lowWater() {
		return
	}
	if st.awaitDrain {
		st.awaitDrain = false
		st.mail.drained = true
		st.wakeLocked()
	} else if st.waiting == waitPark {
		st.ready.Signal()
	}
}
