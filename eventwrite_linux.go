//go:build linux && !socketserver_portable

package socketserver

import (
	"os"

	"github.com/socketserver-go/socketserver/internal/poller"
	"github.com/socketserver-go/socketserver/internal/rawio"
	"golang.org/x/sys/unix"
)

// connBufs are a connection's buffers, lent by its loop while it has
// something to keep.
type connBufs struct {
	in   []byte // input OnData left unconsumed
	out  []byte // queued output; out[head:] is not yet sent
	head int
}

// afterCallback acts on what a callback did to c: a limit it passed, or
// output it queued.
func (l *eventLoop) afterCallback(c *EventConn) {
	ci := &c.impl
	if ci.failed && ci.state != stateClosed {
		ci.reported = true
		l.s.report(c.remote, ci.closeErr())
		l.closeNow(c, ci.closeErr())
		return
	}
	if ci.pending() > 0 && l.writeThrough(c) {
		return
	}
	if ci.pending() > 0 || ci.state == stateClosing {
		l.markDirty(c)
		return
	}
	l.releaseBufs(c, false)
}

// writeThrough sends the output a callback queued on a connection that
// had none, at once: its socket's state is still in the cache from the
// read, where the end of the turn would find it evicted by the other
// connections served meanwhile (1 KiB echo over 1,000 connections).
// The callback's writes are still one write. It reports whether it is
// done with c: all sent, or c closed; else flushDirty goes on with the
// rest, and with anything that is more than a plain send (a layer, a
// close, a handler waiting for the output to drain).
func (l *eventLoop) writeThrough(c *EventConn) bool {
	ci := &c.impl
	if ci.state != stateOpen || c.layer != nil || ci.awaitDrain || ci.dirty || ci.interest&poller.Writable != 0 {
		return false
	}
	if _, ok := l.writeQueued(c); !ok {
		return true
	}
	return ci.pending() == 0
}

// writeQueued writes c's queued output until it is all sent (then it
// gives c's buffers back) or the socket is full. It reports whether it
// wrote anything, and ok false if the write failed and closed c.
func (l *eventLoop) writeQueued(c *EventConn) (wrote, ok bool) {
	ci := &c.impl
	for ci.pending() > 0 {
		b := ci.bufs
		n, err := rawio.Write(ci.fdInt(), b.out[b.head:])
		if n > 0 {
			wrote = true
			b.head += n
			l.bytesOut += int64(n)
			if l.timesIO(ci) {
				ci.lastOut = l.nanos()
			}
		}
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN || err == nil && n == 0 {
			break
		}
		if err != nil {
			l.closeNow(c, os.NewSyscallError("write", err))
			return wrote, false
		}
	}
	if b := ci.bufs; b != nil && ci.pending() == 0 {
		b.out, b.head = b.out[:0], 0
		l.releaseBufs(c, false)
	}
	return wrote, true
}

// queue sends p, from AsyncWrite, to c.
func (l *eventLoop) queue(c *EventConn, p []byte) {
	l.send(c, p)
	l.afterCallback(c)
}

// appendOut copies p to c's output buffer, reusing its sent part.
func (l *eventLoop) appendOut(c *EventConn, p []byte) {
	b := l.bufsFor(c)
	if b.head > 0 && b.head >= len(b.out)/2 {
		b.out = b.out[:copy(b.out, b.out[b.head:])]
		b.head = 0
	}
	b.out = append(b.out, p...)
}

// bufsFor returns c's buffers, lending it a set if it has none.
func (l *eventLoop) bufsFor(c *EventConn) *connBufs {
	if c.impl.bufs == nil {
		if n := len(l.freeBufs); n > 0 {
			c.impl.bufs = l.freeBufs[n-1]
			l.freeBufs[n-1] = nil
			l.freeBufs = l.freeBufs[:n-1]
		} else {
			c.impl.bufs = &connBufs{out: make([]byte, 0, 4096)}
		}
	}
	return c.impl.bufs
}

// releaseBufs takes c's buffers back once they hold nothing (or at once,
// if force), keeping a bounded number, of bounded size, for reuse.
func (l *eventLoop) releaseBufs(c *EventConn, force bool) {
	b := c.impl.bufs
	if b == nil || !force && (len(b.out) > b.head || len(b.in) > 0) {
		return
	}
	c.impl.bufs = nil
	if len(l.freeBufs) >= 256 || cap(b.out) > 64<<10 || cap(b.in) > 64<<10 {
		return
	}
	b.out, b.in, b.head = b.out[:0], b.in[:0], 0
	l.freeBufs = append(l.freeBufs, b)
}

func (l *eventLoop) markDirty(c *EventConn) {
	if !c.impl.dirty {
		c.impl.dirty = true
		l.dirty = append(l.dirty, c)
	}
}

// flushDirty sends the output queued in this turn and finishes closes. A
// connection may be marked dirty again while this runs (a layer's input
// read once its output drained): it is served in the same pass.
func (l *eventLoop) flushDirty() {
	for i := 0; i < len(l.dirty); i++ {
		c := l.dirty[i]
		l.dirty[i] = nil
		c.impl.dirty = false
		if c.impl.state != stateClosed {
			l.flush(c)
		}
	}
	l.dirty = l.dirty[:0]
}

// flush writes c's queued output until done or the socket is full, and
// moves c on: reading paused or resumed, the close finished.
func (l *eventLoop) flush(c *EventConn) {
	ci := &c.impl
	wrote, ok := l.writeQueued(c)
	if !ok {
		return
	}
	switch p := ci.pending(); {
	case p >= l.e.highWater:
		ci.paused = true
	case ci.paused && p <= l.e.lowWater:
		ci.paused = false
		if p := ci.layer(); p != nil && !p.handshaking && p.buffered() {
			l.readLayer(c) // input that arrived while paused
			if ci.state == stateClosed {
				return
			}
		}
	}
	if ci.awaitDrain && wrote && ci.pending() <= l.e.lowWater && ci.state == stateOpen {
		// OnData stopped taking input while output was queued: the
		// output has drained, so offer it the rest again. (Only after
		// progress: a handler waiting for more input is not spun.)
		ci.awaitDrain = false
		l.deliver(c, nil)
		if ci.state == stateClosed {
			return
		}
		if ci.pending() >= l.e.highWater {
			ci.paused = true // the handler filled the queue again: read no more yet
		}
		if ci.inEOF && !ci.awaitDrain && ci.state == stateOpen {
			l.beginClose(c, nil) // the last of a half-closed client's requests is taken
		}
	}
	if ci.state == stateClosing && ci.pending() == 0 && c.jobs.Load() == 0 {
		if p := ci.layer(); p != nil && !p.closedWrite && !p.handshaking && ci.closeErr() == nil {
			p.closedWrite = true
			c.layer.CloseWrite() // its last words (TLS: close_notify) go first
			l.flush(c)
			return
		}
		l.endClose(c)
		return
	}
	l.setInterest(c)
	l.schedule(c)
}

// setInterest tells the poller what c waits for now.
func (l *eventLoop) setInterest(c *EventConn) {
	ci := &c.impl
	var want uint32
	if ci.state == stateLingering || ci.state == stateOpen && !ci.paused && !ci.inEOF && !ci.rawEOF && !ci.layerStalled() {
		want |= poller.Readable
	}
	if ci.pending() > 0 {
		want |= poller.Writable
	}
	if want != ci.interest {
		if err := l.p.Modify(ci.fdInt(), want); err != nil {
			l.closeNow(c, err)
			return
		}
		ci.interest = want
	}
}
