package socketserver

import (
	"context"
	"time"
)

// Server states.
const (
	serverRunning int32 = iota
	serverShutdown
	serverClosed
)

func (s *Server) shuttingDown() bool { return s.state.Load() != serverRunning }

// A contextKey is the key of a value this package keeps in a context.
type contextKey struct{ name string }

// serverContextKey holds, in a request's context (and an Event mode
// connection's), the Server serving it: Shutdown, given such a context,
// knows it is called from that server's own handler.
var serverContextKey = &contextKey{"server"}

// Shutdown shuts the server down gracefully. At once it stops taking
// requests: listeners are closed and datagram sockets stop being read, so
// no connection is accepted after Shutdown begins (one whose accept was
// already under way is served). Datagrams the socket had queued are
// served. Connections idle, their handler waiting for a new request with
// nothing buffered, are closed (their read returns io.EOF; a connection
// accepted less than 2s before, that has sent nothing yet, is given the
// rest of that time for its first request). Then Shutdown waits for every
// request already accepted (including those queued in a Pool, and
// incomplete requests in Event mode) to finish, until ctx is done; then
// it closes what is left, cancels the requests' contexts and returns
// ctx.Err(). Requests served in Goroutine{Daemon: true} mode are not
// waited for.
//
// Shutdown may be called more than once, before or while the server
// serves, and from other goroutines. A handler that shuts its own server
// down passes a context of its request (r.Context(), or in Event mode
// c.Context(), or one derived from either): Shutdown then starts the
// shutdown, leaves the waiting (and the forcing at ctx's deadline) to run
// on its own, and returns nil at once, since it cannot wait for the
// handler that called it. Given any other context, it waits for that
// handler too, until the context is done.
//
// Once Shutdown has been called, Serve, ServePacket, ListenAndServe and
// HandleRequest return ErrServerClosed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.beginShutdown(serverShutdown)
	if owner, _ := ctx.Value(serverContextKey).(*Server); owner == s {
		detached := context.WithoutCancel(ctx)
		cancel := func() {}
		if dl, ok := ctx.Deadline(); ok {
			detached, cancel = context.WithDeadline(detached, dl)
		}
		go func() {
			defer cancel()
			s.drain(detached)
		}()
		return nil
	}
	return s.drain(ctx)
}

// drain waits until no waited request is left or ctx is done, and in the
// latter case forces the remaining requests closed.
func (s *Server) drain(ctx context.Context) error {
	select {
	case <-s.idle():
		return s.closeListened()
	case <-ctx.Done():
		s.force()
		return ctx.Err()
	}
}

// ShuttingDown returns a channel that is closed when Shutdown or Close
// begins. A handler that serves several requests on one connection, or a
// long conversation, can watch it to end at a good moment: between two
// requests. (A handler waiting to read the next request with nothing
// buffered needs nothing of the kind: Shutdown ends that read with
// io.EOF.) Safe from any goroutine.
func (s *Server) ShuttingDown() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	return s.done
}

// Close closes the server at once: listeners, datagram sockets and every
// connection are closed, request contexts cancelled, child processes sent
// SIGTERM (then SIGKILL after their Grace); requests queued in a Pool are
// dropped unserved and counted in Stats().Unserved. Close does not wait
// for the handlers to return, so that it can be called from anywhere,
// handlers included: Serve, ServePacket and ListenAndServe return once
// they have (Python's block_on_close), unless the mode is
// Goroutine{Daemon: true}. Close may be called more than once, before or
// while the server serves. It returns the first error from closing a
// socket.
func (s *Server) Close() error {
	s.beginShutdown(serverClosed)
	return s.force()
}

// beginShutdown moves the server to state st (never back), stops all its
// sockets from taking requests, and ends the waits of idle handlers.
func (s *Server) beginShutdown(st int32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	if s.state.Load() < st {
		s.state.Store(st)
	}
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	for t := range s.listeners {
		t.stop()
	}
	if s.listened != nil {
		s.listened.stop()
	}
	for r := range s.conns {
		if sc := r.reading.Load(); sc != nil {
			sc.interrupt() // a handler waiting for a new request: nothing to wait for
		}
	}
}

// closeListened closes the socket Listen opened, if nobody served it.
func (s *Server) closeListened() error {
	s.mu.Lock()
	t := s.listened
	s.listened = nil
	s.mu.Unlock()
	if t == nil {
		return nil
	}
	t.countUnserved(s)
	return t.close()
}

// force closes every socket and connection and cancels request contexts.
func (s *Server) force() error {
	s.mu.Lock()
	s.initLocked()
	s.state.Store(serverClosed)
	select {
	case <-s.forced:
	default:
		close(s.forced)
	}
	var err error
	for t := range s.listeners {
		t.countUnserved(s)
		if cerr := t.close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	conns := make([]*Request, 0, len(s.conns))
	for r := range s.conns {
		conns = append(conns, r)
	}
	s.mu.Unlock()
	if cerr := s.closeListened(); cerr != nil && err == nil {
		err = cerr
	}
	for _, r := range conns {
		r.raw.Close() // r.Conn may be changing hands on its own goroutine
	}
	s.baseCancel()
	return err
}

// idle returns a channel that is closed once no waited request is left.
func (s *Server) idle() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waited.Load() == 0 {
		return closedChan
	}
	if s.idleCh == nil {
		s.idleCh = make(chan struct{})
	}
	return s.idleCh
}

var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// track adds or removes a socket from the set the server stops and
// closes on shutdown. Adding fails once the server is shutting down.
func (s *Server) track(t *socket, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initLocked()
	if !add {
		delete(s.listeners, t)
		return true
	}
	if s.shuttingDown() {
		return false
	}
	s.listeners[t] = struct{}{}
	return true
}

// admit registers a request HandleRequest received. It fails once the
// server is shutting down, so that no request is accepted after Shutdown
// begins.
func (s *Server) admit(r *Request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown() {
		return false
	}
	if !r.daemon {
		s.waited.Add(1)
	}
	s.registerLocked(r)
	return true
}

// admitReceived registers a request that a serving loop received. The
// loop holds the server while it runs, so Shutdown cannot finish between
// the receive and this call. Such a request is served even if a graceful
// Shutdown began while the receive ran: the kernel and the loop have taken
// it, and on a socket other processes share (Prefork, restarts) no other
// server would. It fails only once the server is closed.
func (s *Server) admitReceived(r *Request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state.Load() == serverClosed {
		return false
	}
	if !r.daemon {
		s.waited.Add(1)
	}
	s.registerLocked(r)
	return true
}

// registerLocked counts an admitted request. The caller holds s.mu.
func (s *Server) registerLocked(r *Request) {
	if r.Conn != nil {
		s.conns[r] = struct{}{}
		s.stats.activeConns.Add(1)
		s.stats.totalConns.Add(1)
	} else {
		s.stats.activePackets.Add(1)
		s.stats.totalPackets.Add(1)
	}
}

// release unregisters a finished request.
func (s *Server) release(r *Request) {
	if r.Conn != nil {
		s.mu.Lock()
		delete(s.conns, r)
		s.mu.Unlock()
	}
	if !r.daemon {
		s.unhold()
	}
}

// hold counts work that Shutdown must wait for, other than a request: a
// serving loop, an event engine, a Fork dispatcher's children. It fails
// once the server is shutting down.
func (s *Server) hold() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown() {
		return false
	}
	s.waited.Add(1)
	return true
}

// unhold ends what admit or hold counted, and wakes Shutdown when nothing
// is left.
func (s *Server) unhold() {
	if s.waited.Add(-1) == 0 && s.shuttingDown() {
		s.mu.Lock()
		if s.idleCh != nil && s.waited.Load() == 0 {
			close(s.idleCh)
			s.idleCh = nil
		}
		s.mu.Unlock()
	}
}

// sleep waits for d, or until the server shuts down, and reports whether
// the server is still running.
func (s *Server) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.done:
		return false
	}
}
