package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/socketserver-go/socketserver"
)

// A proxy is a SOCKS5 CONNECT proxy: a socketserver Handler serving one
// client connection per request.
type proxy struct {
	users            map[string]string // nil: no authentication
	rules            rules             // which destinations it connects to
	dialTimeout      time.Duration
	handshakeTimeout time.Duration
	idleTimeout      time.Duration // a relay with no data either way for this long ends; 0: never
	halfCloseTimeout time.Duration // once one side has ended, the other may be silent this long; 0: never
	resolver         *net.Resolver
}

// Handle runs the handshake, connects, and relays until both sides are
// done.
func (p *proxy) Handle(r *socketserver.Request) error {
	c := r.Conn
	c.SetDeadline(time.Now().Add(p.handshakeTimeout))
	upstream, err := p.handshake(r)
	if err != nil {
		return err
	}
	defer upstream.Close()
	c.SetDeadline(time.Time{})
	return p.relay(r, upstream)
}

var errAuthFailed = errors.New("socks5: authentication failed")

// handshake negotiates the method, authenticates, reads the request,
// connects, and replies. A failure has been answered as the RFCs say.
func (p *proxy) handshake(r *socketserver.Request) (*net.TCPConn, error) {
	methods, err := readGreeting(r.Reader)
	if err != nil {
		return nil, err
	}
	want := byte(methodNoAuth)
	if p.users != nil {
		want = methodUserPass
	}
	if !slices.Contains(methods, want) {
		r.Writer.Write([]byte{version5, methodNoAcceptable})
		return nil, fmt.Errorf("socks5: client offers methods %v, not %d", methods, want)
	}
	if _, err := r.Writer.Write([]byte{version5, want}); err != nil {
		return nil, err
	}
	if want == methodUserPass {
		user, pass, err := readUserPass(r.Reader)
		if err != nil {
			r.Writer.Write([]byte{authVersion, 1})
			return nil, err
		}
		stored, ok := p.users[user]
		if !ok || subtle.ConstantTimeCompare([]byte(stored), []byte(pass)) != 1 {
			r.Writer.Write([]byte{authVersion, 1})
			return nil, fmt.Errorf("%w for user %q", errAuthFailed, user)
		}
		if _, err := r.Writer.Write([]byte{authVersion, 0}); err != nil {
			return nil, err
		}
	}
	q, err := readRequest(r.Reader)
	if err != nil {
		var re *requestError
		if errors.As(err, &re) {
			r.Writer.Write(appendReply(nil, re.code, netip.AddrPort{}))
		}
		return nil, err
	}
	upstream, code, err := p.connect(r.Context(), q)
	if err != nil {
		r.Writer.Write(appendReply(nil, code, netip.AddrPort{}))
		return nil, fmt.Errorf("socks5: CONNECT %s: %w", q.address(), err)
	}
	bound := upstream.LocalAddr().(*net.TCPAddr).AddrPort()
	if _, err := r.Writer.Write(appendReply(nil, repSucceeded, bound)); err != nil {
		upstream.Close()
		return nil, err
	}
	return upstream, nil
}

// errNotAllowed is a destination the rules refuse.
var errNotAllowed = errors.New("destination not allowed")

// connect resolves the destination and dials its addresses in turn within
// the dial timeout. The rules are checked on each address as it is
// dialled (the dialer's Control hook), so what is checked is what is
// connected to. On failure it returns the reply code that says why.
func (p *proxy) connect(ctx context.Context, q request) (*net.TCPConn, byte, error) {
	ctx, cancel := context.WithTimeout(ctx, p.dialTimeout)
	defer cancel()
	ips := []netip.Addr{q.ip}
	if !q.ip.IsValid() {
		var err error
		if ips, err = p.resolver.LookupNetIP(ctx, "ip", q.host); err != nil {
			return nil, repHostUnreachable, err
		}
	}
	d := net.Dialer{Control: p.checkDial}
	var err error
	for _, ip := range ips {
		var c net.Conn
		if c, err = d.DialContext(ctx, "tcp", netip.AddrPortFrom(canonical(ip), q.port).String()); err == nil {
			return c.(*net.TCPConn), repSucceeded, nil
		}
	}
	return nil, replyCode(err), err
}

// checkDial is the dialer's Control hook: it refuses an address the rules
// do not allow, before the connection is attempted.
func (p *proxy) checkDial(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %q is not an address", errNotAllowed, address)
	}
	if !p.rules.allowed(ap.Addr()) {
		return fmt.Errorf("%w: %s", errNotAllowed, ap.Addr())
	}
	return nil
}

// replyCode maps a dial error to the RFC's reply.
func replyCode(err error) byte {
	switch {
	case errors.Is(err, errNotAllowed):
		return repNotAllowed
	case errors.Is(err, syscall.ECONNREFUSED):
		return repConnectionRefused
	case errors.Is(err, syscall.ENETUNREACH):
		return repNetworkUnreachable
	case errors.Is(err, syscall.EHOSTUNREACH):
		return repHostUnreachable
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded):
		return repTTLExpired
	}
	return repGeneralFailure
}
