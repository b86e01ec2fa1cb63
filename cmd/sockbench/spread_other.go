//go:build !linux

package main

import "syscall"

// loopbackIs8 is false: a BSD or macOS loopback has 127.0.0.1 alone
// unless more addresses are configured.
const loopbackIs8 = false

// bindNoPort does nothing here: IP_BIND_ADDRESS_NO_PORT is Linux's. Bind
// picks a free port for each source address, which works, with fewer
// ports to go round.
func bindNoPort(_, _ string, _ syscall.RawConn) error { return nil }
