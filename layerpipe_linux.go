//go:build linux && !socketserver_portable

package socketserver

import (
	"context"
	"io"
	"net"
	"sync"
	"time"
)

// A layerPipe is the raw connection under an EventLayer. The loop feeds it
// what it reads from the socket; what the layer writes goes to the
// connection's output: through the mailbox from the handshake's
// goroutine, straight into the output buffer once the loop owns the layer.
type layerPipe struct {
	c    *EventConn
	l    *eventLoop
	more sync.Cond // signalled when input, EOF or the close arrives

	// The loop's alone: the handshake under way and how to stop it, and
	// whether the layer's CloseWrite was called.
	handshaking   bool
	stopHandshake context.CancelFunc
	closedWrite   bool

	mu      sync.Mutex
	in      []byte // received, not yet read; in[off:] is unread
	off     int
	eof     bool // the client ended the stream
	closed  bool
	onLoop  bool // the handshake is over: Read never waits, Write queues directly
	hold    int  // during the handshake, the loop stops reading with this much unread
	stalled bool // it has: the handshake's Read tells it to go on once it took half
}

var _ net.Conn = (*layerPipe)(nil)

// errWouldBlock is what the pipe's Read returns on the loop when it holds
// no input: a temporary timeout, which crypto/tls does not keep as the
// connection's error.
var errWouldBlock error = wouldBlockError{}

type wouldBlockError struct{}

func (wouldBlockError) Error() string   { return "socketserver: no input yet" }
func (wouldBlockError) Timeout() bool   { return true }
func (wouldBlockError) Temporary() bool { return true }

func (p *layerPipe) Read(b []byte) (int, error) {
	n, resume, err := p.read(b)
	if resume {
		p.l.post(mail{kind: mailResume, c: p.c}) // fails only once c is closed
	}
	return n, err
}

// read is Read under the lock; resume says the loop, which stopped
// reading for the handshake (see stall), may read again.
func (p *layerPipe) read(b []byte) (n int, resume bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.off == len(p.in) && !p.eof && !p.closed {
		if p.onLoop {
			return 0, false, errWouldBlock
		}
		p.more.Wait()
	}
	switch {
	case p.closed:
		return 0, false, net.ErrClosed
	case p.off < len(p.in):
		n = copy(b, p.in[p.off:])
		p.off += n
		if p.off == len(p.in) {
			p.in, p.off = p.in[:0], 0
			if cap(p.in) > 16<<10 {
				p.in = nil // an idle connection keeps no large buffer
			}
		}
		resume = p.stalled && !p.onLoop && len(p.in)-p.off <= p.hold/2
		if resume {
			p.stalled = false
		}
		return n, resume, nil
	}
	return 0, false, io.EOF
}

// stall reports whether the loop should stop reading from the socket:
// the handshake is under way and has not taken what it was given (a
// client that sends its requests before the handshake is over, or more
// than any handshake needs). The handshake's Read resumes it.
func (p *layerPipe) stall() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.onLoop && len(p.in)-p.off >= p.hold {
		p.stalled = true
	}
	return p.stalled
}

func (p *layerPipe) Write(b []byte) (int, error) {
	p.mu.Lock()
	closed, onLoop := p.closed, p.onLoop
	p.mu.Unlock()
	switch {
	case closed:
		return 0, net.ErrClosed
	case onLoop:
		if err := p.l.queueRaw(p.c, b); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	if err := p.l.post(mail{kind: mailRawWrite, c: p.c, data: append([]byte(nil), b...)}); err != nil {
		return 0, err
	}
	return len(b), nil
}

// Close makes Read and Write fail; the loop closes the socket.
func (p *layerPipe) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.more.Broadcast()
	return nil
}

func (p *layerPipe) LocalAddr() net.Addr  { return p.c.local }
func (p *layerPipe) RemoteAddr() net.Addr { return p.c.remote }

// Deadlines are the loop's to keep: the handshake's context, and the
// server's timeouts on the connection.
func (p *layerPipe) SetDeadline(time.Time) error      { return nil }
func (p *layerPipe) SetReadDeadline(time.Time) error  { return nil }
func (p *layerPipe) SetWriteDeadline(time.Time) error { return nil }

// feed adds input from the socket, eof saying the client ended the
// stream, and returns how much input waits to be read.
func (p *layerPipe) feed(in []byte, eof bool) int {
	p.mu.Lock()
	p.in = append(p.in, in...)
	p.eof = p.eof || eof
	n := len(p.in) - p.off
	p.mu.Unlock()
	p.more.Signal()
	return n
}

// buffered reports whether input waits to be read.
func (p *layerPipe) buffered() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.off < len(p.in) || p.eof
}
