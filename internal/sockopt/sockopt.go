// Package sockopt sets and reads the socket options and kernel queues the
// module's servers use: the options applied before bind, the listen
// backlog, TCP keep-alive, socket buffer sizes, the bytes or datagrams
// waiting unread, and a non-blocking duplicate of a descriptor for an
// event loop. It knows nothing of socketserver.Server.
//
// Each function works on every Unix; elsewhere those that need a raw
// descriptor report ErrUnsupported (or, for the queries, that they cannot
// tell).
package sockopt

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"syscall"
	"time"
)

// ErrUnsupported is returned for an option this platform lacks.
var ErrUnsupported = fmt.Errorf("sockopt: %w", errors.ErrUnsupported)

// Options are applied to a socket before it is bound.
type Options struct {
	ReusePort   bool        // SO_REUSEPORT
	NoReuseAddr bool        // clear SO_REUSEADDR (TCP only)
	Mode        fs.FileMode // a Unix socket file's permissions, if not zero
	Buffers     Buffers
}

// Buffers are the socket's kernel buffer sizes, SO_RCVBUF and SO_SNDBUF,
// in bytes; zero leaves one as the system sets it. The kernel caps them
// (Linux: net.core.rmem_max and wmem_max) and reports twice the size it
// grants, its bookkeeping included.
type Buffers struct {
	Receive, Send int
}

// KeepAlive is the TCP keep-alive of a connection: probes after Idle
// without traffic, every Interval, giving up after Count unanswered.
type KeepAlive struct {
	Enable         bool
	Idle, Interval time.Duration
	Count          int
}

// syscallConn returns c's raw connection, if it has one.
func syscallConn(c any) (syscall.RawConn, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil, fmt.Errorf("%w: %T has no descriptor", ErrUnsupported, c)
	}
	return sc.SyscallConn()
}

// Control returns a net.ListenConfig.Control function that applies o to
// a socket of network before bind, or nil if o asks for nothing.
func Control(network string, o Options) func(string, string, syscall.RawConn) error {
	tcp := network == "tcp" || network == "tcp4" || network == "tcp6"
	if !tcp {
		o.NoReuseAddr = false
	}
	if !isUnix(network) {
		o.Mode = 0
	}
	if o == (Options{}) {
		return nil
	}
	return func(_, _ string, c syscall.RawConn) error {
		var err error
		cerr := c.Control(func(fd uintptr) { err = apply(int(fd), o) })
		return errors.Join(cerr, err)
	}
}

// SetBuffers sets the buffer sizes of a socket already made, such as an
// inherited one.
func SetBuffers(c any, b Buffers) error {
	if b == (Buffers{}) {
		return nil
	}
	rc, err := syscallConn(c)
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = setBuffers(int(fd), b) }); err != nil {
		return err
	}
	return serr
}

// GrantedBuffers returns the buffer sizes the kernel granted the socket,
// in the units it was asked for (half what Linux reports).
func GrantedBuffers(c any) (Buffers, error) {
	rc, err := syscallConn(c)
	if err != nil {
		return Buffers{}, err
	}
	var b Buffers
	var gerr error
	if err := rc.Control(func(fd uintptr) { b, gerr = granted(int(fd)) }); err != nil {
		return Buffers{}, err
	}
	return b, gerr
}

// Relisten sets the listen backlog of a listening socket: Linux and the
// BSDs take a second listen(2) as a change of backlog.
func Relisten(ln net.Listener, backlog int) error {
	rc, err := syscallConn(ln)
	if err != nil {
		return err
	}
	var lerr error
	if err := rc.Control(func(fd uintptr) { lerr = listen(int(fd), backlog) }); err != nil {
		return err
	}
	return lerr
}

// Unread returns how many bytes wait, unread, in the kernel's receive
// queue of a stream connection (0 if it cannot tell).
func Unread(c net.Conn) int {
	rc, err := syscallConn(c)
	if err != nil {
		return 0
	}
	n := 0
	rc.Control(func(fd uintptr) { n = UnreadFD(int(fd)) })
	return n
}

// DatagramQueued reports whether a datagram waits in pc's socket, and
// whether it could tell. A pending socket error counts as queued: the next
// read reports it.
func DatagramQueued(pc net.PacketConn) (queued, ok bool) {
	rc, err := syscallConn(pc)
	if err != nil {
		return false, false
	}
	if err := rc.Control(func(fd uintptr) { queued, ok = peekDatagram(int(fd)) }); err != nil {
		return false, false
	}
	return queued, ok
}

// DiscardQueued reads and drops the datagrams queued in pc's socket, at
// most 65536 of them, without waiting, and returns how many there were.
func DiscardQueued(pc net.PacketConn) int {
	rc, err := syscallConn(pc)
	if err != nil {
		return 0
	}
	// Control, not Read: a serving loop may be blocked reading, holding
	// the descriptor's read lock; the kernel lets both read.
	n := 0
	rc.Control(func(fd uintptr) { n = discard(int(fd), 1<<16) })
	return n
}

// TryWrite writes to a stream connection what its socket takes at once,
// without waiting for room: n bytes, and the error of the write (none when
// the socket is merely full). ok is false where that cannot be done (no
// descriptor, or a system whose sockets are not non-blocking descriptors,
// such as Windows): then nothing was written.
//
// Like any write, it waits for another write on c in progress: call it
// where none is.
func TryWrite(c net.Conn, p []byte) (n int, ok bool, err error) {
	rc, rerr := syscallConn(c)
	if rerr != nil || !canWriteNow {
		return 0, false, nil
	}
	rerr = rc.Write(func(fd uintptr) bool {
		n, err = writeNow(int(fd), p)
		return true // never wait
	})
	if err == nil {
		err = rerr
	}
	return n, true, err
}

// SetKeepAliveConn sets the keep-alive of a TCP connection.
func SetKeepAliveConn(c net.Conn, k KeepAlive) error {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil
	}
	if !k.Enable {
		return tc.SetKeepAlive(false)
	}
	return tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: k.Idle, Interval: k.Interval, Count: k.Count})
}

func isUnix(network string) bool {
	return network == "unix" || network == "unixgram" || network == "unixpacket"
}
