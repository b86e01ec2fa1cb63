// Package servetest serves a socketserver.Server for the tests of the
// packages around it.
package servetest

import (
	"errors"
	"net"
	"testing"

	"github.com/socketserver-go/socketserver"
)

// Serve binds srv, serves it on a goroutine until the test ends, then
// closes it and checks that serving ended with ErrServerClosed. It
// returns the bound address.
func Serve(t testing.TB, srv *socketserver.Server) net.Addr {
	t.Helper()
	addr, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, socketserver.ErrServerClosed) {
			t.Errorf("ListenAndServe = %v, want ErrServerClosed", err)
		}
	})
	return addr
}
