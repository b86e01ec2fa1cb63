//go:build !unix

package sockopt

import "fmt"

func apply(fd int, o Options) error {
	return fmt.Errorf("%w: ReusePort, NoReuseAddr, socket file modes and buffer sizes on this platform", ErrUnsupported)
}

func setBuffers(int, Buffers) error {
	return fmt.Errorf("%w: socket buffer sizes on this platform", ErrUnsupported)
}
func granted(int) (Buffers, error)       { return Buffers{}, ErrUnsupported }
func listen(int, int) error              { return fmt.Errorf("%w: Backlog on this platform", ErrUnsupported) }
func peekDatagram(int) (queued, ok bool) { return false, false }
func discard(int, int) int               { return 0 }

// UnreadFD cannot tell on this platform, and says none.
func UnreadFD(int) int { return 0 }

// DupNonblock is not supported on this platform.
func DupNonblock(any) (int, error) { return -1, ErrUnsupported }

// SetKeepAliveFD is not supported on this platform.
func SetKeepAliveFD(int, KeepAlive) error { return ErrUnsupported }

// canWriteNow: sockets are not non-blocking descriptors on this platform.
const canWriteNow = false

func writeNow(int, []byte) (int, error) { return 0, ErrUnsupported }
