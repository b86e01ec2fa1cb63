package sockopt

import (
	"errors"

	"golang.org/x/sys/unix"
)

// Linux reports twice the buffer size it was asked for.
const reportedFactor = 2

// UnreadFD returns how many bytes wait in a stream socket's receive queue.
func UnreadFD(fd int) int {
	n, err := unix.IoctlGetInt(fd, unix.SIOCINQ)
	if err != nil {
		return 0
	}
	return n
}

func setKeepTimers(fd int, k KeepAlive) error {
	return errors.Join(
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, seconds(k.Idle)),
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, seconds(k.Interval)),
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPCNT, max(k.Count, 1)),
	)
}
