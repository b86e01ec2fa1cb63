// Package poller is the readiness notification under the event-loop mode:
// epoll on Linux, and a clear ErrUnsupported elsewhere.
//
// A Poller watches descriptors for readability and writability, level
// triggered, and can be woken from any goroutine. It is owned by one event
// loop: only Wake is safe to call concurrently with the others.
package poller

import "errors"

// ErrUnsupported is returned by New on platforms without a poller.
var ErrUnsupported = errors.New("poller: event loops are not supported on this platform")

// Interest and readiness flags.
const (
	Readable uint32 = 1 << iota // data, EOF or a pending connection to take
	Writable                    // room in the send buffer
	Hangup                      // error or hang-up: a read or write will tell which
)

// An Event is one descriptor's readiness, from Wait.
type Event struct {
	Fd     int
	Events uint32 // Readable, Writable, Hangup
}
