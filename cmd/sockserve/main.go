// Command sockserve serves a built-in service over any socket transport in
// any concurrency mode of package socketserver.
//
//	sockserve -service NAME -listen URL [-listen URL ...] [flags]
//
// URLs are tcp://host:port, tcp4://, tcp6://[::1]:port, udp://, udp4://,
// udp6://, unix:///abs/path, unixgram:///abs/path, unixpacket:///abs/path;
// port 0 picks a free port. For each listener sockserve prints one line,
// "listening on URL", with the bound address, once it is ready to handle
// signals. SIGINT or SIGTERM shuts it down gracefully within -grace (a
// second signal forces it); it exits 0 after a clean shutdown.
//
// With -mode fork each request is served by a new sockserve process (the
// pid service shows it), at most -max-children at once, with -spares
// started ahead; with -mode prefork, -workers sockserve processes share
// the sockets. The first process stays the one to signal.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/cli"
	"github.com/socketserver-go/socketserver/internal/sockurl"
	"github.com/socketserver-go/socketserver/tlsconn"
)

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "sockserve: %v\n", err)
		os.Exit(2)
	}
	if err := run(cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "sockserve: %v\n", err)
		os.Exit(1)
	}
}

// config is what the command line asks for.
type config struct {
	service     string
	listen      []listenURL
	mode        string
	workers     int
	loops       int
	maxChildren int
	spares      int
	perChild    int
	idleTimeout time.Duration
	allow       []netip.Prefix
	logFormat   string
	grace       time.Duration
	production
}

type listenURL struct{ network, address string }

// parseFlags parses the command line. Errors are one line; -h prints the
// usage to usage and returns flag.ErrHelp.
func parseFlags(args []string, usage io.Writer) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("sockserve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.service, "service", "", "service to serve: "+strings.Join(serviceNames(), ", "))
	fs.Func("listen", "socket URL to serve on (repeatable), e.g. tcp://127.0.0.1:9999, udp6://[::1]:0, unix:///tmp/s.sock", func(s string) error {
		network, address, err := sockurl.Parse(s)
		if err != nil {
			return err
		}
		cfg.listen = append(cfg.listen, listenURL{network, address})
		return nil
	})
	fs.StringVar(&cfg.mode, "mode", "goroutine", "concurrency: "+strings.Join(modeNames, ", "))
	fs.IntVar(&cfg.workers, "workers", 0, "pool mode: worker goroutines (default 4 × GOMAXPROCS); prefork mode: worker processes (default GOMAXPROCS)")
	fs.IntVar(&cfg.loops, "loops", 0, "event loops in event mode (default GOMAXPROCS)")
	fs.IntVar(&cfg.maxChildren, "max-children", 40, "fork mode: most child processes alive at once")
	fs.IntVar(&cfg.spares, "spares", 0, "fork mode: started, idle children kept ready")
	fs.IntVar(&cfg.perChild, "requests-per-child", 1, "fork mode: requests a child serves before it exits")
	fs.DurationVar(&cfg.idleTimeout, "idle-timeout", 0, "close stream connections idle this long (0: never)")
	fs.Func("allow", "serve only clients in this CIDR (repeatable); others are rejected", func(s string) error {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("not a CIDR prefix: %q", s)
		}
		cfg.allow = append(cfg.allow, p.Masked())
		return nil
	})
	fs.StringVar(&cfg.logFormat, "log-format", "text", "log format on stderr: text or json")
	fs.DurationVar(&cfg.grace, "grace", 10*time.Second, "how long a graceful shutdown waits for requests in flight")
	cfg.production.flags(fs)

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(fs, usage)
			return nil, err
		}
		return nil, cli.OneLine(err)
	}
	switch {
	case fs.NArg() > 0:
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case cfg.service == "":
		return nil, fmt.Errorf("-service is required (one of %s)", strings.Join(serviceNames(), ", "))
	case len(cfg.listen) == 0:
		return nil, errors.New("-listen is required, e.g. -listen tcp://127.0.0.1:9999")
	case cfg.workers < 0:
		return nil, fmt.Errorf("-workers must not be negative, got %d", cfg.workers)
	case cfg.loops < 0:
		return nil, fmt.Errorf("-loops must not be negative, got %d", cfg.loops)
	case cfg.maxChildren < 1:
		return nil, fmt.Errorf("-max-children must be at least 1, got %d", cfg.maxChildren)
	case cfg.spares < 0 || cfg.spares > cfg.maxChildren:
		return nil, fmt.Errorf("-spares must be between 0 and -max-children (%d), got %d", cfg.maxChildren, cfg.spares)
	case cfg.perChild < 1:
		return nil, fmt.Errorf("-requests-per-child must be at least 1, got %d", cfg.perChild)
	case cfg.idleTimeout < 0 || cfg.grace < 0:
		return nil, errors.New("-idle-timeout and -grace must not be negative")
	case cfg.logFormat != "text" && cfg.logFormat != "json":
		return nil, fmt.Errorf("-log-format must be text or json, got %q", cfg.logFormat)
	}
	if err := cfg.production.check(); err != nil {
		return nil, err
	}
	if _, ok := services[cfg.service]; !ok {
		return nil, fmt.Errorf("unknown service %q (want one of %s)", cfg.service, strings.Join(serviceNames(), ", "))
	}
	if _, err := parseMode(cfg); err != nil {
		return nil, err
	}
	if cfg.restartable && (cfg.mode == "fork" || cfg.mode == "prefork") {
		return nil, fmt.Errorf("-restartable works in sync, goroutine, pool and event mode, not %s", cfg.mode)
	}
	return cfg, nil
}

func printUsage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "usage: sockserve -service NAME -listen URL [-listen URL ...] [flags]\n\nservices:\n")
	for _, name := range serviceNames() {
		fmt.Fprintf(w, "  %-8s %s\n", name, services[name].doc)
	}
	fmt.Fprintf(w, "\nflags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
}

func parseMode(cfg *config) (socketserver.Mode, error) {
	switch cfg.mode {
	case "sync":
		return socketserver.Sync{}, nil
	case "goroutine":
		return socketserver.Goroutine{}, nil
	case "pool":
		return socketserver.Pool{Workers: cfg.workers}, nil
	case "event":
		return socketserver.Event{Loops: cfg.loops}, nil
	case "fork":
		return socketserver.Fork{MaxChildren: cfg.maxChildren, Spares: cfg.spares, MaxRequestsPerChild: cfg.perChild}, nil
	case "prefork":
		return socketserver.Prefork{Workers: cfg.workers}, nil
	}
	return nil, fmt.Errorf("unknown -mode %q (want %s)", cfg.mode, strings.Join(modeNames, ", "))
}

var modeNames = []string{"sync", "goroutine", "pool", "event", "fork", "prefork"}

// run binds every listener, announces them, serves until a signal or a
// failure, and shuts down.
func run(cfg *config, stdout, stderr io.Writer) error {
	var handler slog.Handler = slog.NewTextHandler(stderr, nil)
	if cfg.logFormat == "json" {
		handler = slog.NewJSONHandler(stderr, nil)
	}
	logger := slog.New(handler)
	mode, _ := parseMode(cfg)
	maxLine = cfg.maxLine
	if ev, ok := mode.(socketserver.Event); ok {
		ev.MaxInput = cfg.maxLine
		mode = ev
	}
	tlsCfg, certs, err := cfg.tlsConfig()
	if err != nil {
		return err
	}
	var admin *adminServer
	if cfg.admin != "" && !socketserver.IsChild() {
		if admin, err = newAdmin(cfg.admin); err != nil {
			return err
		}
		go admin.serve(logger)
		defer admin.close()
	}

	var restart *restarter
	if cfg.restartable {
		if restart, err = newRestarter(cfg.pidFile, logger); err != nil {
			return err
		}
		defer restart.stop()
	}
	var (
		servers []*socketserver.Server
		urls    []string
		serves  []func() error // each server's ListenAndServe, Serve or ServePacket
	)
	closeAll := func() {
		for _, srv := range servers {
			srv.Close()
		}
	}
	newServer := func(network, address string) *socketserver.Server {
		srv := &socketserver.Server{
			Network:      network,
			Addr:         address,
			Handler:      services[cfg.service].handler,
			EventHandler: services[cfg.service].events,
			Mode:         mode,
			Logger:       logger,
			IdleTimeout:  cfg.idleTimeout,
		}
		if len(cfg.allow) > 0 {
			srv.VerifyRequest = socketserver.AllowNetworks(cfg.allow...)
		}
		if isStreamNetwork(network) {
			cfg.production.apply(srv, tlsCfg)
		}
		return srv
	}
	add := func(srv *socketserver.Server, url string, serve func() error) error {
		servers, urls, serves = append(servers, srv), append(urls, url), append(serves, serve)
		if admin != nil {
			return admin.instrument(srv, url)
		}
		return nil
	}
	for _, l := range cfg.listen {
		if l.network == "systemd" || l.network == "fd" {
			socks, err := inheritedSockets(l.network, l.address, cfg.mode)
			if err != nil {
				closeAll()
				return fmt.Errorf("%s: %w", sockurl.String(l.network, l.address), err)
			}
			for _, sock := range socks {
				srv := newServer(sock.network(), sock.addr().String())
				serve := func() error { return srv.Serve(sock.ln) }
				if sock.pc != nil {
					serve = func() error { return srv.ServePacket(sock.pc) }
				}
				if err := add(srv, sockurl.String(sock.network(), sock.addr().String()), serve); err != nil {
					closeAll()
					return err
				}
			}
			continue
		}
		srv := newServer(l.network, l.address)
		if restart != nil {
			ln, pc, err := restart.listen(l.network, l.address)
			if err != nil {
				closeAll()
				return fmt.Errorf("listen on %s: %w", sockurl.String(l.network, l.address), err)
			}
			serve, addr := func() error { return srv.Serve(ln) }, net.Addr(nil)
			if pc != nil {
				serve, addr = func() error { return srv.ServePacket(pc) }, pc.LocalAddr()
			} else {
				addr = ln.Addr()
			}
			if err := add(srv, sockurl.String(l.network, addr.String()), serve); err != nil {
				closeAll()
				return err
			}
			continue
		}
		addr, err := srv.Listen()
		if err != nil {
			closeAll()
			return fmt.Errorf("listen on %s: %w", sockurl.String(l.network, l.address), err)
		}
		if err := add(srv, sockurl.String(l.network, addr.String()), srv.ListenAndServe); err != nil {
			closeAll()
			return err
		}
	}

	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	if certs != nil {
		stop := reloadOnSIGHUP(certs, logger)
		defer stop()
	}

	served := make(chan error, len(servers))
	for i, serve := range serves {
		if !socketserver.IsChild() { // a fork child or prefork worker says nothing
			fmt.Fprintf(stdout, "listening on %s\n", urls[i])
		}
		go func() { served <- serve() }()
	}
	if f, ok := stdout.(interface{ Sync() error }); ok {
		f.Sync()
	}
	if restart != nil {
		if err := restart.ready(); err != nil {
			logger.Error("sockserve: telling the previous process to go", "err", err)
		}
	}

	var failure error
	running := len(servers)
	select {
	case <-restart.exit():
		logger.Info("sockserve: a new process took over; shutting down", "grace", cfg.grace)
	case sig := <-signals:
		logger.Info("sockserve: shutting down", "signal", sig.String(), "grace", cfg.grace)
		if admin != nil {
			admin.admin.SetReady(false)
			if cfg.drainDelay > 0 {
				logger.Info("sockserve: not ready; serving on while balancers notice", "drain_delay", cfg.drainDelay)
				select {
				case <-time.After(cfg.drainDelay):
				case <-signals: // a second signal: no more waiting
				}
			}
		}
	case err := <-served:
		failure = err // a listener failed: stop the others too
		running--
	}
	if err := shutdown(servers, cfg.grace, signals, logger); err != nil && failure == nil {
		failure = err
	}
	for range running { // each server has cleaned up: socket files removed
		<-served
	}
	return failure
}

// reloadOnSIGHUP reloads the TLS certificate on each SIGHUP, until stop.
func reloadOnSIGHUP(certs *tlsconn.CertFiles, logger *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		for {
			select {
			case <-hup:
				if err := certs.Reload(); err != nil {
					logger.Error("sockserve: reloading the TLS certificate failed; keeping the old one", "err", err)
				} else {
					logger.Info("sockserve: TLS certificate reloaded")
				}
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(hup)
		close(done)
		<-finished
	}
}

func isStreamNetwork(network string) bool {
	switch network {
	case "tcp", "tcp4", "tcp6", "unix", "unixpacket":
		return true
	}
	return false
}

// shutdown shuts every server down at once, within grace; a second signal
// forces them closed.
func shutdown(servers []*socketserver.Server, grace time.Duration, signals <-chan os.Signal, logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	go func() {
		select {
		case sig := <-signals:
			logger.Warn("sockserve: second signal: closing now", "signal", sig.String())
			cancel()
		case <-ctx.Done():
		}
	}()
	errs := make(chan error, len(servers))
	for _, srv := range servers {
		go func() { errs <- srv.Shutdown(ctx) }()
	}
	var err error
	for range servers {
		if e := <-errs; e != nil && err == nil {
			err = fmt.Errorf("shutdown did not finish within %v; connections were closed", grace)
		}
	}
	return err
}
