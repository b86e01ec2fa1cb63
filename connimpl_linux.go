//go:build linux && !socketserver_portable

package socketserver

import (
	"github.com/socketserver-go/socketserver/internal/timewheel"
)

// connImpl is an EventConn's state on Linux. Apart from what the methods
// of EventConn note, it belongs to the connection's loop.
//
// It is laid out for a million idle connections: EventConn is 192 bytes.
// What only some connections need (a layer, a Request for ConnState and
// VerifyRequest, the reason of a close) is in rare, allocated when needed;
// a datagram's sender is its RemoteAddr.
type connImpl struct {
	loop     *eventLoop
	bufs     *connBufs // nil while nothing is kept: idle connections hold no buffers
	rare     *connRare // nil until needed
	fd       int32     // the socket
	interest uint32    // what the poller watches the descriptor for

	state    connState
	paused   bool // reading stopped: output over the high-water mark
	inEOF    bool // the client ended its side of the stream
	dirty    bool // in the loop's dirty list
	opened   bool // OnOpen ran, so OnClose will
	reported bool // the close reason was already reported
	failed   bool // a callback passed a limit: close with the close reason after it
	heard    bool // input came (FirstByteTimeout no longer applies)
	preamble bool // waiting for Event.Preamble to be satisfied
	counted  bool // counted against MaxConnsPerIP
	rawEOF   bool // the socket reached EOF (inEOF follows once the layer's input is read)
	// awaitDrain: OnData left input unconsumed with output queued; it is
	// called again once the output drains to LowWater.
	awaitDrain   bool
	closedByUser bool // Close or AsyncClose: writes fail from now on
	packet       bool // the sender of a datagram

	// In Unix nanoseconds, from the loop's clock: the last input, the last
	// output progress, and the start of the closing or lingering state.
	lastIn, lastOut, since int64

	timer timewheel.Timer[*EventConn]
}

// connRare is the part of a connection's state that few connections need.
type connRare struct {
	// pipe is the raw connection under Event.Layer, with its handshake.
	pipe     *layerPipe
	req      *Request // for VerifyRequest and ConnState, if set
	closeErr error    // why the connection is closing, if not cleanly
}

// rareState returns c's rare state, making it if need be.
func (ci *connImpl) rareState() *connRare {
	if ci.rare == nil {
		ci.rare = &connRare{}
	}
	return ci.rare
}

// layer returns the pipe under c's layer, nil without one.
func (ci *connImpl) layer() *layerPipe {
	if ci.rare == nil {
		return nil
	}
	return ci.rare.pipe
}

// closeErr returns why c is closing: nil if cleanly.
func (ci *connImpl) closeErr() error {
	if ci.rare == nil {
		return nil
	}
	return ci.rare.closeErr
}

// setCloseErr records why c is closing.
func (ci *connImpl) setCloseErr(err error) {
	if err != nil || ci.rare != nil {
		ci.rareState().closeErr = err
	}
}

// handshaking reports whether c's layer's handshake is under way.
func (ci *connImpl) handshaking() bool {
	p := ci.layer()
	return p != nil && p.handshaking
}

// layerStalled reports whether c's reading waits for its layer's
// handshake to take the input it holds.
func (ci *connImpl) layerStalled() bool {
	p := ci.layer()
	return p != nil && p.handshaking && p.stall()
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

// fdInt is the socket, as system calls take it.
func (ci *connImpl) fdInt() int { return int(ci.fd) }

// kept returns how much input c holds unconsumed.
func (ci *connImpl) kept() int {
	if ci.bufs == nil {
		return 0
	}
	return len(ci.bufs.in)
}
