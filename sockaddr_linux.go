//go:build linux && !socketserver_portable

package socketserver

import (
	"net"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rawToAddr converts an address the kernel wrote (accept, recvfrom) to the
// net package's type for the network, without the unix.Sockaddr between.
func rawToAddr(network string, rsa *unix.RawSockaddrAny) net.Addr {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		a := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return ipAddr(network, a.Addr[:], int(ntohs(a.Port)), 0)
	case unix.AF_INET6:
		a := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		return ipAddr(network, a.Addr[:], int(ntohs(a.Port)), a.Scope_id)
	case unix.AF_UNIX:
		a := (*unix.RawSockaddrUnix)(unsafe.Pointer(rsa))
		path := unsafe.Slice((*byte)(unsafe.Pointer(&a.Path[0])), len(a.Path))
		n := 0
		if path[0] == 0 && path[1] != 0 {
			n = 1 // abstract: shown with a leading @, as the net package does
		}
		for n < len(path) && path[n] != 0 {
			n++
		}
		name := string(path[:n])
		if n > 0 && path[0] == 0 {
			name = "@" + name[1:]
		}
		return peerAddr(network, &net.UnixAddr{Name: name, Net: network})
	}
	return peerAddr(network, nil)
}

// ipAddr makes a *net.TCPAddr or *net.UDPAddr. The address and its IP are
// one allocation: an idle connection keeps only what it needs. The IP keeps
// the length the kernel gave (4 for an IPv4 socket, 16 for IPv6), as the
// net package's addresses do, and so tells a reply's family (addrToRaw).
func ipAddr(network string, ip []byte, port int, zoneID uint32) net.Addr {
	var zone string
	if zoneID != 0 {
		zone = strconv.Itoa(int(zoneID))
	}
	if network == "udp" || network == "udp4" || network == "udp6" {
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

// addrToRaw writes a datagram peer's address, as rawToAddr made it, for
// sendto, and returns its size; false if it has none to send to.
func addrToRaw(a net.Addr, rsa *unix.RawSockaddrAny) (uint32, bool) {
	switch a := a.(type) {
	case *net.UDPAddr:
		if len(a.IP) == net.IPv4len {
			r := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
			*r = unix.RawSockaddrInet4{Family: unix.AF_INET, Port: htons(uint16(a.Port))}
			copy(r.Addr[:], a.IP)
			return unix.SizeofSockaddrInet4, true
		}
		r := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		*r = unix.RawSockaddrInet6{Family: unix.AF_INET6, Port: htons(uint16(a.Port))}
		copy(r.Addr[:], a.IP)
		if a.Zone != "" {
			id, _ := strconv.Atoi(a.Zone)
			r.Scope_id = uint32(id)
		}
		return unix.SizeofSockaddrInet6, true
	case *net.UnixAddr:
		r := (*unix.RawSockaddrUnix)(unsafe.Pointer(rsa))
		*r = unix.RawSockaddrUnix{Family: unix.AF_UNIX}
		name := a.Name
		if len(name) == 0 || len(name) >= len(r.Path) {
			return 0, false
		}
		for i := range len(name) {
			r.Path[i] = int8(name[i])
		}
		size := uint32(unsafe.Offsetof(r.Path)) + uint32(len(name))
		if name[0] == '@' {
			r.Path[0] = 0 // abstract: no terminating NUL counts
		} else {
			size++ // the NUL
		}
		return size, true
	}
	return 0, false
}

// htons and ntohs convert a port between the host's byte order and the
// network's, whatever the host's: they read the value's bytes.
func htons(v uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&v))
	return uint16(b[0])<<8 | uint16(b[1])
}

func ntohs(v uint16) uint16 { return htons(v) }
