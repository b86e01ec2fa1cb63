// Package tlsconn serves a socketserver.Server's stream connections over
// TLS: Wrap is the Server's WrapConn, and Layer is Event mode's
// Event.Layer.
//
//	srv := &socketserver.Server{Addr: ":9443", Handler: h,
//		WrapConn: tlsconn.Wrap(&tls.Config{GetCertificate: certs.GetCertificate})}
//
//	srv := &socketserver.Server{Addr: ":9443", EventHandler: eh,
//		Mode: socketserver.Event{Layer: tlsconn.Layer(cfg)}}
//
// The handshake runs before VerifyRequest (with Wrap, on the goroutine
// serving the connection; with Layer, on a goroutine of its own while the
// event loop goes on), so the hook and the handler see the client's
// verified certificates (State, EventState). CertFiles reloads a certificate from its files
// without a restart. TLS is kept out of package socketserver: a program
// that does not use it does not link it, which matters in Fork mode, where
// every request starts the program anew.
package tlsconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	"github.com/socketserver-go/socketserver"
)

// ErrHandshake wraps every handshake failure Wrap returns.
var ErrHandshake = errors.New("tlsconn: TLS handshake failed")

// Wrap returns a WrapConn that runs the server side of a TLS handshake
// with cfg, and serves the *tls.Conn. The Server's HandshakeTimeout
// bounds the handshake; a failed one is reported wrapping ErrHandshake.
func Wrap(cfg *tls.Config) func(net.Conn) (net.Conn, error) {
	return func(c net.Conn) (net.Conn, error) {
		tc := tls.Server(c, cfg)
		if err := tc.Handshake(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
		}
		return tc, nil
	}
}

// Layer returns an Event.Layer that serves each connection over TLS with
// cfg. The Server's HandshakeTimeout bounds the handshake, in Event mode
// as with Wrap; a failed one is reported wrapping ErrHandshake.
func Layer(cfg *tls.Config) func(net.Conn) socketserver.EventLayer {
	return func(c net.Conn) socketserver.EventLayer { return eventTLS{tls.Server(c, cfg)} }
}

// eventTLS is a TLS connection under an event loop.
type eventTLS struct{ *tls.Conn }

func (c eventTLS) HandshakeContext(ctx context.Context) error {
	if err := c.Conn.HandshakeContext(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrHandshake, err)
	}
	return nil
}

// State returns the TLS state of a request served through Wrap (the
// negotiated protocol, the verified peer certificates), or, in Event
// mode's VerifyRequest, through Layer; nil if it was not.
func State(r *socketserver.Request) *tls.ConnectionState {
	if c := r.EventConn(); c != nil {
		return EventState(c)
	}
	tc, ok := r.Conn.(*tls.Conn)
	if !ok {
		return nil
	}
	st := tc.ConnectionState()
	return &st
}

// EventState returns the TLS state of an Event mode connection served
// through Layer, or nil if it was not.
func EventState(c *socketserver.EventConn) *tls.ConnectionState {
	tc, ok := c.Layer().(eventTLS)
	if !ok {
		return nil
	}
	st := tc.ConnectionState()
	return &st
}
