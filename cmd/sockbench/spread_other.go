//go:build !linux

package main

import "syscall"

// bindNoPort does nothing here: IP_BIND_ADDRESS_NO_PORT is Linux's. Bind
// picks a free port for each source address, which works, with fewer
// ports to go round.
func bindNoPort(_, _ string, _ syscall.RawConn) error { return nil }
