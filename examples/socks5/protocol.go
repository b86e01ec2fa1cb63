package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
)

// SOCKS version 5 (RFC 1928) and its username/password subnegotiation
// (RFC 1929).
const (
	version5    = 0x05
	authVersion = 0x01

	methodNoAuth       = 0x00
	methodUserPass     = 0x02
	methodNoAcceptable = 0xFF

	cmdConnect      = 0x01
	cmdBind         = 0x02
	cmdUDPAssociate = 0x03

	atypIPv4   = 0x01
	atypDomain = 0x03
	atypIPv6   = 0x04
)

// Reply codes (RFC 1928 section 6).
const (
	repSucceeded           = 0x00
	repGeneralFailure      = 0x01
	repNotAllowed          = 0x02
	repNetworkUnreachable  = 0x03
	repHostUnreachable     = 0x04
	repConnectionRefused   = 0x05
	repTTLExpired          = 0x06
	repCommandNotSupported = 0x07
	repAddrNotSupported    = 0x08
)

// A requestError is a bad request, with the reply code that tells the
// client why.
type requestError struct {
	code byte
	msg  string
}

func (e *requestError) Error() string { return "socks5: " + e.msg }

var errVersion = errors.New("socks5: not SOCKS version 5")

// readGreeting reads the client's greeting and returns the methods it
// offers.
func readGreeting(r io.Reader) ([]byte, error) {
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, fmt.Errorf("socks5: greeting: %w", err)
	}
	if head[0] != version5 {
		return nil, errVersion
	}
	if head[1] == 0 {
		return nil, errors.New("socks5: greeting offers no method")
	}
	methods := make([]byte, head[1])
	if _, err := io.ReadFull(r, methods); err != nil {
		return nil, fmt.Errorf("socks5: greeting: %w", err)
	}
	return methods, nil
}

// readUserPass reads an RFC 1929 username/password request.
func readUserPass(r io.Reader) (user, pass string, err error) {
	var ver [1]byte
	if _, err := io.ReadFull(r, ver[:]); err != nil {
		return "", "", fmt.Errorf("socks5: authentication: %w", err)
	}
	if ver[0] != authVersion {
		return "", "", fmt.Errorf("socks5: authentication version %d, want 1", ver[0])
	}
	read := func() (string, error) {
		var n [1]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return "", err
		}
		if n[0] == 0 {
			return "", errors.New("empty field")
		}
		b := make([]byte, n[0])
		_, err := io.ReadFull(r, b)
		return string(b), err
	}
	if user, err = read(); err != nil {
		return "", "", fmt.Errorf("socks5: username: %w", err)
	}
	if pass, err = read(); err != nil {
		return "", "", fmt.Errorf("socks5: password: %w", err)
	}
	return user, pass, nil
}

// A request is a client's CONNECT (or other) request.
type request struct {
	cmd  byte
	host string // an IP address or a domain name
	port uint16
	ip   netip.Addr // set when host is an address
}

func (q request) address() string { return net.JoinHostPort(q.host, strconv.Itoa(int(q.port))) }

// readRequest reads a request. A *requestError carries the reply to send.
func readRequest(r io.Reader) (request, error) {
	var q request
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return q, fmt.Errorf("socks5: request: %w", err)
	}
	if head[0] != version5 {
		return q, errVersion
	}
	if head[2] != 0 {
		return q, &requestError{repGeneralFailure, "reserved byte is not zero"}
	}
	q.cmd = head[1]
	switch head[3] {
	case atypIPv4, atypIPv6:
		b := make([]byte, 4)
		if head[3] == atypIPv6 {
			b = make([]byte, 16)
		}
		if _, err := io.ReadFull(r, b); err != nil {
			return q, fmt.Errorf("socks5: request: %w", err)
		}
		q.ip, _ = netip.AddrFromSlice(b)
		q.host = q.ip.String()
	case atypDomain:
		var n [1]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return q, fmt.Errorf("socks5: request: %w", err)
		}
		name := make([]byte, n[0])
		if _, err := io.ReadFull(r, name); err != nil {
			return q, fmt.Errorf("socks5: request: %w", err)
		}
		if err := checkDomain(name); err != nil {
			return q, &requestError{repHostUnreachable, err.Error()}
		}
		q.host = string(name)
		if ip, err := netip.ParseAddr(q.host); err == nil {
			q.ip = ip // some clients send literal addresses as names
		}
	default:
		return q, &requestError{repAddrNotSupported, fmt.Sprintf("address type %d", head[3])}
	}
	var port [2]byte
	if _, err := io.ReadFull(r, port[:]); err != nil {
		return q, fmt.Errorf("socks5: request: %w", err)
	}
	q.port = binary.BigEndian.Uint16(port[:])
	if q.cmd != cmdConnect {
		return q, &requestError{repCommandNotSupported, fmt.Sprintf("command %d not supported", q.cmd)}
	}
	return q, nil
}

// checkDomain accepts a host name of letters, digits, '-', '_' and dots.
func checkDomain(name []byte) error {
	if len(name) == 0 {
		return errors.New("empty host name")
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == ':'
		if !ok {
			return fmt.Errorf("bad host name %q", name)
		}
	}
	return nil
}

// appendReply appends a reply with code and the bound address (zero if
// bound is not valid).
func appendReply(b []byte, code byte, bound netip.AddrPort) []byte {
	b = append(b, version5, code, 0)
	addr := bound.Addr().Unmap()
	switch {
	case addr.Is6():
		b = append(b, atypIPv6)
		a := addr.As16()
		b = append(b, a[:]...)
	case addr.Is4():
		a := addr.As4()
		b = append(b, atypIPv4)
		b = append(b, a[:]...)
	default:
		b = append(b, atypIPv4, 0, 0, 0, 0)
	}
	return binary.BigEndian.AppendUint16(b, bound.Port())
}
