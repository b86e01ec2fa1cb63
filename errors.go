package socketserver

import (
	"errors"
	"fmt"

	"github.com/socketserver-go/socketserver/internal/sockerr"
)

// Errors returned or reported by a Server. Compare them with errors.Is.
var (
	// ErrServerClosed is returned by Serve, ServePacket, ListenAndServe and
	// HandleRequest once Shutdown or Close has been called.
	ErrServerClosed = errors.New("socketserver: Server closed")

	// ErrAbortHandler ends a request without an error report: a handler that
	// returns it (or panics with it) has its connection closed at once, and
	// whatever it buffered for the client is discarded.
	ErrAbortHandler = errors.New("socketserver: abort handler")

	// ErrTruncated is reported for a datagram larger than MaxPacketSize. The
	// datagram is dropped, never passed on cut short.
	ErrTruncated = errors.New("socketserver: datagram truncated")

	// ErrUnnamedPeer is reported when a handler replies to a Unix datagram
	// client that never bound its socket: such a client has no address to
	// send to (see UnnamedAddr).
	ErrUnnamedPeer = errors.New("socketserver: cannot reply to an unnamed Unix socket")

	// ErrIdleTimeout is the error a connection's reads and writes return
	// once it has been closed for being idle longer than IdleTimeout.
	ErrIdleTimeout = errors.New("socketserver: connection idle too long")

	// ErrNotSocket is returned when a Unix socket path is taken by a file
	// that is not a socket. Such a file is never removed.
	ErrNotSocket = errors.New("socketserver: path exists and is not a socket")

	// ErrAddrInUse is returned when a Unix socket path belongs to a server
	// that is still accepting connections.
	ErrAddrInUse = errors.New("socketserver: address already in use")

	// ErrUnsupported is returned for an option or network this platform, or
	// this kind of socket, does not support. It matches
	// errors.ErrUnsupported too.
	ErrUnsupported = fmt.Errorf("socketserver: %w", errors.ErrUnsupported)

	// ErrChildStart is the Err of a *ChildError when a child process of
	// Fork or Prefork mode did not start serving: it could not be started,
	// exited before it was ready, or was not ready within StartTimeout.
	ErrChildStart = errors.New("socketserver: child process did not start serving")

	// ErrNoHandler is returned by Serve, ServePacket, ListenAndServe and
	// HandleRequest when the Server has no Handler (in Event mode, no
	// EventHandler).
	ErrNoHandler = errors.New("socketserver: Server has no Handler")

	// ErrOutputLimit is reported when Event mode closes a connection whose
	// queued output would pass Event.MaxOutput: a client that does not read.
	ErrOutputLimit = errors.New("socketserver: queued output over the limit")

	// ErrInputLimit is reported when Event mode closes a connection whose
	// unconsumed input passed Event.MaxInput.
	ErrInputLimit = errors.New("socketserver: unconsumed input over the limit")

	// ErrOutsideCallback is returned by the EventConn methods that belong
	// to a connection's own callbacks (Write, Close) when called from
	// anywhere else: another connection's callback, a Go function, another
	// goroutine. AsyncWrite and AsyncClose are for those.
	ErrOutsideCallback = errors.New("socketserver: EventConn method called outside the connection's own callbacks")

	// ErrPreambleIncomplete is what an Event.Preamble function returns to
	// wait for more bytes.
	ErrPreambleIncomplete = errors.New("socketserver: preamble incomplete")
)

// A PanicError is what a Server reports to HandleError when a handler,
// its Setup or its Finish panics. The server recovers, reports and goes on
// serving.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the goroutine's stack at the time of the panic
}

// Error describes the panic.
func (e *PanicError) Error() string {
	return fmt.Sprintf("socketserver: panic serving request: %v", e.Value)
}

// Unwrap returns the panic value if it is an error, so that errors.Is and
// errors.As see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// isRoutine reports whether err is the ordinary end of a network
// conversation (the peer went away, a timeout fired, the server closed the
// socket) rather than a fault worth an error log.
func isRoutine(err error) bool {
	if errors.Is(err, ErrIdleTimeout) {
		return true
	}
	if cf := (*childFailure)(nil); errors.As(err, &cf) {
		return cf.routine
	}
	return sockerr.Routine(err)
}
