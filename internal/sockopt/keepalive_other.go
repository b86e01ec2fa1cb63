//go:build unix && !linux && !darwin && !dragonfly && !freebsd && !netbsd

package sockopt

// setKeepTimers leaves the timers to the system, which (OpenBSD, Solaris,
// AIX) sets them for every socket at once: keep-alive itself is on.
func setKeepTimers(int, KeepAlive) error { return nil }
