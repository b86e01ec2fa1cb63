package socketserver

import (
	"context"
	"sync"
	"time"
)

// HandleRequest waits for one request on the socket opened by Listen
// (opening it first if need be) and serves it on the calling goroutine,
// whatever the Mode, as Python's handle_request. If no request comes
// within Timeout, it calls HandleTimeout and returns nil. It returns
// ctx.Err() if ctx is done first, and ErrServerClosed once the server is
// shut down.
func (s *Server) HandleRequest(ctx context.Context) error {
	if s.Handler == nil {
		return ErrNoHandler
	}
	if _, err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	t := s.listened
	s.mu.Unlock()
	if t == nil {
		return ErrServerClosed // ListenAndServe took it, or it was closed
	}

	var deadline time.Time
	if s.Timeout > 0 {
		deadline = time.Now().Add(s.Timeout)
	}
	if err := t.setDeadline(deadline); err != nil {
		return err
	}
	var mu sync.Mutex
	waiting := true
	stop := context.AfterFunc(ctx, func() {
		mu.Lock()
		defer mu.Unlock()
		if waiting {
			t.setDeadline(aLongTimeAgo)
		}
	})
	r, err := s.receive(t)
	mu.Lock()
	waiting = false
	mu.Unlock()
	stop()
	t.setDeadline(time.Time{})

	switch {
	case err == nil:
	case ctx.Err() != nil:
		return ctx.Err()
	case s.shuttingDown():
		return ErrServerClosed
	case isTimeout(err):
		if s.HandleTimeout != nil {
			s.HandleTimeout()
		}
		return nil
	default:
		return err
	}
	if r == nil {
		return nil // a datagram dropped and reported
	}
	if !s.admit(r) {
		if r.Conn != nil {
			r.Conn.Close()
		}
		s.pools.putPacket(r.pbuf)
		return ErrServerClosed
	}
	r.setState(StateNew)
	s.serveRequest(r)
	return nil
}

// receive takes one request from t.
func (s *Server) receive(t *socket) (*Request, error) {
	if t.pc != nil {
		return s.readRequest(t.pc, t.pc.LocalAddr(), false)
	}
	c, err := t.ln.Accept()
	if err != nil {
		return nil, err
	}
	return s.newStreamRequest(c, false), nil
}
