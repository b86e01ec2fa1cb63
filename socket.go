package socketserver

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socketserver-go/socketserver/internal/sockopt"
)

// A socket is a listener or a datagram socket that a Server serves or
// holds, closed exactly once.
type socket struct {
	ln      net.Listener   // stream, or nil
	pc      net.PacketConn // datagram, or nil
	stand   net.Addr       // neither: a Fork child's stand-in, the server's address
	owned   bool           // bound by Listen: no other process shares it
	stopped atomic.Bool    // a graceful stop asked its serving to end
	eng     engine         // what serves it, once serving

	once sync.Once
	err  error
}

func (t *socket) addr() net.Addr {
	switch {
	case t.ln != nil:
		return t.ln.Addr()
	case t.pc != nil:
		return t.pc.LocalAddr()
	}
	return t.stand
}

// stop stops the socket taking requests, for a graceful Shutdown: a
// listener is closed; a datagram socket stays open (in-flight handlers
// may still reply on it, and what it has queued is served), and its
// serving is told to drain.
func (t *socket) stop() {
	t.stopped.Store(true)
	if t.eng != nil {
		t.eng.shutdown()
	}
	switch {
	case t.ln != nil:
		t.closeSocket()
	case t.pc != nil:
		t.pc.SetReadDeadline(aLongTimeAgo) // wakes the read loop, which drains
	}
}

// close stops the engine serving t at once, and closes t.
func (t *socket) close() error {
	if t.eng != nil {
		t.eng.close()
	}
	return t.closeSocket()
}

// closeSocket closes the listener or packet conn, once.
func (t *socket) closeSocket() error {
	t.once.Do(func() {
		switch {
		case t.ln != nil:
			t.err = t.ln.Close()
		case t.pc != nil:
			t.err = t.pc.Close()
		}
	})
	return t.err
}

// countUnserved counts, as unserved, the datagrams still queued in a
// datagram socket the server is forced to close. Only a socket of its own:
// on a shared one, another process may still serve them.
func (t *socket) countUnserved(s *Server) {
	if t.pc != nil && t.owned {
		s.stats.unserved.Add(int64(sockopt.DiscardQueued(t.pc)))
	}
}

type deadliner interface{ SetDeadline(time.Time) error }

// setDeadline sets the deadline of the next accept or read.
func (t *socket) setDeadline(d time.Time) error {
	if t.pc != nil {
		return t.pc.SetReadDeadline(d)
	}
	if t.ln == nil {
		return fmt.Errorf("%w: HandleRequest in a child process", ErrUnsupported)
	}
	if dl, ok := t.ln.(deadliner); ok {
		return dl.SetDeadline(d)
	}
	return fmt.Errorf("%w: listener %T has no deadline", ErrUnsupported, t.ln)
}

var aLongTimeAgo = time.Unix(1, 0)
