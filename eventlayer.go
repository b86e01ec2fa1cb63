package socketserver

import "context"

// An EventLayer is a protocol between a stream connection and an
// EventHandler in Event mode, such as TLS: *tls.Conn is one (see
// tlsconn.Layer). Event.Layer makes one per connection, over a net.Conn
// whose Read returns the bytes the loop received from the socket and whose
// Write queues bytes for the socket.
//
// HandshakeContext runs first, on a goroutine where it may block (one of
// its own under epoll; the connection's in the portable engine): there,
// Read waits for input as on any connection. The context ends at
// Server.HandshakeTimeout, or when the connection or server is closed,
// and then Read fails. From then on the layer is used on the
// connection's event loop only, and must not block. The loop calls Read
// while the layer has something to give; Read on the raw connection never
// waits then, but returns what was received, or an error whose
// Temporary and Timeout methods report true when there is nothing. The
// layer keeps what it had read of an incomplete record and returns the
// same error: crypto/tls does exactly that. Write is called with the
// handler's output, and CloseWrite when the connection is closed
// gracefully (for TLS, it sends close_notify).
type EventLayer interface {
	HandshakeContext(ctx context.Context) error
	Read(p []byte) (n int, err error)
	Write(p []byte) (n int, err error)
	CloseWrite() error
}

// Layer returns the connection's EventLayer, made by Event.Layer, or nil
// (tlsconn.EventState reads a TLS layer's state). Safe from any
// goroutine; use the layer itself only from callbacks.
func (c *EventConn) Layer() EventLayer { return c.layer }

// EventConn returns the Event mode connection a request stands for, in
// VerifyRequest and ConnState in Event mode; nil in the other modes.
func (r *Request) EventConn() *EventConn { return r.event }
