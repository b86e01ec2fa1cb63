//go:build linux && !socketserver_portable

package socketserver

import (
	"context"

	"github.com/socketserver-go/socketserver/internal/timewheel"
	"golang.org/x/sys/unix"
)

// connImpl is an EventConn's state on Linux. Apart from what the methods
// of EventConn note, it belongs to the connection's loop.
type connImpl struct {
	loop *eventLoop
	bufs *connBufs // nil while nothing is kept: idle connections hold no buffers
	fd   int

	interest uint32 // what the poller watches the descriptor for
	state    connState
	paused   bool // reading stopped: output over the high-water mark
	inEOF    bool // the client ended its side of the stream
	dirty    bool // in the loop's dirty list
	opened   bool // OnOpen ran, so OnClose will
	reported bool // the close reason was already reported
	failed   bool // a callback passed a limit: close with closeErr after it
	heard    bool // input came (FirstByteTimeout no longer applies)
	preamble bool // waiting for Event.Preamble to be satisfied
	counted  bool // counted against MaxConnsPerIP
	rawEOF   bool // the socket reached EOF (inEOF follows once the layer's input is read)
	// awaitDrain: OnData left input unconsumed with output queued; it is
	// called again once the output drains to LowWater.
	awaitDrain bool

	// With Event.Layer: the raw connection under it, and the handshake
	// under way.
	pipe          *layerPipe
	handshaking   bool
	layerClosed   bool // CloseWrite was called
	stopHandshake context.CancelFunc

	closedByUser bool  // Close or AsyncClose: writes fail from now on
	closeErr     error // why the connection is closing

	// In Unix nanoseconds, from the loop's clock: the last input, the last
	// output progress, and the start of the closing or lingering state.
	lastIn, lastOut, since int64

	timer timewheel.Timer[*EventConn]
	req   *Request // for VerifyRequest and ConnState, if set

	// Datagram senders: the address to reply to (nil for an unnamed Unix
	// socket).
	packet bool
	peer   unix.Sockaddr
}

type connState uint8

const (
	stateOpen      connState = iota
	stateClosing             // sending the queued output, then closing
	stateLingering           // output sent and write side shut: discarding input until EOF
	stateClosed
)

func (ci *connImpl) pending() int {
	if ci.bufs == nil {
		return 0
	}
	return len(ci.bufs.out) - ci.bufs.head
}

func (ci *connImpl) datagram() bool { return ci.packet }

// kept returns how much input c holds unconsumed.
func (ci *connImpl) kept() int {
	if ci.bufs == nil {
		return 0
	}
	return len(ci.bufs.in)
}
