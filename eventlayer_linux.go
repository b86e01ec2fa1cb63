//go:build linux && !socketserver_portable

package socketserver

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/socketserver-go/socketserver/internal/rawio"
)

// startLayer makes c's layer over a pipe holding first, what arrived
// after the preamble, and runs its handshake on a goroutine of its own.
func (l *eventLoop) startLayer(c *EventConn, first []byte) {
	ci := &c.impl
	// The handshake's input is held to half of MaxInput, at most
	// layerHold: past that, the loop reads no more until the handshake
	// takes some, so that a client's first requests, sent before the
	// handshake is over, wait in the socket (backpressure) rather than
	// fail MaxInput.
	p := &layerPipe{c: c, l: l, hold: max(min(l.e.maxInput/2, layerHold), 1)}
	p.more.L = &p.mu
	p.in = append(p.in, first...)
	layer, err := l.callLayer(p)
	if err != nil {
		l.closeNow(c, err)
		return
	}
	ci.rareState().pipe, c.layer, p.handshaking = p, layer, true
	ctx, cancel := context.WithTimeout(context.Background(), l.e.cfg.handshakeTimeout())
	p.stopHandshake = cancel
	l.e.jobs.Go(func() {
		defer cancel()
		err := handshake(ctx, layer)
		l.post(mail{kind: mailHandshake, c: c, err: err}) // fails only once c is closed
	})
}

// callLayer runs Event.Layer, turning a panic into an error.
func (l *eventLoop) callLayer(p *layerPipe) (layer EventLayer, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError(v)
		}
	}()
	if layer = l.e.cfg.Layer(p); layer == nil {
		return nil, errors.New("socketserver: Event.Layer returned nil")
	}
	return layer, nil
}

// handshake runs the layer's handshake, turning a panic into an error.
func handshake(ctx context.Context, layer EventLayer) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError(v)
		}
	}()
	return layer.HandshakeContext(ctx)
}

// handshakeDone opens c once its layer's handshake succeeded, and hands
// the handler what arrived meanwhile.
func (l *eventLoop) handshakeDone(c *EventConn, err error) {
	ci := &c.impl
	p := ci.layer()
	p.handshaking = false
	p.stopHandshake()
	if err != nil {
		// The layer's last words (TLS: the alert saying why) go out
		// before the close; they are small, and the socket's buffer has
		// room.
		if b := ci.bufs; b != nil && ci.pending() > 0 {
			if n, _ := rawio.Write(ci.fdInt(), b.out[b.head:]); n > 0 {
				l.bytesOut += int64(n)
			}
		}
		l.closeNow(c, err)
		return
	}
	p.mu.Lock()
	p.onLoop, p.stalled = true, false
	p.mu.Unlock()
	l.open(c)
	l.readLayer(c)
	if ci.state == stateOpen {
		l.setInterest(c) // reading again, if the handshake's input stalled it
	}
}

// layerHold bounds the input a layer's handshake is given before it takes
// it: more than TLS's largest flight (a certificate chain of 256 KiB).
const layerHold = 512 << 10

// readLayer hands c's handler what its layer makes of the input received
// so far, while c is open and not paused.
func (l *eventLoop) readLayer(c *EventConn) {
	ci := &c.impl
	for ci.state == stateOpen && ci.opened && !ci.paused && !ci.inEOF {
		n, err := c.layer.Read(l.buf)
		if n > 0 {
			l.deliver(c, l.buf[:n])
		}
		switch {
		case err == nil:
		case errors.Is(err, errWouldBlock):
			return
		case err == io.EOF:
			l.inputEnded(c)
			return
		default:
			if ci.state == stateOpen {
				l.closeNow(c, err)
			}
			return
		}
	}
}

// queueRaw queues bytes for c's socket: the layer's output, or the
// handler's without one. Past MaxOutput it marks c failed, for
// afterCallback to close.
func (l *eventLoop) queueRaw(c *EventConn, p []byte) error {
	ci := &c.impl
	if ci.state == stateClosed {
		return net.ErrClosed
	}
	if ci.pending()+len(p) > l.e.maxOutput {
		ci.failed = true
		ci.setCloseErr(ErrOutputLimit)
		c.gone.Store(true)
		return ErrOutputLimit
	}
	if ci.pending() == 0 && l.timesIO(ci) {
		ci.lastOut = l.nanos() // a write stall is timed from here
	}
	l.appendOut(c, p)
	l.markDirty(c)
	return nil
}

// send queues the handler's output p for c: through its layer, if it has
// one.
func (l *eventLoop) send(c *EventConn, p []byte) error {
	if c.layer != nil {
		_, err := c.layer.Write(p)
		return err
	}
	return l.queueRaw(c, p)
}
