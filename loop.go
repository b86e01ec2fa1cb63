package socketserver

import (
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/socketserver-go/socketserver/internal/sockerr"
	"github.com/socketserver-go/socketserver/internal/sockopt"
)

// A loop is the engine of the modes that serve each request on a
// goroutine (Sync, Goroutine, Pool) or in a process (Fork): one goroutine
// accepts connections, or reads datagrams, and hands each request to the
// mode's dispatcher.
type loop struct {
	s *Server
	t *socket
	d dispatcher
}

func newLoop(s *Server, t *socket, d dispatcher) (engine, error) {
	if s.Handler == nil {
		return nil, ErrNoHandler
	}
	return &loop{s: s, t: t, d: d}, nil
}

// shutdown and close have nothing to add to what the socket's stop and
// close do: the loop sees its socket stopped or closed.
func (*loop) shutdown() {}
func (*loop) close()    {}

// serve runs the accept or read loop. The loop holds the server until its
// requests are done: a graceful Shutdown waits for the accept in progress
// and serves the connection it returns, and serves the datagrams the
// socket has queued (see admitReceived).
func (l *loop) serve() error {
	s := l.s
	if !s.hold() {
		l.d.wait()
		return ErrServerClosed
	}
	defer s.unhold()
	defer l.d.wait()
	if l.t.ln != nil {
		return l.acceptLoop()
	}
	return l.readLoop()
}

// acceptLoop is Serve's body: accept, admit, dispatch.
func (l *loop) acceptLoop() error {
	s, ln := l.s, l.t.ln
	var pause time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if err := s.afterFailure("accept", ln.Addr(), err, false, &pause); err != nil {
				return err
			}
			continue
		}
		pause = 0
		if s.overLimit() {
			c.Close()
			continue
		}
		r := s.newStreamRequest(c, l.d.daemon())
		if !s.admitReceived(r) {
			c.Close() // the server was closed
			s.stats.unserved.Add(1)
			return ErrServerClosed
		}
		r.setState(StateNew)
		l.d.run(r)
	}
}

// readLoop is ServePacket's body: read, admit, dispatch. A dispatcher
// that reads the socket itself (a packetReader: Goroutine mode) takes it
// over.
func (l *loop) readLoop() error {
	if pr, ok := l.d.(packetReader); ok {
		return pr.readPackets(l)
	}
	var rs readState
	var own []byte
	if _, inline := l.d.(syncDispatcher); inline {
		// Each request is done before the next read: one buffer serves.
		own = make([]byte, l.s.maxPacketSize()+1)
	}
	for {
		r, err := l.next(&rs, own)
		if err != nil {
			return err
		}
		l.d.run(r)
	}
}

// A readState is what a datagram socket's reader keeps between reads.
type readState struct {
	pause    time.Duration // back-off after a failed read
	draining bool          // Shutdown began: serve what is queued, then end
}

// next reads and admits the next datagram: a request in the StateNew
// state, or the error that ends serving (ErrServerClosed once the server
// or the socket was stopped, and what the kernel had queued is served).
// It reads into own, if not nil (see readRequestInto).
func (l *loop) next(rs *readState, own []byte) (*Request, error) {
	s, pc := l.s, l.t.pc
	local := pc.LocalAddr()
	for {
		if rs.draining {
			// Shutdown: serve the datagrams the kernel has queued, until
			// none is. (The deadline is a safety net: another process
			// sharing the socket may take the one seen.)
			if queued, ok := sockopt.DatagramQueued(pc); ok && !queued {
				return nil, ErrServerClosed
			}
			pc.SetReadDeadline(time.Now().Add(drainPoll))
		}
		r, err := s.readRequestInto(pc, local, l.d.daemon(), own)
		if err != nil {
			if l.t.stopped.Load() && isTimeout(err) && s.state.Load() == serverShutdown {
				if rs.draining {
					return nil, ErrServerClosed
				}
				rs.draining = true
				continue
			}
			if err := s.afterFailure("read", local, err, l.t.stopped.Load(), &rs.pause); err != nil {
				return nil, err
			}
			continue
		}
		rs.pause = 0
		if r == nil {
			continue // dropped and reported
		}
		if !s.admitReceived(r) {
			s.pools.putPacket(r.pbuf)
			s.stats.unserved.Add(1)
			return nil, ErrServerClosed
		}
		r.setState(StateNew)
		return r, nil
	}
}

// drainPoll bounds each read of a datagram socket once Shutdown began:
// where the queue cannot be looked at, a socket that stays empty for that
// long counts as drained.
const drainPoll = 50 * time.Millisecond

// overLimit reports, and counts, a connection just accepted that MaxConns
// does not let in.
func (s *Server) overLimit() bool {
	if s.MaxConns <= 0 || s.stats.activeConns.Load() < int64(s.MaxConns) {
		return false
	}
	s.stats.overLimit.Add(1)
	return true
}

// afterFailure decides what a serving loop does after its accept or read
// failed: it returns the error that ends the loop (ErrServerClosed once
// the server or the socket was stopped), or nil after pausing for a
// temporary failure, such as running out of descriptors. The pause grows
// from 5ms to 1s over consecutive failures.
func (s *Server) afterFailure(op string, addr net.Addr, err error, stopped bool, pause *time.Duration) error {
	if s.shuttingDown() || stopped {
		return ErrServerClosed
	}
	if !sockerr.Temporary(err) {
		return fmt.Errorf("socketserver: %s: %w", op, err)
	}
	*pause = sockerr.NextPause(*pause)
	s.logger().Warn("socketserver: "+op+" failed; retrying", "addr", addr, "err", err, "retry_in", *pause)
	if !s.sleep(*pause) {
		return ErrServerClosed
	}
	return nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
