package socketserver

import (
	"net"

	"github.com/socketserver-go/socketserver/internal/sockopt"
)

// Serve accepts connections on l and serves each with the Handler, in the
// server's Mode, until the server is shut down or l fails. Serve takes l
// over and closes it when it returns.
//
// On a temporary accept error (such as running out of descriptors) Serve
// logs it and retries after a pause growing from 5ms to 1s. Before it
// returns, Serve waits for the handlers it started, unless the Mode says
// not to (Goroutine{Daemon: true}).
//
// Serve always returns a non-nil error: ErrServerClosed after Shutdown or
// Close.
func (s *Server) Serve(l net.Listener) error {
	return s.serve(&socket{ln: l})
}

// ServePacket reads datagrams from pc and serves each as one request with
// the Handler, in the server's Mode, until the server is shut down or pc
// fails. ServePacket takes pc over and closes it when it returns, once the
// handlers it started are done (unless the Mode says not to wait), so that
// they can still reply.
//
// A datagram larger than MaxPacketSize is dropped and reported to
// HandleError as ErrTruncated.
//
// ServePacket always returns a non-nil error: ErrServerClosed after
// Shutdown or Close.
func (s *Server) ServePacket(pc net.PacketConn) error {
	return s.serve(&socket{pc: pc})
}

// serve serves t with the engine of the server's mode.
func (s *Server) serve(t *socket) error {
	if !t.owned {
		if err := s.applySocketOptions(t); err != nil {
			t.close()
			return err
		}
	}
	e, err := s.mode().newEngine(s, t)
	if err != nil {
		t.close()
		return err
	}
	t.eng = e
	if !s.track(t, true) {
		t.close()
		return ErrServerClosed
	}
	defer s.track(t, false)
	defer t.close()
	stopActions := s.startServiceActions()
	defer stopActions()
	return e.serve()
}

// applySocketOptions applies to a socket the server did not bind itself
// the options it would have set at Listen: its buffer sizes.
func (s *Server) applySocketOptions(t *socket) error {
	b := s.socketBuffers()
	if b == (sockopt.Buffers{}) {
		return nil
	}
	var sock any = t.pc
	if t.ln != nil {
		sock = t.ln
	}
	if err := sockopt.SetBuffers(sock, b); err != nil {
		return err
	}
	s.reportBuffers(sock, b)
	return nil
}

// socketBuffers are the socket buffer sizes the server asks for.
func (s *Server) socketBuffers() sockopt.Buffers {
	return sockopt.Buffers{Receive: max(s.SocketReceiveBuffer, 0), Send: max(s.SocketSendBuffer, 0)}
}

// reportBuffers logs, when the kernel granted less than asked, what it
// granted.
func (s *Server) reportBuffers(sock any, asked sockopt.Buffers) {
	got, err := sockopt.GrantedBuffers(sock)
	if err != nil {
		return
	}
	if got.Receive < asked.Receive || got.Send < asked.Send {
		s.logger().Warn("socketserver: the kernel granted smaller socket buffers than asked (raise net.core.rmem_max and wmem_max)",
			"receive_asked", asked.Receive, "receive_granted", got.Receive, "send_asked", asked.Send, "send_granted", got.Send)
	}
}
