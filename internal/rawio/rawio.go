// Package rawio makes the system calls of an event loop's hot path on
// non-blocking descriptors: read, write, accept4, recvfrom, sendto and
// getsockname.
//
// They are raw system calls, which skip the Go scheduler's bookkeeping for
// a call that may block (entersyscall and exitsyscall: some 300 of the
// 1,500 instructions an Event-mode echo spent per request in user space,
// measured with callgrind). On a non-blocking descriptor none of them
// blocks. Addresses go through a caller's RawSockaddrAny and are decoded
// without the intermediate unix.Sockaddr that golang.org/x/sys allocates.
//
// It is Linux only: elsewhere the package is empty.
package rawio
