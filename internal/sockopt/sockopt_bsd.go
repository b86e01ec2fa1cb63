//go:build darwin || dragonfly || freebsd || netbsd || openbsd

package sockopt

import "golang.org/x/sys/unix"

// The BSDs report the buffer size they granted.
const reportedFactor = 1

// fionread is FIONREAD, _IOR('f', 127, int), on the BSDs and macOS.
const fionread = 0x4004667f

// UnreadFD returns how many bytes wait in a stream socket's receive queue.
func UnreadFD(fd int) int {
	n, err := unix.IoctlGetInt(fd, fionread)
	if err != nil {
		return 0
	}
	return n
}
