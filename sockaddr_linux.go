//go:build linux && !socketserver_portable

package socketserver

import (
	"net"
	"strconv"

	"golang.org/x/sys/unix"
)

// sockaddrToAddr converts an address from the kernel to the net package's
// type for the network.
func sockaddrToAddr(network string, sa unix.Sockaddr) net.Addr {
	isUDP := network == "udp" || network == "udp4" || network == "udp6"
	var ip []byte
	var port int
	var zone string
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		ip, port = a.Addr[:], a.Port
	case *unix.SockaddrInet6:
		ip, port = a.Addr[:], a.Port
		if a.ZoneId != 0 {
			zone = strconv.Itoa(int(a.ZoneId))
		}
	case *unix.SockaddrUnix:
		return peerAddr(network, &net.UnixAddr{Name: a.Name, Net: network})
	default:
		return peerAddr(network, nil)
	}
	// The address and its IP in one allocation, which lets the kernel's
	// Sockaddr go: an idle connection keeps only what it needs.
	if isUDP {
		v := &struct {
			addr net.UDPAddr
			ip   [16]byte
		}{}
		v.addr = net.UDPAddr{IP: v.ip[:copy(v.ip[:], ip)], Port: port, Zone: zone}
		return &v.addr
	}
	v := &struct {
		addr net.TCPAddr
		ip   [16]byte
	}{}
	v.addr = net.TCPAddr{IP: v.ip[:copy(v.ip[:], ip)], Port: port, Zone: zone}
	return &v.addr
}
