package socketserver

import (
	"context"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// A Server serves requests on stream and datagram sockets with a Handler.
// The zero value, given a Handler, is a valid configuration: TCP on an
// address the kernel picks, a goroutine per request.
//
// A Server may serve several sockets at once (call Serve or ServePacket once
// for each). It must not be copied after first use, and its fields must not
// be changed once it serves.
type Server struct {
	// Network is the network Listen and ListenAndServe bind: "tcp",
	// "tcp4", "tcp6", "udp", "udp4", "udp6", "unix", "unixgram" or
	// "unixpacket". Empty means "tcp".
	Network string

	// Addr is the address Listen and ListenAndServe bind, in the form
	// net.Listen takes ("127.0.0.1:9999", "[::1]:0", "/run/app.sock").
	// Empty means all interfaces on a port the kernel picks, for IP
	// networks.
	Addr string

	// Handler serves each request. It is required, except in Event mode.
	Handler Handler

	// EventHandler serves connections in Event mode, which requires it.
	// Other modes do not use it.
	EventHandler EventHandler

	// Mode is how requests run concurrently: Sync, Goroutine, Pool, Event,
	// Fork or Prefork. Nil means Goroutine{}: a goroutine per request,
	// waited for on close.
	Mode Mode

	// Logger receives the server's own log records and those of the
	// default HandleError. Nil means slog.Default().
	Logger *slog.Logger

	// VerifyRequest, if not nil, decides whether a request is served at all
	// (Python's verify_request). It runs before Setup and Handle, with
	// r.Reader and r.Writer not yet usable. A rejected stream connection is
	// closed at once; a rejected datagram is dropped. Both are counted in
	// Stats().Rejected. See AllowNetworks.
	VerifyRequest func(r *Request) bool

	// HandleError, if not nil, receives every error a handler returns, every
	// recovered panic (as a *PanicError) and every datagram the server
	// could not take or reply to, with the client's address. Nil means
	// Server.LogError. The server goes on serving either way.
	HandleError func(remote net.Addr, err error)

	// ConnState, if not nil, is called as each request changes state. For
	// datagram transports each datagram is a request and goes through the
	// same states. StateNew is reported on the accepting goroutine, the
	// later states on the goroutine serving the request; the calls for one
	// request never overlap. It must not keep r.
	ConnState func(r *Request, state ConnState)

	// Timeout is how long HandleRequest waits for a request before it calls
	// HandleTimeout (Python's timeout). Zero means it waits for ever.
	Timeout time.Duration

	// HandleTimeout, if not nil, is called by HandleRequest when no request
	// came within Timeout (Python's handle_timeout).
	HandleTimeout func()

	// ServiceActions, if not nil, is called every ServiceInterval while
	// Serve, ServePacket or ListenAndServe run, once for each of them
	// (Python's service_actions). It runs on its own goroutine, alongside
	// the handlers.
	ServiceActions func()

	// ServiceInterval is the period of ServiceActions. Zero means 500ms,
	// Python's poll_interval.
	ServiceInterval time.Duration

	// ReadBufferSize is the size of each request's Reader. Zero means 4096.
	ReadBufferSize int

	// WriteBufferSize, if positive, buffers a stream request's Writer: what
	// the handler writes goes out when the buffer fills, when it calls
	// r.Flush, and when it returns. Zero means unbuffered: every write
	// reaches the client whole before it returns (Python's wbufsize=0).
	WriteBufferSize int

	// MaxPacketSize is the largest datagram the server takes. A larger one
	// is dropped and reported as ErrTruncated, never passed on cut short.
	// Zero means 65536.
	MaxPacketSize int

	// ReadTimeout, if positive, bounds each read of a stream connection.
	ReadTimeout time.Duration

	// WriteTimeout, if positive, bounds each write to a stream connection,
	// so a client that stops reading cannot hold a handler for ever. A
	// write through Writer that fails, by this timeout or otherwise,
	// breaks the connection: later reads and writes through Reader and
	// Writer fail at once with the same error, so that even a handler that
	// ignores an error ends.
	WriteTimeout time.Duration

	// IdleTimeout, if positive, closes a stream connection on which no
	// read or write has completed for that long; its pending and later
	// reads and writes fail with ErrIdleTimeout.
	IdleTimeout time.Duration

	// NoReuseAddr clears SO_REUSEADDR, which Go sets on TCP listeners so a
	// restarted server can bind at once (Python's allow_reuse_address).
	NoReuseAddr bool

	// ReusePort sets SO_REUSEPORT so that several sockets, in one process or
	// several, can bind the same IP address and port (Python's
	// allow_reuse_port). It applies to IP networks only: Linux refuses it on
	// Unix sockets.
	ReusePort bool

	// WrapConn, if not nil, is applied to each accepted stream connection
	// on the goroutine serving it, before VerifyRequest: the connection it
	// returns is served instead, and its RemoteAddr is the client's. TLS
	// (package tlsconn) and the PROXY protocol (package proxy) plug in
	// here; WrapConns chains them. An error closes the connection and is
	// reported. Event mode does not support it: it reads the PROXY header
	// with Event.Preamble, and runs TLS as an Event.Layer.
	WrapConn func(net.Conn) (net.Conn, error)

	// MaxConnsPerIP, if positive, is how many stream connections one
	// client IP address may have open; more are closed at once and
	// counted in Stats().OverIPLimit. The address is the one WrapConn
	// gives, if any.
	MaxConnsPerIP int

	// FirstByteTimeout, if positive, closes a stream connection whose
	// first byte does not arrive within that time of its acceptance:
	// clients that connect and say nothing (or drip) are cut off.
	FirstByteTimeout time.Duration

	// MaxConns, if positive, is how many stream connections the server
	// serves at once. A connection accepted beyond it is closed at once
	// and counted in Stats().OverLimit. (With several listeners the count
	// may pass the limit by one connection per listener for a moment.)
	MaxConns int

	// Backlog is the listen queue length of stream sockets (Python's
	// request_queue_size). Zero means the system's maximum, SOMAXCONN.
	Backlog int

	// DisableNoDelay turns Nagle's algorithm back on for accepted TCP
	// connections. By default, as everywhere in Go, TCP_NODELAY is set.
	DisableNoDelay bool

	// KeepAlive is the TCP keep-alive period of accepted connections, as
	// in net.ListenConfig: zero means Go's default, negative disables it.
	KeepAlive time.Duration

	// SocketMode, if not zero, is the permission of the Unix socket files
	// Listen creates (for example 0o660). Zero leaves them to the umask.
	SocketMode fs.FileMode

	mu         sync.Mutex
	state      atomic.Int32 // serverRunning, serverShutdown or serverClosed
	done       chan struct{}
	listeners  map[*trackedSocket]struct{}
	conns      map[*Request]struct{}
	listened   *trackedSocket // opened by Listen, not yet served
	idleCh     chan struct{}  // closed when waited drops to zero
	baseCtx    context.Context
	baseCancel context.CancelFunc
	waited     atomic.Int64 // requests Shutdown and Close wait for
	nextID     atomic.Uint64
	stats      counters
	pools      bufferPools
	forced     chan struct{} // closed when requests are forced closed
	procs      map[int]struct{}
	perIP      map[netip.Addr]int

	// In a child process of Fork or Prefork mode:
	reportTo   *childInfo // a Fork child forwards reports to the server
	inWorker   bool       // a Prefork worker, serving in workerMode
	workerMode Mode
}

// Server states.
const (
	serverRunning int32 = iota
	serverShutdown
	serverClosed
)

func (s *Server) network() string {
	if s.Network == "" {
		return "tcp"
	}
	return s.Network
}

func (s *Server) mode() Mode {
	if s.inWorker {
		return s.workerMode
	}
	if s.Mode == nil {
		return Goroutine{}
	}
	return s.Mode
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.Default()
	}
	return s.Logger
}

func (s *Server) serviceInterval() time.Duration {
	if s.ServiceInterval <= 0 {
		return 500 * time.Millisecond
	}
	return s.ServiceInterval
}

func (s *Server) readBufferSize() int {
	if s.ReadBufferSize <= 0 {
		return 4096
	}
	return s.ReadBufferSize
}

func (s *Server) maxPacketSize() int {
	if s.MaxPacketSize <= 0 {
		return 65536
	}
	return s.MaxPacketSize
}

// initLocked prepares the server's state on first use. The caller holds
// s.mu.
func (s *Server) initLocked() {
	if s.done != nil {
		return
	}
	s.done = make(chan struct{})
	s.forced = make(chan struct{})
	s.listeners = make(map[*trackedSocket]struct{})
	s.conns = make(map[*Request]struct{})
	s.baseCtx, s.baseCancel = context.WithCancel(context.Background())
}

func (s *Server) shuttingDown() bool { return s.state.Load() != serverRunning }

// A trackedSocket is a listener or packet conn the server serves or holds,
// closed exactly once.
type trackedSocket struct {
	ln      net.Listener   // stream, or nil
	pc      net.PacketConn // datagram, or nil
	once    sync.Once
	err     error
	stopped atomic.Bool // a graceful stop asked the read loop to end
	ev      engine      // Event mode's engine serving the socket, or nil
	owned   bool        // bound by Listen: no other process shares it
}

// An engine serves a socket by means of its own, as Event mode's loops and
// Prefork's supervisor do.
type engine interface {
	serve() error
	shutdown() // stop taking requests; finish those taken
	close()    // stop at once
}

// close stops the engine serving t, if any, at once, and closes t.
func (t *trackedSocket) close() error {
	if t.ev != nil {
		t.ev.close()
	}
	return t.closeSocket()
}

// countUnserved counts, as unserved, the datagrams still queued in a
// datagram socket the server is forced to close. Only a socket of its own:
// on a shared one, another process may still serve them.
func (t *trackedSocket) countUnserved(s *Server) {
	if t.pc != nil && t.owned {
		s.stats.unserved.Add(int64(discardQueued(t.pc)))
	}
}

// closeSocket closes the listener or packet conn, once.
func (t *trackedSocket) closeSocket() error {
	t.once.Do(func() {
		if t.ln != nil {
			t.err = t.ln.Close()
		} else {
			t.err = t.pc.Close()
		}
	})
	return t.err
}

func (t *trackedSocket) addr() net.Addr {
	if t.ln != nil {
		return t.ln.Addr()
	}
	return t.pc.LocalAddr()
}

// stop makes the socket's serving loop return without closing the socket
// if it is a datagram socket (in-flight handlers may still reply on it),
// and closes it if it is a listener.
func (t *trackedSocket) stop() {
	if t.ev != nil {
		t.ev.shutdown()
	}
	if t.ln != nil {
		t.closeSocket()
		return
	}
	t.stopped.Store(true)
	t.pc.SetReadDeadline(aLongTimeAgo)
}

var aLongTimeAgo = time.Unix(1, 0)

// track adds or removes a socket from the set the server closes on
// shutdown. Adding fails once the server is shutting down.
func (s *Server) track(t *trackedSocket, add bool) bool {
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

// Shutdown shuts the server down gracefully. At once it stops taking
// requests: listeners are closed and datagram sockets stop being read, so no
// request is accepted after Shutdown begins (one whose accept or read was
// already under way is served: on a socket shared with other processes,
// dropping it would lose it). Then it waits for every request
// already accepted (including those queued in a Pool) to finish, until ctx
// is done; then it closes the remaining connections, cancels their
// contexts and returns ctx.Err(). Requests served in Goroutine{Daemon: true}
// mode are not waited for.
//
// Shutdown may be called more than once, before or while the server
// serves, and from inside a handler. Called from a handler, which it
// cannot wait for, it starts the shutdown, leaves the waiting (and the
// forcing at ctx's deadline) to run in the background, and returns nil at
// once; Serve still returns only when the handlers are done.
//
// Once Shutdown has been called, Serve, ServePacket, ListenAndServe and
// HandleRequest return ErrServerClosed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.beginShutdown(serverShutdown)
	if calledFromHandler() {
		go s.drain(ctx)
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
// connection are closed and request contexts cancelled. Then, unless the
// mode is Goroutine{Daemon: true}, it waits for running handlers to return
// (Python's block_on_close); it does not wait when called from a handler.
// Queued requests in a Pool are closed unserved. Close may be called more
// than once, before or while the server serves. It returns the first error
// from closing a socket.
func (s *Server) Close() error {
	s.beginShutdown(serverClosed)
	err := s.force()
	if !calledFromHandler() {
		<-s.idle()
	}
	return err
}

// beginShutdown moves the server to state st (never back) and stops all its
// sockets from taking requests.
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

// admit registers an accepted request. It fails once the server is
// shutting down, so that no request is accepted after Shutdown begins.
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

// hold counts work that Shutdown and Close must wait for, other than a
// request: a serving loop, an event engine, a Fork executor's children.
// It fails once the server is shutting down.
func (s *Server) hold() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shuttingDown() {
		return false
	}
	s.waited.Add(1)
	return true
}

// unhold ends what admit or hold counted, and wakes Shutdown and Close
// when nothing is left.
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
