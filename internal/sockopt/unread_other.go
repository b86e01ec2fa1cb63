//go:build unix && !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package sockopt

// The system reports the buffer size it granted.
const reportedFactor = 1

// UnreadFD cannot tell on this platform, and says none.
func UnreadFD(int) int { return 0 }
