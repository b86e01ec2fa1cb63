//go:build !linux

package socketserver

import "net"

// hasUnread cannot tell on this platform and says no: a connection with
// unread input is closed at once.
func hasUnread(net.Conn) bool { return false }
