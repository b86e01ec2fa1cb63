package socketserver

// A Handler serves one request: a whole stream connection, or one datagram.
//
// Handle reads the request from r.Reader and writes the reply to r.Writer.
// Written that way, one handler serves stream and datagram transports alike.
// An error it returns is reported to the Server's HandleError hook, as is a
// panic, which the server recovers from; either way the server goes on
// serving other requests. Returning ErrAbortHandler ends the request
// without a report.
//
// When Handle returns, buffered output is flushed (stream) or sent as one
// datagram (datagram), and a stream connection is closed. Handle must not
// use r after it returns.
type Handler interface {
	Handle(r *Request) error
}

// HandlerFunc adapts an ordinary function to a Handler.
type HandlerFunc func(r *Request) error

// Handle calls f(r).
func (f HandlerFunc) Handle(r *Request) error { return f(r) }

// A SetupHandler is a Handler with a step run before Handle, as Python's
// BaseRequestHandler.setup. If Setup fails (returns an error or panics),
// the failure is reported and neither Handle nor Finish runs.
type SetupHandler interface {
	Handler
	Setup(r *Request) error
}

// A FinishHandler is a Handler with a step run after Handle, as Python's
// BaseRequestHandler.finish: Finish runs whenever Setup succeeded, even if
// Handle failed or panicked, before buffered output is flushed.
type FinishHandler interface {
	Handler
	Finish(r *Request) error
}
