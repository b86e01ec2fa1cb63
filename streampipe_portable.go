//go:build !linux || socketserver_portable

package socketserver

import (
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"
)

// A streamPipe is the raw connection under an EventLayer in the portable
// engine. During the handshake, which runs on the connection's goroutine,
// it reads and writes the socket itself, after handing out what came with
// the preamble. Then the goroutine feeds it what it reads from the socket:
// Read returns that and never waits (os.ErrDeadlineExceeded, a temporary
// timeout, when it has nothing), and Write queues bytes for the writer.
// Only the connection's goroutine uses it, except Close.
type streamPipe struct {
	st     *eventStream
	in     []byte // received, not yet read: in[off:]
	off    int
	eof    bool        // the client ended the stream
	onLoop bool        // the handshake is over
	closed atomic.Bool // Close was called: by the handshake's context, or at the close
}

var _ net.Conn = (*streamPipe)(nil)

func (p *streamPipe) Read(b []byte) (int, error) {
	switch {
	case p.closed.Load():
		return 0, net.ErrClosed
	case p.off < len(p.in):
		n := copy(b, p.in[p.off:])
		p.off += n
		if p.off == len(p.in) {
			p.in, p.off = nil, 0 // an idle connection holds no input buffer
		}
		return n, nil
	case p.eof:
		return 0, io.EOF
	case p.onLoop:
		return 0, os.ErrDeadlineExceeded
	}
	n, err := p.st.conn.Read(b)
	if n > 0 {
		st := p.st
		st.e.s.stats.bytesIn.Add(int64(n))
		st.lastIn, st.heard = time.Now(), true
	}
	return n, err
}

func (p *streamPipe) Write(b []byte) (int, error) {
	switch {
	case p.closed.Load():
		return 0, net.ErrClosed
	case p.onLoop:
		if err := p.st.queue(b); err != nil {
			return 0, err
		}
		return len(b), nil
	}
	n, err := p.st.conn.Write(b)
	p.st.e.s.stats.bytesOut.Add(int64(n))
	return n, err
}

// Close makes Read and Write fail, and interrupts a handshake's wait on
// the socket; the connection's goroutine closes the socket.
func (p *streamPipe) Close() error {
	if !p.closed.Swap(true) {
		p.st.conn.SetDeadline(aLongTimeAgo)
	}
	return nil
}

func (p *streamPipe) LocalAddr() net.Addr  { return p.st.c.local }
func (p *streamPipe) RemoteAddr() net.Addr { return p.st.c.remote }

// Deadlines are the engine's to keep: the handshake's context, and the
// server's timeouts on the connection.
func (p *streamPipe) SetDeadline(time.Time) error      { return nil }
func (p *streamPipe) SetReadDeadline(time.Time) error  { return nil }
func (p *streamPipe) SetWriteDeadline(time.Time) error { return nil }

// feed adds input from the socket, eof saying the client ended the
// stream, and returns how much input waits to be read.
func (p *streamPipe) feed(in []byte, eof bool) int {
	p.in = append(p.in, in...)
	p.eof = p.eof || eof
	return len(p.in) - p.off
}

// holds reports whether input, or its end, waits to be read.
func (p *streamPipe) holds() bool { return p.off < len(p.in) || p.eof }
