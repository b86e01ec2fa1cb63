package socketserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// A Request is one request being served: a stream connection, or one
// datagram. The server makes it and hands it to the Handler.
//
// Reader and Writer are the request's body and reply, on every transport,
// as Python's rfile and wfile: on a stream the connection's bytes, read
// through a buffer, and the bytes sent back; on a datagram transport the
// datagram's bytes, and a reply sent as one datagram when the handler
// returns (or calls Flush) if anything was written.
//
// A Request belongs to the goroutine serving it: only Context and Server
// are safe to call from other goroutines.
type Request struct {
	// ID numbers the server's requests from 1, for logs and metrics.
	ID uint64

	// RemoteAddr is the client's address: an UnnamedAddr for a Unix
	// client whose socket has no name.
	RemoteAddr net.Addr

	// LocalAddr is the server socket's address.
	LocalAddr net.Addr

	// Reader reads the request.
	Reader *bufio.Reader

	// Writer writes the reply. On a stream, unless WriteBufferSize is set,
	// every Write reaches the client whole before it returns; on a datagram
	// transport it collects one reply datagram.
	Writer io.Writer

	// Conn is the stream connection, nil for a datagram. Reading or writing
	// it directly bypasses Reader's and Writer's buffers, the server's
	// timeouts and its byte counts.
	Conn net.Conn

	// Packet is the datagram, nil for a stream. It is valid until the
	// handler returns.
	Packet []byte

	// PacketConn is the server's datagram socket, nil for a stream. SendTo
	// writes to it with the server's checks and counts.
	PacketConn net.PacketConn

	srv       *Server
	event     *EventConn                // Event mode: the connection
	daemon    bool                      // not waited for by Shutdown and Close
	checked   bool                      // verified already, by the server of a Fork child
	raw       net.Conn                  // the accepted connection, under any wrapping
	accepted  time.Time                 // when raw was accepted (stream)
	countedIP netip.Addr                // counted against MaxConnsPerIP
	aborted   bool                      // the handler returned ErrAbortHandler
	sc        *statsConn                // stream: Conn with timeouts and counting
	reading   atomic.Pointer[statsConn] // sc, for Shutdown to end an idle read
	bw        *bufio.Writer             // stream with WriteBufferSize
	dio       *datagramIO               // datagram reader and reply
	pbuf      *[]byte                   // datagram buffer, from the pool
	activeAt  time.Time                 // when it reached StateActive: the start of its duration

	ctxMu  sync.Mutex
	ctx    context.Context // made on first use: most handlers never ask
	cancel context.CancelFunc
	ended  bool
}

// Context returns the request's context. It is cancelled when the request
// ends (the handler returned, or the server forced its connection closed)
// and when the server is closed. A graceful Shutdown does not cancel it.
// A handler that calls Shutdown passes it (see Shutdown).
func (r *Request) Context() context.Context {
	r.ctxMu.Lock()
	defer r.ctxMu.Unlock()
	if r.ctx == nil {
		r.ctx, r.cancel = context.WithCancel(r.srv.baseCtx)
		if r.ended {
			r.cancel()
		}
	}
	return r.ctx
}

// endContext cancels the request's context, or makes sure it will be
// born cancelled.
func (r *Request) endContext() {
	r.ctxMu.Lock()
	defer r.ctxMu.Unlock()
	r.ended = true
	if r.cancel != nil {
		r.cancel()
	}
}

// Server returns the server serving the request, so that a handler can,
// for example, call Shutdown.
func (r *Request) Server() *Server { return r.srv }

// Datagram reports whether the request is a datagram.
func (r *Request) Datagram() bool { return r.PacketConn != nil }

// Flush sends what the handler has written so far: on a buffered stream
// the buffer's contents; on a datagram transport the reply collected so
// far, as one datagram (nothing is sent if nothing was written).
func (r *Request) Flush() error {
	switch {
	case r.bw != nil:
		return r.bw.Flush()
	case r.dio != nil && r.dio.reply.Len() > 0:
		err := r.SendTo(r.dio.reply.Bytes(), r.RemoteAddr)
		r.dio.reply.Reset()
		return err
	}
	return nil
}

// SendTo sends p as one datagram to addr from the server's datagram
// socket, so that a handler can send several replies, or reply elsewhere.
// It fails with ErrUnnamedPeer for an unnamed Unix client, and with
// ErrUnsupported on a stream.
func (r *Request) SendTo(p []byte, addr net.Addr) error {
	if r.PacketConn == nil {
		return fmt.Errorf("%w: SendTo on a stream connection", ErrUnsupported)
	}
	if _, ok := addr.(UnnamedAddr); ok {
		return ErrUnnamedPeer
	}
	n, err := r.PacketConn.WriteTo(p, addr)
	r.srv.stats.bytesOut.Add(int64(n))
	return err
}

func (r *Request) setState(st ConnState) {
	switch st {
	case StateActive:
		r.activeAt = time.Now()
	case StateClosed:
		r.observeEnd()
	}
	if h := r.srv.ConnState; h != nil {
		h(r, st)
	}
}

// observeEnd records the request's duration in the server's Stats, once.
// It is called before the request stops being counted as active, so that
// a request no longer active has its duration counted.
func (r *Request) observeEnd() {
	if !r.activeAt.IsZero() {
		r.srv.stats.observe(time.Since(r.activeAt))
		r.activeAt = time.Time{}
	}
}

// serveRequest runs one request through verification, the handler and its
// setup and finish steps, reports what failed, and releases the request.
func (s *Server) serveRequest(r *Request) {
	defer s.endRequest(r) // even if the handler calls runtime.Goexit
	if s.state.Load() == serverClosed {
		s.stats.unserved.Add(1) // closed before its turn came
		return
	}
	if s.admitted(r) {
		s.runHandler(r)
	}
}

// admitted verifies a request and readies it for its handler.
func (s *Server) admitted(r *Request) bool {
	if r.Conn != nil && !s.openConn(r) {
		return false
	}
	if !r.checked && !s.verify(r) {
		s.stats.rejected.Add(1)
		return false
	}
	r.setState(StateActive)
	s.prepareIO(r)
	if sh, ok := s.Handler.(SetupHandler); ok {
		if err := guard(sh.Setup, r); err != nil {
			if !errors.Is(err, ErrAbortHandler) {
				s.reportRequest(r, err)
			}
			return false
		}
	}
	return true
}

// runHandler runs Handle, then Finish and the flush of the reply. Its frame
// and serveRequest's are all the framework adds to the stack of a handler
// blocked in a read: they are kept small, so that an idle connection's
// goroutine fits a small stack.
func (s *Server) runHandler(r *Request) {
	s.finished(r, guard(s.Handler.Handle, r))
}

// finished runs Finish, flushes the reply and reports what failed.
func (s *Server) finished(r *Request, err error) {
	if fh, ok := s.Handler.(FinishHandler); ok {
		if ferr := guard(fh.Finish, r); ferr != nil && !errors.Is(err, ErrAbortHandler) {
			s.reportRequest(r, ferr)
		}
	}
	if errors.Is(err, ErrAbortHandler) {
		r.aborted = true
		return
	}
	if ferr := r.Flush(); ferr != nil && err == nil {
		err = ferr
	}
	if err != nil {
		s.reportRequest(r, err)
	}
}

// verify runs VerifyRequest. A panic in it rejects the request and is
// reported like a handler's.
func (s *Server) verify(r *Request) (ok bool) {
	v := s.VerifyRequest
	if v == nil {
		return true
	}
	defer func() {
		if p := recover(); p != nil {
			s.reportRequest(r, panicError(p))
			ok = false
		}
	}()
	return v(r)
}

// guard calls f(r), turning a panic into a *PanicError (or ErrAbortHandler,
// if that was the panic's value).
func guard(f func(*Request) error, r *Request) (err error) {
	defer func() {
		if v := recover(); v != nil {
			if e, ok := v.(error); ok && errors.Is(e, ErrAbortHandler) {
				err = ErrAbortHandler
				return
			}
			err = panicError(v)
		}
	}()
	return f(r)
}

// panicError describes a recovered panic, with the stack of the goroutine
// that panicked. Call it from the deferred function that recovered.
func panicError(v any) *PanicError {
	return &PanicError{Value: v, Stack: debug.Stack()}
}

// reportRequest reports an error of request r: to HandleError, or logged
// with the request's ID, to tell its records apart from other requests'.
func (s *Server) reportRequest(r *Request, err error) {
	if s.HandleError != nil || s.child != nil {
		s.report(r.RemoteAddr, err)
		return
	}
	s.stats.errors.Add(1)
	s.logError(s.logger().With("conn", r.ID), r.RemoteAddr, err)
}

// report passes err to HandleError, or logs it.
func (s *Server) report(remote net.Addr, err error) {
	s.stats.errors.Add(1)
	if s.child != nil {
		s.child.report(err) // a Fork child: the server reports it
		return
	}
	if h := s.HandleError; h != nil {
		h(remote, err)
		return
	}
	s.LogError(remote, err)
}
