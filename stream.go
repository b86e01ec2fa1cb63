package socketserver

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketserver-go/socketserver/internal/sockopt"
)

// newStreamRequest wraps an accepted connection.
func (s *Server) newStreamRequest(c net.Conn, daemon bool) *Request {
	if tc, ok := c.(*net.TCPConn); ok {
		if s.DisableNoDelay {
			tc.SetNoDelay(false)
		}
		sockopt.SetKeepAliveConn(tc, s.keepAlive())
	}
	r := &Request{
		ID:         s.nextID.Add(1),
		RemoteAddr: c.RemoteAddr(),
		LocalAddr:  c.LocalAddr(),
		Conn:       c,
		raw:        c,
		accepted:   time.Now(),
		srv:        s,
		daemon:     daemon,
	}
	if ua, ok := r.RemoteAddr.(*net.UnixAddr); ok {
		r.RemoteAddr = peerAddr(ua.Net, ua)
	}
	return r
}

// prepareIO gives a request its Reader and Writer.
func (s *Server) prepareIO(r *Request) {
	if r.Conn == nil {
		r.dio = s.pools.getDatagramIO(r.Packet, s.readBufferSize())
		r.Reader = r.dio.reader
		r.Writer = &r.dio.reply
		return
	}
	r.sc = &statsConn{Conn: r.Conn, raw: r.raw, srv: s, bufSize: s.readBufferSize(), accepted: r.accepted}
	r.reading.Store(r.sc)
	if s.FirstByteTimeout > 0 {
		r.sc.firstBy = time.Now().Add(s.FirstByteTimeout)
	}
	if s.IdleTimeout > 0 {
		r.sc.idle = newIdleTimer(r.Conn, s.IdleTimeout)
	}
	r.Reader = s.pools.getReader(r.sc, s.readBufferSize())
	r.Writer = r.sc
	if s.WriteBufferSize > 0 {
		r.bw = s.pools.getWriter(r.sc, s.WriteBufferSize)
		r.Writer = r.bw
	}
}

// endRequest releases what the request held and closes its connection.
func (s *Server) endRequest(r *Request) {
	r.observeEnd()
	if r.Conn != nil {
		s.closeConn(r)
		s.releaseAddr(r)
		s.stats.activeConns.Add(-1)
		if r.sc != nil && r.sc.idle != nil {
			r.sc.idle.stop()
		}
		if r.bw != nil {
			s.pools.putWriter(r.bw)
		}
		if r.Reader != nil {
			s.pools.putReader(r.Reader)
		}
	} else {
		s.stats.activePackets.Add(-1)
		if r.dio != nil {
			s.pools.putDatagramIO(r.dio)
		}
		s.pools.putPacket(r.pbuf)
	}
	r.endContext()
	r.setState(StateClosed)
	s.release(r)
}

// Bounds of the lingering close of a connection whose client sent more
// than the handler read.
const (
	lingerTimeout = 500 * time.Millisecond
	lingerBytes   = 256 << 10
)

// closeConn closes a served connection. Closing a TCP socket with unread
// input makes the kernel send a reset, which can destroy the reply still
// on its way to the client. So if the handler left input unread (and was
// not aborted, nor the server closed), closeConn first half-closes the
// connection, sending the reply and a FIN, and reads and discards until
// the client closes too, for up to lingerTimeout and lingerBytes. A
// connection whose write failed (a WriteTimeout, a reset) has no reply on
// its way to protect: it is closed at once, so that a client that never
// reads holds its handler for WriteTimeout, not lingerTimeout more.
func (s *Server) closeConn(r *Request) {
	c := r.Conn
	cw, ok := c.(interface{ CloseWrite() error })
	if !ok || r.sc == nil || r.aborted || s.state.Load() == serverClosed || r.sc.broken.Load() != nil ||
		(r.Reader.Buffered() == 0 && sockopt.Unread(c) == 0) {
		c.Close()
		return
	}
	if cw.CloseWrite() == nil {
		c.SetReadDeadline(time.Now().Add(lingerTimeout))
		io.CopyN(io.Discard, c, lingerBytes)
	}
	c.Close()
}

// statsConn is a stream connection as handlers see it through Reader and
// Writer: counted, with per-operation timeouts and an idle timer.
type statsConn struct {
	net.Conn
	raw     net.Conn // the accepted connection, under any WrapConn
	srv     *Server
	bufSize int // the Reader's: a Read of at least this much means it holds nothing
	idle    *idleTimer
	firstBy time.Time // FirstByteTimeout's deadline, until a byte came

	// broken is the first write error: a connection whose reply was cut
	// short (a timeout, a reset) cannot be answered any more, so later
	// reads and writes fail with it at once.
	broken atomic.Pointer[error]

	// waiting is set while the handler waits for a new request: a Read
	// with nothing held in the Reader. Shutdown ends such a read (setting
	// interrupted, then a deadline in the past), unless input arrived.
	// A connection that has not sent a byte yet is given newConnGrace
	// from its acceptance: its first request may be on its way.
	waiting     atomic.Bool
	interrupted atomic.Bool
	heard       atomic.Bool // a byte came
	accepted    time.Time
}

// newConnGrace is how long Shutdown waits for the first byte of a
// connection accepted just before it, whose client has had no time to
// send its request yet (net/http waits 5s for such a connection).
const newConnGrace = 2 * time.Second

// Read reads from the connection within ReadTimeout (and, until the first
// byte, FirstByteTimeout), counting the bytes. Once the server shuts down,
// a read for a new request, with nothing held in the Reader and nothing
// waiting in the kernel, returns io.EOF: the connection is idle, and
// closes as net/http closes its idle connections.
func (c *statsConn) Read(p []byte) (int, error) {
	if err := c.broken.Load(); err != nil {
		return 0, *err
	}
	idle := len(p) >= c.bufSize
	if !idle {
		c.setReadDeadline()
		return c.counted(c.Conn.Read(p))
	}
	// The order matters: waiting is set, then the deadline, then the
	// server's state is read, while Shutdown sets its state, then reads
	// waiting and sets its deadline: one of the two sees the other.
	c.waiting.Store(true)
	defer c.waiting.Store(false)
	for {
		c.setReadDeadline()
		if c.srv.shuttingDown() && sockopt.Unread(c.raw) == 0 {
			wait := c.firstRequestWait()
			if wait <= 0 {
				return 0, io.EOF
			}
			c.interrupted.Store(true)
			c.raw.SetReadDeadline(time.Now().Add(wait))
		}
		n, err := c.counted(c.Conn.Read(p))
		if n == 0 && err != nil && c.interrupted.Swap(false) && errors.Is(err, os.ErrDeadlineExceeded) {
			c.Conn.SetReadDeadline(time.Time{})
			continue // Shutdown's: look again for input that came meanwhile
		}
		return n, err
	}
}

// interrupt ends a read waiting for a new request, for Shutdown: at once,
// or when a new connection's grace ends.
func (c *statsConn) interrupt() {
	if c.waiting.Load() {
		c.interrupted.Store(true)
		dl := aLongTimeAgo
		if wait := c.firstRequestWait(); wait > 0 {
			dl = time.Now().Add(wait)
		}
		c.raw.SetReadDeadline(dl)
	}
}

// firstRequestWait is how much of its grace is left to a connection whose
// client has sent nothing yet; zero for one that has.
func (c *statsConn) firstRequestWait() time.Duration {
	if c.heard.Load() {
		return 0
	}
	return time.Until(c.accepted.Add(newConnGrace))
}

// setReadDeadline sets the deadline of the next read: ReadTimeout's, and
// FirstByteTimeout's until the first byte came.
func (c *statsConn) setReadDeadline() {
	switch d := c.srv.ReadTimeout; {
	case !c.firstBy.IsZero():
		dl := c.firstBy
		if next := time.Now().Add(d); d > 0 && next.Before(dl) {
			dl = next
		}
		c.Conn.SetReadDeadline(dl)
	case d > 0:
		c.Conn.SetReadDeadline(time.Now().Add(d))
	}
}

// counted counts what a read returned. Read calls it after the read
// rather than reading through it: a goroutine blocked in a read carries
// one frame less, which keeps an idle connection's goroutine within its
// first 2 KiB stack (4 KiB with the frame).
func (c *statsConn) counted(n int, err error) (int, error) {
	if n > 0 && !c.heard.Load() {
		c.heard.Store(true)
	}
	if n > 0 && !c.firstBy.IsZero() {
		c.firstBy = time.Time{}
		if c.srv.ReadTimeout <= 0 {
			c.Conn.SetReadDeadline(time.Time{})
		}
	}
	c.srv.stats.bytesIn.Add(int64(n))
	return n, c.idle.after(n, err)
}

// Write writes to the connection within WriteTimeout, counting the bytes.
func (c *statsConn) Write(p []byte) (int, error) {
	if err := c.broken.Load(); err != nil {
		return 0, *err
	}
	if d := c.srv.WriteTimeout; d > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(d))
	}
	n, err := c.Conn.Write(p)
	c.srv.stats.bytesOut.Add(int64(n))
	err = c.idle.after(n, err)
	if err != nil {
		c.broken.CompareAndSwap(nil, &err)
	}
	return n, err
}

// An idleTimer closes a connection on which no I/O completed for d. I/O
// only stores a time stamp; the timer, when it fires, re-arms itself for
// the time left, so an active connection costs no timer resets.
type idleTimer struct {
	conn  net.Conn
	d     time.Duration
	last  atomic.Int64 // UnixNano of the last completed I/O
	fired atomic.Bool

	mu      sync.Mutex // guards t and stopped against check
	t       *time.Timer
	stopped bool
}

func newIdleTimer(c net.Conn, d time.Duration) *idleTimer {
	it := &idleTimer{conn: c, d: d}
	it.last.Store(time.Now().UnixNano())
	it.mu.Lock()
	it.t = time.AfterFunc(d, it.check)
	it.mu.Unlock()
	return it
}

// check closes the connection if it has been idle for d, or re-arms the
// timer for the time left.
func (it *idleTimer) check() {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.stopped {
		return
	}
	idle := time.Duration(time.Now().UnixNano() - it.last.Load())
	if idle < it.d {
		it.t.Reset(it.d - idle)
		return
	}
	it.fired.Store(true)
	it.conn.Close()
}

// after records an I/O of n bytes and turns its error into ErrIdleTimeout
// if the timer closed the connection. It is a no-op on a nil timer.
func (it *idleTimer) after(n int, err error) error {
	if it == nil {
		return err
	}
	if n > 0 {
		it.last.Store(time.Now().UnixNano())
	}
	if err != nil && it.fired.Load() {
		return ErrIdleTimeout
	}
	return err
}

func (it *idleTimer) stop() {
	it.mu.Lock()
	defer it.mu.Unlock()
	it.stopped = true
	it.t.Stop()
}
