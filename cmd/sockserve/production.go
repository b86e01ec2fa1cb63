package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/proxy"
	"github.com/socketserver-go/socketserver/tlsconn"
)

// production holds the flags for serving in production: TLS, the PROXY
// protocol, limits and timeouts.
type production struct {
	tlsCert, tlsKey, tlsClientCA string
	tlsALPN                      string
	proxyProtocol                bool
	trustedProxies               []netip.Prefix
	proxyUntrusted               string
	maxConns, maxConnsPerIP      int
	firstByteTimeout             time.Duration
	readTimeout, writeTimeout    time.Duration
	maxLine                      int
	admin                        string
	adminTimeout                 time.Duration
	drainDelay                   time.Duration
	restartable                  bool
	pidFile                      string
	keepAlive, handshakeTimeout  time.Duration
	recvBuf, sendBuf             int
}

func (p *production) flags(fs *flag.FlagSet) {
	fs.StringVar(&p.tlsCert, "tls-cert", "", "serve stream listeners over TLS with this certificate (PEM; reloaded when it changes or on SIGHUP)")
	fs.StringVar(&p.tlsKey, "tls-key", "", "the key of -tls-cert (PEM)")
	fs.StringVar(&p.tlsClientCA, "tls-client-ca", "", "require client certificates signed by these CAs (PEM): mutual TLS")
	fs.StringVar(&p.tlsALPN, "tls-alpn", "", "comma-separated ALPN protocols to offer, in order of preference")
	fs.BoolVar(&p.proxyProtocol, "proxy-protocol", false, "read a PROXY protocol header (v1 or v2) from -trusted-proxy upstreams: the client's address is the original one")
	fs.Func("trusted-proxy", "a CIDR whose connections carry PROXY headers (repeatable)", func(s string) error {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("not a CIDR prefix: %q", s)
		}
		p.trustedProxies = append(p.trustedProxies, pfx.Masked())
		return nil
	})
	fs.StringVar(&p.proxyUntrusted, "proxy-untrusted", "reject", "with -proxy-protocol, connections from elsewhere: reject, or ignore (serve them without a header)")
	fs.IntVar(&p.maxConns, "max-conns", 0, "most stream connections served at once; more are closed at once (0: no limit)")
	fs.IntVar(&p.maxConnsPerIP, "max-conns-per-ip", 0, "most stream connections from one client IP; more are closed at once (0: no limit)")
	fs.DurationVar(&p.firstByteTimeout, "first-byte-timeout", 0, "close stream connections that send nothing within this time (0: never)")
	fs.DurationVar(&p.readTimeout, "read-timeout", 0, "bound each read of a stream connection (0: none)")
	fs.DurationVar(&p.writeTimeout, "write-timeout", 0, "bound each write to a stream connection: clients that do not read are cut off (0: none)")
	fs.DurationVar(&p.keepAlive, "keepalive", 0, "TCP keep-alive: probes after this long without traffic, every this long, 9 unanswered closing (0: 15s; negative: off)")
	fs.DurationVar(&p.handshakeTimeout, "handshake-timeout", 0, "bound a connection's PROXY header and TLS handshake, from its acceptance (0: 10s; negative: none)")
	fs.IntVar(&p.recvBuf, "rcvbuf", 0, "socket receive buffer to ask of the kernel, in bytes, for every listener (0: the system's; capped by net.core.rmem_max)")
	fs.IntVar(&p.sendBuf, "sndbuf", 0, "socket send buffer to ask of the kernel, in bytes (0: the system's; capped by net.core.wmem_max)")
	fs.IntVar(&p.maxLine, "max-line", 64<<10, "longest line the upper and pid services take, in bytes")
	fs.StringVar(&p.admin, "admin", "", "serve /metrics (Prometheus), /healthz and /readyz on this tcp:// URL")
	fs.DurationVar(&p.adminTimeout, "admin-timeout", 10*time.Second, "close admin connections idle this long, or this slow to send a request")
	fs.BoolVar(&p.restartable, "restartable", false, "on SIGUSR2, start a new sockserve that inherits the sockets, and shut down once it is ready: a restart without downtime")
	fs.StringVar(&p.pidFile, "pid-file", "", "with -restartable: write the serving process's PID here")
	fs.DurationVar(&p.drainDelay, "drain-delay", 0, "on SIGTERM, answer /readyz with 503 and keep serving this long before shutting down, so balancers stop sending first")
}

// check validates the production flags.
func (p *production) check() error {
	switch {
	case p.recvBuf < 0 || p.sendBuf < 0:
		return errors.New("-rcvbuf and -sndbuf must not be negative")
	case (p.tlsCert == "") != (p.tlsKey == ""):
		return errors.New("-tls-cert and -tls-key go together")
	case p.tlsClientCA != "" && p.tlsCert == "":
		return errors.New("-tls-client-ca needs -tls-cert and -tls-key")
	case p.tlsALPN != "" && p.tlsCert == "":
		return errors.New("-tls-alpn needs -tls-cert and -tls-key")
	case p.proxyProtocol && len(p.trustedProxies) == 0:
		return errors.New("-proxy-protocol needs at least one -trusted-proxy CIDR")
	case !p.proxyProtocol && len(p.trustedProxies) > 0:
		return errors.New("-trusted-proxy needs -proxy-protocol")
	case p.proxyUntrusted != "reject" && p.proxyUntrusted != "ignore":
		return fmt.Errorf("-proxy-untrusted must be reject or ignore, got %q", p.proxyUntrusted)
	case p.maxConns < 0 || p.maxConnsPerIP < 0:
		return errors.New("-max-conns and -max-conns-per-ip must not be negative")
	case p.firstByteTimeout < 0 || p.readTimeout < 0 || p.writeTimeout < 0:
		return errors.New("-first-byte-timeout, -read-timeout and -write-timeout must not be negative")
	case p.pidFile != "" && !p.restartable:
		return errors.New("-pid-file goes with -restartable")
	case p.adminTimeout <= 0:
		return errors.New("-admin-timeout must be positive")
	case p.drainDelay < 0:
		return errors.New("-drain-delay must not be negative")
	case p.drainDelay > 0 && p.admin == "":
		return errors.New("-drain-delay needs -admin: it is the time for balancers to see /readyz fail")
	case p.maxLine < 1:
		return fmt.Errorf("-max-line must be at least 1, got %d", p.maxLine)
	}
	return nil
}

// tlsConfig builds the TLS configuration, or returns nil without -tls-cert.
// The certificate is reloaded from its files when they change; certs is
// for reloading on SIGHUP.
func (p *production) tlsConfig() (cfg *tls.Config, certs *tlsconn.CertFiles, err error) {
	if p.tlsCert == "" {
		return nil, nil, nil
	}
	certs, err = tlsconn.LoadCertFiles(p.tlsCert, p.tlsKey)
	if err != nil {
		return nil, nil, fmt.Errorf("TLS certificate: %w", err)
	}
	cfg = &tls.Config{GetCertificate: certs.GetCertificate, MinVersion: tls.VersionTLS12}
	if p.tlsALPN != "" {
		cfg.NextProtos = strings.Split(p.tlsALPN, ",")
	}
	if p.tlsClientCA != "" {
		pem, err := os.ReadFile(p.tlsClientCA)
		if err != nil {
			return nil, nil, fmt.Errorf("client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("client CA: no certificate in %s", p.tlsClientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, certs, nil
}

// apply sets the production options on a server.
// applySockets sets what applies to every listener, stream or datagram.
func (p *production) applySockets(srv *socketserver.Server) {
	srv.KeepAlive = p.keepAlive
	srv.HandshakeTimeout = p.handshakeTimeout
	srv.SocketReceiveBuffer, srv.SocketSendBuffer = p.recvBuf, p.sendBuf
}

func (p *production) apply(srv *socketserver.Server, tlsCfg *tls.Config) {
	var wraps []func(net.Conn) (net.Conn, error) // the PROXY header first, then TLS
	if p.proxyProtocol {
		pp := &proxy.Protocol{Trusted: p.trustedProxies}
		if p.proxyUntrusted == "ignore" {
			pp.Untrusted = proxy.Ignore
		}
		if ev, ok := srv.Mode.(socketserver.Event); ok {
			ev.Preamble = pp.Preamble // the loop reads the header
			srv.Mode = ev
		} else {
			wraps = append(wraps, pp.Wrap)
		}
	}
	if ev, ok := srv.Mode.(socketserver.Event); ok && tlsCfg != nil {
		ev.Layer = tlsconn.Layer(tlsCfg) // the loop runs TLS
		srv.Mode = ev
	} else if tlsCfg != nil {
		wraps = append(wraps, tlsconn.Wrap(tlsCfg))
	}
	if len(wraps) > 0 {
		srv.WrapConn = socketserver.WrapConns(wraps...)
	}
	srv.MaxConns = p.maxConns
	srv.MaxConnsPerIP = p.maxConnsPerIP
	srv.FirstByteTimeout = p.firstByteTimeout
	srv.ReadTimeout = p.readTimeout
	srv.WriteTimeout = p.writeTimeout
}
