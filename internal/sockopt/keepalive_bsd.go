//go:build dragonfly || freebsd || netbsd

package sockopt

import (
	"errors"

	"golang.org/x/sys/unix"
)

func setKeepTimers(fd int, k KeepAlive) error {
	return errors.Join(
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, seconds(k.Idle)),
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, seconds(k.Interval)),
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPCNT, max(k.Count, 1)),
	)
}
