package socketserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Listen opens the server's socket on Network and Addr, with its socket
// options, and returns the address it is bound to (with the port the
// kernel chose for port 0), without serving yet: Python's TCPServer binds
// in its constructor, and sets server_address the same way.
//
// ListenAndServe and HandleRequest serve the socket Listen opened. Calling
// Listen again returns the same address. Close closes the socket whether
// or not it was served.
func (s *Server) Listen() (net.Addr, error) {
	if ci := s.childRole(); ci != nil {
		return s.listenAsChild(ci)
	}
	s.mu.Lock()
	s.initLocked()
	if s.shuttingDown() {
		s.mu.Unlock()
		return nil, ErrServerClosed
	}
	if s.listened != nil {
		a := s.listened.addr()
		s.mu.Unlock()
		return a, nil
	}
	s.mu.Unlock()

	t, err := s.listen()
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown() {
		t.close()
		return nil, ErrServerClosed
	}
	if s.listened != nil { // a concurrent Listen won
		t.close()
		return s.listened.addr(), nil
	}
	s.listened = t
	return t.addr(), nil
}

// ListenAndServe serves the socket opened by Listen, opening it first if
// Listen was not called, with Serve or ServePacket as Network requires.
// It always returns a non-nil error: ErrServerClosed after Shutdown or
// Close.
func (s *Server) ListenAndServe() error {
	if ci := s.childRole(); ci != nil {
		s.mu.Lock()
		t := s.listened
		s.listened = nil
		s.mu.Unlock()
		return s.serveAsChild(ci, t)
	}
	if _, err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	t := s.listened
	s.listened = nil
	s.mu.Unlock()
	if t == nil {
		return ErrServerClosed
	}
	return s.serve(t)
}

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
func (s *Server) receive(t *trackedSocket) (*Request, error) {
	if t.pc != nil {
		return s.readRequest(t.pc, t.pc.LocalAddr(), false)
	}
	c, err := t.ln.Accept()
	if err != nil {
		return nil, err
	}
	return s.newStreamRequest(c, false), nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

type deadliner interface{ SetDeadline(time.Time) error }

func (t *trackedSocket) setDeadline(d time.Time) error {
	if t.pc != nil {
		return t.pc.SetReadDeadline(d)
	}
	if dl, ok := t.ln.(deadliner); ok {
		return dl.SetDeadline(d)
	}
	return fmt.Errorf("%w: listener %T has no deadline", ErrUnsupported, t.ln)
}

// listen opens a socket on the server's Network and Addr.
func (s *Server) listen() (*trackedSocket, error) {
	network := s.network()
	if err := s.checkOptions(network); err != nil {
		return nil, err
	}
	lc := net.ListenConfig{KeepAlive: s.KeepAlive, Control: s.control(network)}
	ctx := context.Background()
	switch network {
	case "tcp", "tcp4", "tcp6":
		ln, err := lc.Listen(ctx, network, s.Addr)
		if err != nil {
			return nil, err
		}
		if err := s.setBacklog(ln); err != nil {
			ln.Close()
			return nil, err
		}
		return &trackedSocket{ln: ln, owned: true}, nil
	case "unix", "unixpacket":
		return s.listenUnix(ctx, lc, network)
	case "udp", "udp4", "udp6":
		pc, err := lc.ListenPacket(ctx, network, s.Addr)
		if err != nil {
			return nil, err
		}
		return &trackedSocket{pc: pc, owned: true}, nil
	case "unixgram":
		return s.listenUnixgram(ctx, lc)
	}
	return nil, fmt.Errorf("socketserver: unknown network %q", network)
}

// checkOptions rejects options that do not apply to network.
func (s *Server) checkOptions(network string) error {
	if s.ReusePort && isUnixNetwork(network) {
		return fmt.Errorf("%w: ReusePort on %s sockets (IP networks only)", ErrUnsupported, network)
	}
	if s.Backlog < 0 {
		return fmt.Errorf("socketserver: negative Backlog %d", s.Backlog)
	}
	return nil
}

func (s *Server) setBacklog(ln net.Listener) error {
	if s.Backlog == 0 {
		return nil
	}
	return relisten(ln, s.Backlog)
}

func isUnixNetwork(network string) bool {
	return network == "unix" || network == "unixgram" || network == "unixpacket"
}
