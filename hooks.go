package socketserver

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
)

// A ConnState is a state of a request, reported to Server.ConnState.
type ConnState int

// The states a request goes through: New, then Active unless it is
// rejected, then Closed.
const (
	// StateNew is a request just accepted (a connection, or a datagram
	// read), before VerifyRequest.
	StateNew ConnState = iota
	// StateActive is a request whose handler is about to run.
	StateActive
	// StateClosed is a request that has ended: served, rejected, or
	// dropped because the server closed before its turn came.
	StateClosed
)

var connStateNames = [...]string{
	StateNew:    "new",
	StateActive: "active",
	StateClosed: "closed",
}

// String returns "new", "active" or "closed".
func (c ConnState) String() string {
	if c >= 0 && int(c) < len(connStateNames) {
		return connStateNames[c]
	}
	return fmt.Sprintf("ConnState(%d)", int(c))
}

// LogError is the default HandleError: it logs err to the server's Logger
// with the client's address, and a panic with its stack. Errors that are
// the ordinary end of a conversation (the client went away, a timeout,
// the server closed the connection) are logged at Debug level, others at
// Error level. A HandleError hook may call it to keep the default logging.
func (s *Server) LogError(remote net.Addr, err error) {
	s.logError(s.logger(), remote, err)
}

// logError is LogError to log, which may carry the request's ID.
func (s *Server) logError(log *slog.Logger, remote net.Addr, err error) {
	var pe *PanicError
	switch {
	case errors.As(err, &pe):
		log.Error("socketserver: panic serving request", "remote", addrString(remote), "panic", fmt.Sprint(pe.Value), "stack", string(pe.Stack))
	case isRoutine(err):
		log.Debug("socketserver: request ended", "remote", addrString(remote), "err", err)
	default:
		log.Error("socketserver: error serving request", "remote", addrString(remote), "err", err)
	}
}

func addrString(a net.Addr) string {
	if a == nil {
		return ""
	}
	return a.String()
}

// AllowNetworks returns a VerifyRequest hook that admits clients whose IP
// address lies in one of the prefixes, and rejects all others (including
// Unix-socket clients, which have no IP address).
func AllowNetworks(prefixes ...netip.Prefix) func(r *Request) bool {
	return func(r *Request) bool {
		ip, ok := addrIP(r.RemoteAddr)
		if !ok {
			return false
		}
		for _, p := range prefixes {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	}
}

// addrIP returns the IP address of a TCP or UDP address, without an
// IPv4-in-IPv6 wrapping.
func addrIP(a net.Addr) (netip.Addr, bool) {
	var ip netip.Addr
	switch a := a.(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.UDPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	default:
		return netip.Addr{}, false
	}
	return ip.Unmap(), ip.IsValid()
}
