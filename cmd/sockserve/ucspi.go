package main

import (
	"crypto/tls"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/proxy"
	"github.com/socketserver-go/socketserver/tlsconn"
)

// The environment a program is given describes its client as UCSPI does
// (djb's tcpserver; ucspi-unix's unixserver; mod_ssl's SSL_ variables):
//
//	TCP:      PROTO=TCP  TCPREMOTEIP TCPREMOTEPORT TCPLOCALIP TCPLOCALPORT
//	UDP:      PROTO=UDP  UDPREMOTEIP UDPREMOTEPORT UDPLOCALIP UDPLOCALPORT
//	Unix:     PROTO=UNIX UNIXREMOTEPID UNIXREMOTEUID UNIXREMOTEGID (the peer's
//	          credentials, on Linux), UNIXLOCALPATH; for a Unix datagram,
//	          UNIXREMOTEPATH if the sender bound one
//	TLS adds: SSL_PROTOCOL (TLSv1.3) SSL_CIPHER (IANA name) and, with a
//	          verified client certificate, SSL_CLIENT_S_DN (RFC 2253)
//
// Behind the PROXY protocol the addresses are the original client's and
// the address it connected to.

// baseEnv returns sockserve's environment without the variables a
// program is given: one inherited (from an outer tcpserver, say) must not
// stand beside, or for, the client's.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !isUCSPIVar(kv[:max(strings.IndexByte(kv, '='), 0)]) {
			env = append(env, kv)
		}
	}
	return env
}

func isUCSPIVar(name string) bool {
	if name == "PROTO" || strings.HasPrefix(name, "SSL_") {
		return true
	}
	for _, p := range []string{"TCP", "UDP", "UNIX"} {
		if rest, ok := strings.CutPrefix(name, p); ok && (strings.HasPrefix(rest, "REMOTE") || strings.HasPrefix(rest, "LOCAL")) {
			return true
		}
	}
	return false
}

// ucspiEnv returns base with the variables that describe r's client.
func ucspiEnv(base []string, r *socketserver.Request) []string {
	env := make([]string, len(base), len(base)+10)
	copy(env, base)
	switch r.LocalAddr.Network() {
	case "tcp", "tcp4", "tcp6":
		env = append(env, "PROTO=TCP")
		env = appendIP(env, "TCPREMOTE", r.RemoteAddr)
		env = appendIP(env, "TCPLOCAL", r.LocalAddr)
	case "udp", "udp4", "udp6":
		env = append(env, "PROTO=UDP")
		env = appendIP(env, "UDPREMOTE", r.RemoteAddr)
		env = appendIP(env, "UDPLOCAL", r.LocalAddr)
	case "unix", "unixpacket":
		env = append(env, "PROTO=UNIX", "UNIXLOCALPATH="+r.LocalAddr.String())
		if pid, uid, gid, ok := peerCredentials(rawConn(r.Conn)); ok {
			env = append(env, "UNIXREMOTEPID="+strconv.Itoa(pid), "UNIXREMOTEUID="+strconv.Itoa(uid), "UNIXREMOTEGID="+strconv.Itoa(gid))
		}
	case "unixgram":
		env = append(env, "PROTO=UNIX", "UNIXLOCALPATH="+r.LocalAddr.String())
		if ua, ok := r.RemoteAddr.(*net.UnixAddr); ok && ua.Name != "" {
			env = append(env, "UNIXREMOTEPATH="+ua.Name)
		}
	}
	if st := tlsconn.State(r); st != nil {
		env = append(env, "SSL_PROTOCOL="+sslProtocol(st.Version), "SSL_CIPHER="+tls.CipherSuiteName(st.CipherSuite))
		if len(st.VerifiedChains) > 0 {
			env = append(env, "SSL_CLIENT_S_DN="+st.PeerCertificates[0].Subject.String())
		}
	}
	return env
}

// appendIP appends prefix+"IP" and prefix+"PORT" for an IP address; an
// IPv4 address mapped into IPv6 is given as IPv4.
func appendIP(env []string, prefix string, a net.Addr) []string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return env // not an IP address: a PROXY header's LOCAL or UNIX addresses
	}
	return append(env, prefix+"IP="+ap.Addr().Unmap().WithZone("").String(), prefix+"PORT="+strconv.Itoa(int(ap.Port())))
}

// sslProtocol names a TLS version as mod_ssl and OpenSSL do.
func sslProtocol(v uint16) string {
	switch v {
	case tls.VersionTLS12:
		return "TLSv1.2"
	case tls.VersionTLS13:
		return "TLSv1.3"
	}
	return tls.VersionName(v)
}

// rawConn returns the socket under c's TLS and PROXY protocol layers, nil
// if there is none (a datagram request).
func rawConn(c net.Conn) net.Conn {
	for {
		switch w := c.(type) {
		case *tls.Conn:
			c = w.NetConn()
		case *proxy.Conn:
			c = w.Conn
		default:
			return c
		}
	}
}
