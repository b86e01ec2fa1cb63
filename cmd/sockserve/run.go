package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/sockurl"
)

// run binds every listener, announces them, serves until a signal or a
// failure, and shuts down.
func run(cfg *config, stdout, stderr io.Writer) error {
	logger, quiet := newLogger(cfg.logFormat, stderr)
	defer quiet.close() // after the servers: the last count of handshake failures
	f, err := newFleet(cfg, logger)
	if err != nil {
		return err
	}
	defer f.close()
	if network, addr, ok := socketserver.ChildAddr(); ok {
		// A child of fork or prefork mode serves for one of its server's
		// sockets, and binds nothing: the server owns them all, whether
		// it bound them or inherited them (systemd, a restart). Its
		// ListenAndServe ends the process when the work is done.
		return f.newServer(network, addr).ListenAndServe()
	}
	if err := f.bind(); err != nil {
		return err
	}
	stop := notifyStop()
	defer stop.stop()
	f.announce(stdout)
	return f.serve(stop)
}

// A fleet is the servers sockserve runs, one per socket, and what they
// share: the TLS configuration, the admin endpoint, the restarter. close
// is the one way everything is released, whichever step failed.
type fleet struct {
	cfg     *config
	logger  *slog.Logger
	mode    socketserver.Mode
	tls     *tls.Config
	admin   *adminServer // nil without -admin
	restart *restarter   // nil without -restartable
	program *superserver // runs the program; nil with -service
	reload  func()       // stops reloading the certificate on SIGHUP; nil without TLS

	members []member // in the order of -listen
}

// A member is one socket's server, bound and not yet serving.
type member struct {
	srv   *socketserver.Server
	url   string       // the bound address
	serve func() error // ListenAndServe, Serve or ServePacket
	sock  io.Closer    // a socket bound outside srv, which srv closes only once it serves it
}

// newFleet sets up what the servers share. On error, nothing is left
// open.
func newFleet(cfg *config, logger *slog.Logger) (_ *fleet, err error) {
	f := &fleet{cfg: cfg, logger: logger}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	f.mode, _ = parseMode(cfg)
	maxLine = cfg.maxLine
	if ev, ok := f.mode.(socketserver.Event); ok {
		ev.MaxInput = cfg.maxLine
		f.mode = ev
	}
	tlsCfg, certs, err := cfg.tlsConfig()
	if err != nil {
		return nil, err
	}
	f.tls = tlsCfg
	if certs != nil {
		f.reload = reloadOnSIGHUP(certs, logger)
	}
	if cfg.admin != "" && !socketserver.IsChild() {
		if f.admin, err = newAdmin(cfg.admin, cfg.adminTimeout); err != nil {
			return nil, err
		}
		if f.admin.public() {
			logger.Warn("sockserve: the admin endpoint is open to other hosts, without authentication: bind -admin to 127.0.0.1 or firewall it",
				"admin", f.admin.url)
		}
	}
	if cfg.program != nil {
		relay := cfg.idleTimeout > 0 || cfg.readTimeout > 0 || cfg.writeTimeout > 0 || cfg.firstByteTimeout > 0
		f.program = newSuperserver(cfg.program, cfg.maxChildren, relay, logger)
		if f.admin != nil {
			st, err := f.admin.instrumentPrograms(f.program.count)
			if err != nil {
				return nil, err
			}
			f.program.setStats(st)
		}
	}
	if cfg.restartable && !socketserver.IsChild() {
		if f.restart, err = newRestarter(cfg.pidFile, logger); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// close closes every server and releases what they shared. It is safe
// after a shutdown, which leaves nothing for Close to do.
func (f *fleet) close() {
	if f.program != nil {
		f.program.kill() // any left: a server that failed to start, say
	}
	for _, m := range f.members {
		m.srv.Close()
		if m.sock != nil {
			m.sock.Close()
		}
	}
	if f.reload != nil {
		f.reload()
	}
	if f.restart != nil {
		f.restart.stop()
	}
	if f.admin != nil {
		f.admin.close()
	}
}

// bind opens the sockets of every -listen URL: inherited ones, ones handed
// over by a previous process, or new ones.
func (f *fleet) bind() error {
	for _, l := range f.cfg.listen {
		var err error
		switch {
		case l.network == "systemd" || l.network == "fd":
			err = f.bindInherited(l)
		case f.restart != nil:
			err = f.bindRestartable(l)
		default:
			err = f.bindNew(l)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (f *fleet) bindInherited(l listenURL) error {
	socks, err := inheritedSockets(l.network, l.address)
	if err != nil {
		return fmt.Errorf("%s: %w", sockurl.String(l.network, l.address), err)
	}
	for _, sock := range socks { // every one a member, so that close closes it
		if err := modeServes(f.cfg.mode, sock.network()); err != nil {
			for _, s := range socks {
				s.close()
			}
			return fmt.Errorf("%s: %w", sockurl.String(l.network, l.address), err)
		}
	}
	for _, sock := range socks {
		srv := f.newServer(sock.network(), sock.addr().String())
		if sock.pc != nil {
			f.add(srv, sock.network(), sock.addr(), func() error { return srv.ServePacket(sock.pc) }, sock.pc)
		} else {
			f.add(srv, sock.network(), sock.addr(), func() error { return srv.Serve(sock.ln) }, sock.ln)
		}
	}
	for _, m := range f.members[len(f.members)-len(socks):] {
		if err := f.instrument(m); err != nil {
			return err
		}
	}
	return nil
}

func (f *fleet) bindRestartable(l listenURL) error {
	ln, pc, err := f.restart.listen(l.network, l.address)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", sockurl.String(l.network, l.address), err)
	}
	srv := f.newServer(l.network, l.address)
	if pc != nil {
		f.add(srv, l.network, pc.LocalAddr(), func() error { return srv.ServePacket(pc) }, pc)
	} else {
		f.add(srv, l.network, ln.Addr(), func() error { return srv.Serve(ln) }, ln)
	}
	return f.instrument(f.members[len(f.members)-1])
}

func (f *fleet) bindNew(l listenURL) error {
	srv := f.newServer(l.network, l.address)
	addr, err := srv.Listen()
	if err != nil {
		return fmt.Errorf("listen on %s: %w", sockurl.String(l.network, l.address), err)
	}
	f.add(srv, l.network, addr, srv.ListenAndServe, nil)
	return f.instrument(f.members[len(f.members)-1])
}

// newServer configures the server of one socket.
func (f *fleet) newServer(network, address string) *socketserver.Server {
	srv := &socketserver.Server{
		Network:     network,
		Addr:        address,
		Mode:        f.mode,
		Logger:      f.logger,
		IdleTimeout: f.cfg.idleTimeout,
	}
	if f.program != nil {
		srv.Handler = f.program
	} else {
		srv.Handler, srv.EventHandler = services[f.cfg.service].handler, services[f.cfg.service].events
	}
	if len(f.cfg.allow) > 0 {
		srv.VerifyRequest = socketserver.AllowNetworks(f.cfg.allow...)
	}
	f.cfg.production.applySockets(srv)
	if isStreamNetwork(network) {
		f.cfg.production.apply(srv, f.tls)
	}
	return srv
}

// add makes srv, bound at addr on network, a member: from here on close
// closes it, and its socket.
func (f *fleet) add(srv *socketserver.Server, network string, addr net.Addr, serve func() error, sock io.Closer) {
	url := sockurl.String(network, addr.String())
	f.members = append(f.members, member{srv: srv, url: url, serve: serve, sock: sock})
}

// instrument exports a member's metrics, with -admin.
func (f *fleet) instrument(m member) error {
	if f.admin == nil {
		return nil
	}
	return f.admin.instrument(m.srv, m.url)
}

// announce prints a "listening on URL" line for each socket. A fork
// child or prefork worker says nothing.
func (f *fleet) announce(stdout io.Writer) {
	if socketserver.IsChild() {
		return
	}
	what := slog.String("service", f.cfg.service)
	if f.cfg.program != nil {
		what = slog.String("program", f.cfg.program.String())
	}
	f.logger.Info("sockserve: serving", what, slog.String("mode", f.mode.String()), slog.Int("listeners", len(f.members)))
	for _, m := range f.members {
		fmt.Fprintf(stdout, "listening on %s\n", m.url)
	}
	if f.admin != nil {
		fmt.Fprintf(stdout, "admin on %s\n", f.admin.url)
	}
	if s, ok := stdout.(interface{ Sync() error }); ok {
		s.Sync()
	}
}

func isStreamNetwork(network string) bool {
	switch network {
	case "tcp", "tcp4", "tcp6", "unix", "unixpacket":
		return true
	}
	return false
}
