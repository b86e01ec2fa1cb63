//go:build !unix

package main

import (
	"errors"
	"log/slog"
	"net"
)

// A restarter cannot be made here: restarts hand sockets over as Unix
// descriptors.
type restarter struct{}

func newRestarter(string, *slog.Logger) (*restarter, error) {
	return nil, errors.New("-restartable is supported on Unix systems only")
}

func (*restarter) listen(string, string) (net.Listener, net.PacketConn, error) {
	return nil, nil, errors.New("not supported")
}
func (*restarter) ready() error          { return nil }
func (*restarter) exit() <-chan struct{} { return nil }
func (*restarter) stop()                 {}
