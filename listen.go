package socketserver

import (
	"context"
	"fmt"
	"net"

	"github.com/socketserver-go/socketserver/internal/sockopt"
)

// Listen opens the server's socket on Network and Addr, with its socket
// options, and returns the address it is bound to (with the port the
// kernel chose for port 0), without serving yet: Python's TCPServer binds
// in its constructor, and sets server_address the same way. It refuses,
// before binding, a Mode that cannot serve Network (Event mode and
// "unixpacket").
//
// ListenAndServe and HandleRequest serve the socket Listen opened. Calling
// Listen again returns the same address. Close closes the socket whether
// or not it was served.
//
// In a child process of Fork or Prefork mode, Listen binds nothing: see
// Fork.
func (s *Server) Listen() (net.Addr, error) {
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

	t, err := s.open()
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

// open opens the server's socket: by binding, or, in a child process of
// a process mode, by taking what its server handed over.
func (s *Server) open() (*socket, error) {
	if pm, ok := s.mode().(processMode); ok {
		if t, isChild, err := pm.childSocket(s); isChild {
			return t, err
		}
	}
	t, err := s.listen()
	if err == nil && s.socketBuffers() != (sockopt.Buffers{}) {
		var sock any = t.pc
		if t.ln != nil {
			sock = t.ln
		}
		s.reportBuffers(sock, s.socketBuffers())
	}
	return t, err
}

// ListenAndServe serves the socket opened by Listen, opening it first if
// Listen was not called, with Serve or ServePacket as Network requires.
// It always returns a non-nil error: ErrServerClosed after Shutdown or
// Close.
func (s *Server) ListenAndServe() error {
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

// listen opens a socket on the server's Network and Addr.
func (s *Server) listen() (*socket, error) {
	network := s.network()
	if err := s.checkOptions(network); err != nil {
		return nil, err
	}
	// Keep-alive is set on each accepted connection (see keepAlive), so
	// that it is the same whatever the listener's origin.
	lc := net.ListenConfig{KeepAlive: -1, Control: sockopt.Control(network, sockopt.Options{
		ReusePort: s.ReusePort, NoReuseAddr: s.NoReuseAddr, Mode: s.SocketMode, Buffers: s.socketBuffers(),
	})}
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
		return &socket{ln: ln, owned: true}, nil
	case "unix", "unixpacket":
		return s.listenUnix(ctx, lc, network)
	case "udp", "udp4", "udp6":
		pc, err := lc.ListenPacket(ctx, network, s.Addr)
		if err != nil {
			return nil, err
		}
		return &socket{pc: pc, owned: true}, nil
	case "unixgram":
		return s.listenUnixgram(ctx, lc)
	}
	return nil, fmt.Errorf("socketserver: unknown network %q", network)
}

// checkOptions rejects options that do not apply to network, and a Mode
// that cannot serve it.
func (s *Server) checkOptions(network string) error {
	if mc, ok := s.mode().(interface{ checkNetwork(string) error }); ok {
		if err := mc.checkNetwork(network); err != nil {
			return err
		}
	}
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
	return sockopt.Relisten(ln, s.Backlog)
}

func isUnixNetwork(network string) bool {
	return network == "unix" || network == "unixgram" || network == "unixpacket"
}
