// Package proxy reads the PROXY protocol header (versions 1 and 2) that a
// load balancer such as HAProxy sends ahead of each connection, so that a
// socketserver.Server sees the original client's address instead of the
// balancer's: in VerifyRequest, in the handler (r.RemoteAddr), in
// MaxConnsPerIP and in the logs.
//
//	p := &proxy.Protocol{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
//	srv := &socketserver.Server{Addr: ":9999", Handler: h, WrapConn: p.Wrap}
//
// In Event mode, where a connection must not be read from a callback, the
// header is read by the event loop: set Event{Preamble: p.Preamble}.
//
// Headers are taken only from trusted upstreams: anyone else could claim
// any address. The parsing is github.com/pires/go-proxyproto's.
package proxy

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

	proxyproto "github.com/pires/go-proxyproto"

	"github.com/socketserver-go/socketserver"
)

// A Policy says what to do with a connection from an upstream that is not
// trusted.
type Policy int

const (
	// Reject closes connections from untrusted upstreams.
	Reject Policy = iota
	// Ignore serves connections from untrusted upstreams as they are,
	// with their own address, without reading a header: a header they send
	// is part of their request.
	Ignore
)

// Protocol is a Server's PROXY protocol configuration. Its Wrap method is
// the Server's WrapConn.
type Protocol struct {
	// Trusted are the upstreams (load balancers) whose headers are
	// believed. Each connection from them must start with a header.
	Trusted []netip.Prefix

	// Untrusted is what happens to a connection from anywhere else.
	Untrusted Policy
}

// Errors Wrap returns; the Server reports them and closes the connection.
var (
	ErrUntrusted = errors.New("proxy: connection from an untrusted upstream")
	ErrNoHeader  = errors.New("proxy: no PROXY protocol header from a trusted upstream")
)

// Wrap reads the header of a connection from a trusted upstream and
// returns the connection as the client's: RemoteAddr is the client's
// address, LocalAddr the address it connected to. A LOCAL header (the
// balancer's own health check) keeps the connection's own addresses.
func (p *Protocol) Wrap(c net.Conn) (net.Conn, error) {
	if !p.trusts(c.RemoteAddr()) {
		if p.Untrusted == Ignore {
			return c, nil
		}
		return nil, fmt.Errorf("%w: %v", ErrUntrusted, c.RemoteAddr())
	}
	// The Server's HandshakeTimeout bounds the wait (a deadline on c).
	br := bufio.NewReader(c)
	h, err := proxyproto.Read(br)
	var ne net.Error
	switch {
	case errors.Is(err, proxyproto.ErrNoProxyProtocol):
		return nil, fmt.Errorf("%w (%v)", ErrNoHeader, c.RemoteAddr())
	case errors.As(err, &ne) && ne.Timeout():
		return nil, fmt.Errorf("%w in time (%v): %w", ErrNoHeader, c.RemoteAddr(), err)
	case err != nil:
		return nil, fmt.Errorf("proxy: malformed header from %v: %w", c.RemoteAddr(), err)
	}
	pc := &Conn{Conn: c, r: br, remote: c.RemoteAddr(), local: c.LocalAddr(), Header: headerOf(h)}
	if h.Command.IsProxy() && h.SourceAddr != nil && h.DestinationAddr != nil {
		pc.remote, pc.local = h.SourceAddr, h.DestinationAddr
	}
	return pc, nil
}

func (p *Protocol) trusts(a net.Addr) bool {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return false // a Unix socket peer has no IP to trust
	}
	ip := ap.Addr().Unmap()
	for _, prefix := range p.Trusted {
		if prefix.Contains(ip) {
			return true
		}
	}
	return false
}

// A Conn is a connection that came with a PROXY protocol header.
type Conn struct {
	net.Conn
	Header Header // the header as it came, with any TLVs

	r             *bufio.Reader // holds what followed the header
	remote, local net.Addr
}

// Read reads the client's bytes that followed the header.
func (c *Conn) Read(p []byte) (int, error) {
	if c.r != nil {
		if c.r.Buffered() > 0 {
			return c.r.Read(p)
		}
		c.r = nil // drained: read the connection directly from now on
	}
	return c.Conn.Read(p)
}

// RemoteAddr returns the client's address, from the header.
func (c *Conn) RemoteAddr() net.Addr { return c.remote }

// LocalAddr returns the address the client connected to, from the header.
func (c *Conn) LocalAddr() net.Addr { return c.local }

// CloseWrite half-closes the connection, if the underlying one can.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

// Preamble reads the header for a Server in Event mode: set it as
// socketserver.Event's Preamble. It takes the same decisions as Wrap:
// headers from trusted upstreams only, Untrusted for the others.
func (p *Protocol) Preamble(in []byte, remote, local net.Addr) (int, net.Addr, net.Addr, error) {
	if !p.trusts(remote) {
		if p.Untrusted == Ignore {
			return 0, nil, nil, nil
		}
		return 0, nil, nil, fmt.Errorf("%w: %v", ErrUntrusted, remote)
	}
	if incomplete(in) {
		return 0, nil, nil, socketserver.ErrPreambleIncomplete
	}
	rd := bytes.NewReader(in)
	br := bufio.NewReaderSize(rd, len(in)+16)
	h, err := proxyproto.Read(br)
	switch {
	case errors.Is(err, proxyproto.ErrNoProxyProtocol):
		return 0, nil, nil, fmt.Errorf("%w (%v)", ErrNoHeader, remote)
	case err != nil:
		return 0, nil, nil, fmt.Errorf("proxy: malformed header from %v: %w", remote, err)
	}
	n := len(in) - br.Buffered() - rd.Len()
	if !h.Command.IsProxy() || h.SourceAddr == nil || h.DestinationAddr == nil {
		return n, nil, nil, nil // LOCAL: the balancer's own connection
	}
	return n, h.SourceAddr, h.DestinationAddr, nil
}

var (
	sigV1 = []byte("PROXY ")
	sigV2 = []byte("\r\n\r\n\x00\r\nQUIT\n")
)

// incomplete reports whether in is the start of a header that has not
// all arrived: a prefix of a signature, a version 1 line without its end
// (at most 107 bytes), or a version 2 header shorter than its length.
func incomplete(in []byte) bool {
	switch {
	case len(in) < len(sigV1) && bytes.HasPrefix(sigV1, in),
		len(in) < len(sigV2) && bytes.HasPrefix(sigV2, in):
		return true
	case bytes.HasPrefix(in, sigV1):
		return len(in) < 107 && !bytes.Contains(in, []byte("\r\n"))
	case bytes.HasPrefix(in, sigV2):
		return len(in) < 16 || len(in) < 16+int(binary.BigEndian.Uint16(in[14:16]))
	}
	return false
}
