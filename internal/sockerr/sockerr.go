// Package sockerr classifies the errors of socket calls, once for every
// serving loop of the module: which accept or read failures a pause may
// cure, which mean the end of a conversation rather than a fault, and how
// long to pause.
package sockerr

import (
	"errors"
	"io"
	"net"
	"syscall"
	"time"
)

// Temporary reports whether an accept or read error is worth a retry: a
// timeout, running out of descriptors or memory, a connection aborted
// before it was accepted, an interrupted call, an ICMP error left on a
// datagram socket by an earlier reply. A closed socket is not.
func Temporary(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return Exhausted(err) ||
		errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, syscall.EINTR) ||
		errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EPROTO) ||
		errors.Is(err, syscall.ECONNREFUSED)
}

// Exhausted reports whether err is running out of descriptors or memory:
// a retry at once fails again, and a loop must pause (see NextPause).
func Exhausted(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// Routine reports whether err is the ordinary end of a network
// conversation (the peer went away, a timeout fired, the socket was
// closed) rather than a fault worth an error log.
func Routine(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNABORTED)
}

// NextPause is the pause after one more consecutive temporary failure,
// given the last one (zero at first): doubling from 5ms to at most 1s.
func NextPause(last time.Duration) time.Duration {
	return min(max(2*last, 5*time.Millisecond), time.Second)
}
