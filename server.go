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

	// HandshakeTimeout bounds how long a stream connection may take, from
	// its acceptance, to reach its handler: WrapConn's work (a PROXY
	// header, a TLS handshake) in every mode but Event; in Event mode, the
	// Event.Preamble and the Event.Layer's handshake. A connection that
	// takes longer is closed and the failure reported. Zero means 10s;
	// negative means no bound.
	HandshakeTimeout time.Duration

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

	// KeepAlive is the TCP keep-alive period of accepted connections, in
	// every mode, as in net.ListenConfig: zero means Go's default (15s,
	// probes every 15s, 9 of them), negative disables it.
	KeepAlive time.Duration

	// SocketMode, if not zero, is the permission of the Unix socket files
	// Listen creates (for example 0o660). Zero leaves them to the umask.
	SocketMode fs.FileMode

	// KeepAliveConfig, if Enable is true, is the TCP keep-alive of
	// accepted connections, and KeepAlive is ignored: probes after Idle
	// without traffic, every Interval, Count of them unanswered closing
	// the connection (zero fields mean 15s, 15s and 9, as in Go). A client
	// that vanishes without a word (power lost, a NAT dropping its state)
	// is then reclaimed within Idle + Count × Interval.
	KeepAliveConfig net.KeepAliveConfig

	// SocketReceiveBuffer and SocketSendBuffer, if positive, are the
	// sizes asked of the kernel for each socket's buffers (SO_RCVBUF and
	// SO_SNDBUF): a datagram server with bursts wants a larger receive
	// buffer. The kernel caps them (Linux: net.core.rmem_max and
	// wmem_max); Listen logs what it granted when that is less.
	SocketReceiveBuffer, SocketSendBuffer int

	// Guarded by mu:
	mu        sync.Mutex
	done      chan struct{}         // closed when Shutdown or Close begins; made by initLocked
	forced    chan struct{}         // closed when requests are forced closed
	idleCh    chan struct{}         // closed when waited drops to zero during a shutdown
	listeners map[*socket]struct{}  // the sockets being served
	conns     map[*Request]struct{} // stream requests admitted and not yet ended
	listened  *socket               // opened by Listen, not yet served
	procs     map[int]struct{}      // child processes alive (Fork, Prefork)
	perIP     map[netip.Addr]int    // connections per client address (MaxConnsPerIP)
	child     *childInfo            // in a Fork child, where to report errors

	statsFrom map[statsSource]struct{} // guarded by mu: counted in Stats (Prefork's workers)

	// Set once by initLocked, then read-only:
	baseCtx    context.Context
	baseCancel context.CancelFunc

	// Atomic:
	state  atomic.Int32 // serverRunning, serverShutdown or serverClosed; moves forward only, under mu
	waited atomic.Int64 // requests and serving loops Shutdown waits for
	nextID atomic.Uint64
	stats  counters

	pools bufferPools // safe for concurrent use
}

func (s *Server) network() string {
	if s.Network == "" {
		return "tcp"
	}
	return s.Network
}

func (s *Server) mode() Mode {
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

func (s *Server) handshakeTimeout() time.Duration {
	switch {
	case s.HandshakeTimeout < 0:
		return 0
	case s.HandshakeTimeout == 0:
		return 10 * time.Second
	}
	return s.HandshakeTimeout
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
	s.listeners = make(map[*socket]struct{})
	s.conns = make(map[*Request]struct{})
	// Every request's context, and an Event mode connection's, carries
	// the server: Shutdown knows it is called from a handler of its own.
	s.baseCtx, s.baseCancel = context.WithCancel(context.WithValue(context.Background(), serverContextKey, s))
}
