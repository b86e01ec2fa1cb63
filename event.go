package socketserver

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"sync/atomic"
	"time"
)

// Event serves every connection of a socket from a few event loops, one
// goroutine each, instead of a goroutine per connection: the mode for very
// many mostly idle connections. It needs Server.EventHandler, whose
// callbacks the loops call; Server.Handler is not used.
//
// Event mode runs on every system, on one of two engines. On Linux it has
// event loops of its own over epoll, as described below. Elsewhere, and on
// Linux when built with the tag socketserver_portable, it runs on the Go
// runtime's netpoller (kqueue, IOCP): each stream connection has a
// goroutine that waits in Read and runs its callbacks, and another while
// its output is being written; a datagram socket has one. The handler,
// the guarantees and the limits are the same on both; Loops and Balance
// do not apply to the portable engine, and an idle connection costs it a
// goroutine (see the README for the cost).
//
// One loop accepts and hands each connection to a loop chosen by Balance;
// the connection stays on that loop for its life, and its callbacks never
// overlap. (One acceptor rather than a SO_REUSEPORT listener per loop: the
// kernel's port hash would ignore Balance, a listener handed to Serve is a
// single socket, and accepting was not the bottleneck when measured: in
// connect/request/close churn Event mode keeps up with gnet.) Output is queued and written when the callback returns, so what
// a callback writes in several calls usually leaves in one system call.
//
// A connection whose queued output reaches HighWater stops being read
// until the output drains to LowWater, so a client that does not read
// cannot make the server buffer without bound; past MaxOutput it is
// closed. The Server's ReadTimeout (no input for that long), WriteTimeout
// (queued output making no progress for that long), IdleTimeout and
// MaxConns apply, timed by a timing wheel in each loop.
type Event struct {
	// Loops is the number of event loops. Zero means GOMAXPROCS.
	Loops int

	// Balance chooses the loop for each new connection. The zero value is
	// RoundRobin.
	Balance Balance

	// HighWater is the queued output, in bytes, at which a connection stops
	// being read. Zero means 64 KiB.
	HighWater int

	// LowWater is the queued output at or below which reading resumes.
	// Zero means HighWater / 4.
	LowWater int

	// MaxOutput is the queued output past which a connection is closed
	// and ErrOutputLimit reported. Zero means 4 MiB.
	MaxOutput int

	// MaxInput is how much input a connection may keep unconsumed (see
	// EventHandler.OnData) before it is closed and ErrInputLimit
	// reported. Zero means 1 MiB.
	MaxInput int

	// Preamble, if not nil, reads what each stream connection sends before
	// its data, such as a load balancer's PROXY protocol header (see
	// proxy.Protocol.Preamble): Event mode's counterpart of WrapConn. It is
	// given the bytes received so far with the connection's addresses, and
	// returns how many bytes the preamble took (OnData never sees them) and
	// the client's addresses (nil: unchanged); or ErrPreambleIncomplete to
	// wait for more; or another error, which closes the connection and is
	// reported. MaxConnsPerIP, VerifyRequest and OnOpen come after it.
	// Server.HandshakeTimeout bounds the wait for it.
	Preamble func(in []byte, remote, local net.Addr) (n int, newRemote, newLocal net.Addr, err error)

	// Layer, if not nil, puts a protocol that transforms every byte, such
	// as TLS (see tlsconn.Layer), between each stream connection and the
	// EventHandler: Event mode's counterpart of a WrapConn that returns a
	// new net.Conn. See EventLayer for what it is given and must do. Its
	// handshake comes after the Preamble; MaxConnsPerIP, VerifyRequest and
	// OnOpen come after the handshake. Server.HandshakeTimeout bounds the
	// handshake. While it runs, raw holds at most half of MaxInput (and
	// 512 KiB) the handshake has not read: past that, the loop reads no
	// more from the socket until the handshake takes some, so a client's
	// early requests wait in the kernel.
	Layer func(raw net.Conn) EventLayer

	// Workers is the number of goroutines that run the functions passed to
	// EventConn.Go. Zero means 4 × GOMAXPROCS. They start on first use.
	Workers int

	handshake time.Duration // Server.HandshakeTimeout, set by newEngine
}

// String returns "event(N)".
func (e Event) String() string { return fmt.Sprintf("event(%d)", e.loops()) }

func (e Event) newEngine(s *Server, t *socket) (engine, error) {
	if s.EventHandler == nil {
		return nil, ErrNoHandler
	}
	if err := e.checkNetwork(t.addr().Network()); err != nil {
		return nil, err
	}
	if s.WrapConn != nil && t.ln != nil {
		// It reads from a connection that blocks, which a callback must not.
		return nil, fmt.Errorf("%w: WrapConn (TLS) in Event mode: TLS is Event.Layer's (tlsconn.Layer), the PROXY header Event.Preamble's", ErrUnsupported)
	}
	e.handshake = s.handshakeTimeout()
	if e.handshake <= 0 {
		e.handshake = 1<<63 - 1 // no bound
	}
	return newEventEngine(s, t, e)
}

// checkNetwork refuses unixpacket: output is coalesced, which would merge
// a seqpacket's records.
func (Event) checkNetwork(network string) error {
	if network == "unixpacket" {
		return fmt.Errorf("%w: Event mode serves tcp, udp, unix and unixgram, not unixpacket", ErrUnsupported)
	}
	return nil
}

func (e Event) loops() int {
	if e.Loops <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return e.Loops
}

func (e Event) highWater() int {
	if e.HighWater <= 0 {
		return 64 << 10
	}
	return e.HighWater
}

func (e Event) lowWater() int {
	if e.LowWater <= 0 || e.LowWater >= e.highWater() {
		return e.highWater() / 4
	}
	return e.LowWater
}

func (e Event) maxOutput() int {
	if e.MaxOutput <= 0 {
		return 4 << 20
	}
	return max(e.MaxOutput, e.highWater())
}

// preambleTimeout and handshakeTimeout are the server's HandshakeTimeout,
// which newEngine copies into the engine's configuration.
func (e Event) preambleTimeout() time.Duration { return e.handshake }

func (e Event) handshakeTimeout() time.Duration { return e.handshake }

// maxPreamble bounds the bytes a preamble may take: a PROXY v2 header
// with its TLVs fits.
const maxPreamble = 4096

func (e Event) maxInput() int {
	if e.MaxInput <= 0 {
		return 1 << 20
	}
	return e.MaxInput
}

func (e Event) workers() int {
	if e.Workers <= 0 {
		return 4 * runtime.GOMAXPROCS(0)
	}
	return e.Workers
}

// A Balance is how Event mode spreads new connections over its loops.
type Balance int

const (
	// RoundRobin gives each loop the next connection in turn.
	RoundRobin Balance = iota
	// LeastConns gives a new connection to the loop with the fewest.
	LeastConns
)

// String returns "round-robin" or "least-conns".
func (b Balance) String() string {
	switch b {
	case RoundRobin:
		return "round-robin"
	case LeastConns:
		return "least-conns"
	}
	return fmt.Sprintf("Balance(%d)", int(b))
}

// An EventHandler serves connections in Event mode. Its methods run on the
// connection's event loop and must not block: a slow step belongs in
// EventConn.Go. A panic in one is recovered, reported to HandleError as a
// *PanicError, and closes that connection only.
//
// Embed EventHandlerBase to implement only the methods needed.
type EventHandler interface {
	// OnOpen is called when a stream connection has been accepted and
	// verified, before any OnData. It is not called for datagrams.
	OnOpen(c *EventConn)

	// OnData is called with the bytes that arrived on c: on a stream,
	// whatever the kernel had, prefixed by what the last call left
	// unconsumed; on a datagram socket, one whole datagram, with c
	// standing for its sender. in belongs to the loop and is valid only
	// during the call.
	//
	// OnData returns how many bytes of in it consumed. The rest is kept
	// and passed again, with more, on the next call: a handler that needs
	// a whole line or message returns 0 until it has one. The count is
	// ignored for datagrams.
	OnData(c *EventConn, in []byte) (consumed int)

	// OnClose is called once a stream connection is closed, with the
	// reason: nil when the client ended the stream or the server closed
	// it, or the error (a read error, a timeout, ErrOutputLimit, a
	// recovered panic). It is not called for datagrams.
	OnClose(c *EventConn, err error)
}

// An EventTicker is an EventHandler that also wants a periodic call. OnTick
// runs on the first event loop (in the portable engine, a goroutine of its
// own), first when serving starts, then again after the delay it returns
// (at least one millisecond). It must not block, and runs alongside the
// other loops' callbacks.
type EventTicker interface {
	EventHandler
	OnTick() (next time.Duration)
}

// EventHandlerBase has do-nothing OnOpen and OnClose methods, and an
// OnData that discards its input, for embedding in an EventHandler.
type EventHandlerBase struct{}

// OnOpen does nothing.
func (EventHandlerBase) OnOpen(*EventConn) {}

// OnData consumes in and does nothing with it.
func (EventHandlerBase) OnData(_ *EventConn, in []byte) int { return len(in) }

// OnClose does nothing.
func (EventHandlerBase) OnClose(*EventConn, error) {}

// An EventConn is a connection served in Event mode, or, on a datagram
// socket, the sender of one datagram.
//
// Its methods say which goroutines may call them. "Callbacks only" means
// from the EventHandler's callbacks for this connection (which run on its
// event loop) and not after OnClose; the others are safe from any
// goroutine at any time.
type EventConn struct {
	id     uint64
	srv    *Server
	remote net.Addr
	local  net.Addr
	value  any
	layer  EventLayer // Event.Layer's, if set

	gone atomic.Bool  // closed, or closing: further writes fail
	jobs atomic.Int32 // functions passed to Go not yet returned
	impl connImpl
}

// ID returns the connection's number, from the same sequence as
// Request.ID. Safe from any goroutine.
func (c *EventConn) ID() uint64 { return c.id }

// RemoteAddr returns the client's address. Safe from any goroutine.
func (c *EventConn) RemoteAddr() net.Addr { return c.remote }

// LocalAddr returns the server socket's address. Safe from any goroutine.
func (c *EventConn) LocalAddr() net.Addr { return c.local }

// Server returns the server serving c. Safe from any goroutine.
func (c *EventConn) Server() *Server { return c.srv }

// Context returns a context for work done for c, such as a function
// passed to Go: it is cancelled when the server is closed (or forced at
// Shutdown's deadline), and it tells Shutdown that it is called from the
// server's own callbacks (see Shutdown). Safe from any goroutine.
func (c *EventConn) Context() context.Context {
	c.srv.mu.Lock()
	defer c.srv.mu.Unlock()
	return c.srv.baseCtx
}

// Value returns the value last given to SetValue. Callbacks only.
func (c *EventConn) Value() any { return c.value }

// SetValue attaches a value to the connection, such as the state of a
// protocol's parser. Callbacks only.
func (c *EventConn) SetValue(v any) { c.value = v }

// Write queues p (copying it) to be sent when the callback returns. On a
// datagram socket it sends p as one datagram to the sender at once. It
// fails once the connection is closing, and closes the connection with
// ErrOutputLimit if the queue would pass MaxOutput. Callbacks only: called
// while none of c's own callbacks runs (from another connection's
// callback, say), it fails with ErrOutsideCallback.
func (c *EventConn) Write(p []byte) (int, error) { return c.write(p) }

// InputClosed reports whether the client has ended its side of the
// stream. When it does with input left unconsumed, OnData is called once
// more with that input and InputClosed true: the last chance to answer an
// incomplete request. Callbacks only.
func (c *EventConn) InputClosed() bool { return c.inputClosed() }

// Buffered returns the number of bytes queued and not yet sent. Callbacks
// only.
func (c *EventConn) Buffered() int { return c.buffered() }

// Close closes the connection once its queued output has been sent (or
// WriteTimeout, 30s if unset, passes without progress); no more input is
// read. OnClose follows. Callbacks only (else ErrOutsideCallback);
// AsyncClose is the same from any goroutine. On a datagram socket it does
// nothing.
func (c *EventConn) Close() error { return c.close() }

// AsyncWrite queues a copy of p for the connection from any goroutine;
// the event loop sends it. On a datagram socket it sends the datagram at
// once. It returns net.ErrClosed once the connection is closing.
func (c *EventConn) AsyncWrite(p []byte) error { return c.asyncWrite(p) }

// AsyncClose is Close for use from any goroutine.
func (c *EventConn) AsyncClose() error { return c.asyncClose() }

// Wake makes the event loop call OnData for c again, with the input it
// holds unconsumed (possibly none): for a handler that returned without
// consuming, waiting for something other than input. Safe from any
// goroutine. On a datagram socket it does nothing.
func (c *EventConn) Wake() error { return c.wake() }

// Go runs f on one of the server's worker goroutines (Event.Workers), for
// work too slow for a callback; f replies with AsyncWrite. Go blocks while
// every worker is busy and the queue is full, and returns net.ErrClosed,
// without running f, once the connection is closed or the server stops. A graceful Shutdown waits
// for f before it closes the connection; a panic in f is recovered,
// reported, and closes the connection. Functions passed for the same
// connection may run concurrently. Safe from any goroutine.
func (c *EventConn) Go(f func()) error { return c.goWork(f) }

// Datagram reports whether c is the sender of a datagram rather than a
// stream connection. Safe from any goroutine.
func (c *EventConn) Datagram() bool { return c.impl.datagram() }
