//go:build !linux || socketserver_portable

package socketserver

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
)

// startLayer makes the connection's layer over a pipe that holds first
// (what came after the preamble), runs its handshake on the connection's
// goroutine, bounded by HandshakeTimeout from the acceptance, and then
// opens the connection.
func (st *eventStream) startLayer(first []byte) {
	p := &streamPipe{st: st}
	if len(first) > 0 {
		p.in = append(p.in, first...)
	}
	var layer EventLayer
	err := protect(func() error {
		if layer = st.e.cfg.Layer(p); layer == nil {
			return errors.New("socketserver: Event.Layer returned nil")
		}
		return nil
	})
	if err != nil {
		st.closeNow(err)
		return
	}
	st.pipe, st.c.layer = p, layer
	ctx, cancel := context.WithCancel(st.c.Context()) // the server's Close ends it
	defer cancel()
	if d := st.e.s.handshakeTimeout(); d > 0 {
		ctx, cancel = context.WithDeadline(ctx, st.since.Add(d))
		defer cancel()
	}
	if err := protect(func() error { return layer.HandshakeContext(ctx) }); err != nil {
		if st.e.closing.Load() {
			err = net.ErrClosed
		}
		st.closeNow(err)
		return
	}
	p.onLoop = true
	st.open()
	st.readLayer()
}

// feedLayer gives the layer input from the socket (eof: the client ended
// the stream), and reads what it makes of it.
func (st *eventStream) feedLayer(in []byte, eof bool) {
	if st.pipe.feed(in, eof) > st.e.cfg.maxInput() {
		st.fail(ErrInputLimit)
		return
	}
	st.readLayer()
}

// readLayer hands the handler what the layer makes of the input received
// so far, while the connection is open and not paused; what it holds
// while paused is read when reading resumes (stepLayer).
func (st *eventStream) readLayer() {
	st.layerHeld = false
	lent := st.e.bufs.Get().(*[]byte)
	defer st.e.bufs.Put(lent)
	for st.state == streamOpen && !st.inEOF {
		if st.paused {
			st.layerHeld = true
			return
		}
		n, err := st.c.layer.Read(*lent)
		if n > 0 {
			st.deliver((*lent)[:n])
		}
		switch {
		case err == nil:
		case errors.Is(err, os.ErrDeadlineExceeded):
			return // an incomplete record: more input is needed
		case err == io.EOF:
			if st.state == streamOpen {
				st.inputEnded()
			}
			return
		default:
			if st.state == streamOpen {
				st.closeNow(err)
			}
			return
		}
	}
}
