// Package tlsconn serves a socketserver.Server's stream connections over
// TLS: Wrap is the Server's WrapConn.
//
//	srv := &socketserver.Server{Addr: ":9443", Handler: h,
//		WrapConn: tlsconn.Wrap(&tls.Config{GetCertificate: certs.GetCertificate}, 0)}
//
// The handshake runs on the goroutine serving the connection, before
// VerifyRequest, so the hook and the handler see the client's verified
// certificates (State). CertFiles reloads a certificate from its files
// without a restart. TLS is kept out of package socketserver: a program
// that does not use it does not link it, which matters in Fork mode, where
// every request starts the program anew.
package tlsconn

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/socketserver-go/socketserver"
)

// ErrHandshake wraps every handshake failure Wrap returns.
var ErrHandshake = errors.New("tlsconn: TLS handshake failed")

// Wrap returns a WrapConn that runs the server side of a TLS handshake
// with cfg, within timeout (zero means 10s), and serves the *tls.Conn.
func Wrap(cfg *tls.Config, timeout time.Duration) func(net.Conn) (net.Conn, error) {
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return func(c net.Conn) (net.Conn, error) {
		tc := tls.Server(c, cfg)
		tc.SetDeadline(time.Now().Add(timeout))
		if err := tc.Handshake(); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrHandshake, err)
		}
		tc.SetDeadline(time.Time{})
		return tc, nil
	}
}

// State returns the TLS state of a request served through Wrap (the
// negotiated protocol, the verified peer certificates), or nil.
func State(r *socketserver.Request) *tls.ConnectionState {
	tc, ok := r.Conn.(*tls.Conn)
	if !ok {
		return nil
	}
	st := tc.ConnectionState()
	return &st
}
