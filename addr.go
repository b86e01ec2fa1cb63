package socketserver

import "net"

// UnnamedAddr is the address of a Unix-domain client that never bound its
// socket to a path. A Request from such a client has an UnnamedAddr as its
// RemoteAddr, never nil: Net is "unix", "unixpacket" or "unixgram".
//
// A stream client is served as usual. A datagram client cannot be replied
// to: a reply to it is reported to HandleError as ErrUnnamedPeer.
// (Python's socketserver gives ” and None here, and crashes replying.)
type UnnamedAddr struct {
	Net string
}

// Network returns the Unix network the client used.
func (a UnnamedAddr) Network() string { return a.Net }

// String returns "(unnamed)".
func (a UnnamedAddr) String() string { return "(unnamed)" }

// peerAddr returns addr, or an UnnamedAddr if addr is the empty address
// the kernel gives an unbound Unix client (Go shows it as nil for
// datagrams and as "@" for streams).
func peerAddr(network string, addr net.Addr) net.Addr {
	switch a := addr.(type) {
	case nil:
		return UnnamedAddr{Net: network}
	case *net.UnixAddr:
		if a == nil || a.Name == "" || a.Name == "@" {
			return UnnamedAddr{Net: network}
		}
	}
	return addr
}
