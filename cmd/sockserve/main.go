// Command sockserve serves a built-in service, or runs any program for
// each connection or datagram (a superserver, as inetd and tcpserver),
// over any socket transport in any concurrency mode of package
// socketserver.
//
//	sockserve -service NAME -listen URL [-listen URL ...] [flags]
//	sockserve [flags] -listen URL [-listen URL ...] [--] PROGRAM [ARG...]
//
// URLs are tcp://host:port, tcp4://, tcp6://[::1]:port, udp://, udp4://,
// udp6://, unix:///abs/path, unixgram:///abs/path, unixpacket:///abs/path;
// port 0 picks a free port. For each listener sockserve prints one line,
// "listening on URL", with the bound address, once every listener is
// bound and it is ready to handle signals (and "admin on URL" with
// -admin). SIGINT or SIGTERM shuts it down gracefully within -grace (a
// second signal forces it); it exits 0 after a clean shutdown.
//
// A program, run without a shell, gets each connection on its standard
// input and output (the socket itself, or, through TLS, the PROXY
// protocol or a timeout, a relay), or each datagram on its standard
// input, its standard output being the reply; its environment describes
// the client as UCSPI's tcpserver does (PROTO, TCPREMOTEIP, ...). At most
// -max-children run at once; at shutdown they get SIGTERM, then SIGKILL
// after -grace.
//
// With -mode fork each request is served by a new sockserve process (the
// pid service shows it), at most -max-children at once, with -spares
// started ahead; with -mode prefork, -workers sockserve processes share
// the sockets. The first process owns the sockets (bound, inherited from
// systemd, or handed over by -restartable) and stays the one to signal.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/cli"
	"github.com/socketserver-go/socketserver/internal/sockurl"
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
	if cfg.version {
		fmt.Println(version())
		return
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
	version     bool
	program     *program // what to run, if not a service
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
	fs.BoolVar(&cfg.version, "version", false, "print the version and exit")
	cfg.production.flags(fs)

	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(fs, usage)
			return nil, err
		}
		return nil, cli.OneLine(err)
	}
	if cfg.version {
		return cfg, nil
	}
	if err := cfg.parseProgram(fs, args); err != nil {
		return nil, err
	}
	switch {
	case cfg.service == "" && cfg.program == nil:
		return nil, fmt.Errorf("-service or a program is required (services: %s)", strings.Join(serviceNames(), ", "))
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
	if _, ok := services[cfg.service]; !ok && cfg.program == nil {
		return nil, fmt.Errorf("unknown service %q (want one of %s)", cfg.service, strings.Join(serviceNames(), ", "))
	}
	if _, err := parseMode(cfg); err != nil {
		return nil, err
	}
	if err := modeAvailable(cfg.mode); err != nil {
		return nil, err
	}
	for _, l := range cfg.listen {
		if err := modeServes(cfg.mode, l.network); err != nil {
			return nil, fmt.Errorf("%s: %w", sockurl.String(l.network, l.address), err)
		}
	}
	return cfg, nil
}

// modeAvailable checks that this system has the mode: Fork and Prefork
// need a Unix system (Event mode runs everywhere).
func modeAvailable(mode string) error {
	if runtime.GOOS == "windows" && (mode == "fork" || mode == "prefork") {
		return fmt.Errorf("-mode %s needs a Unix system", mode)
	}
	return nil
}

// modeServes checks that the mode serves sockets of network, so that no
// listener is announced that then fails to serve. Inherited sockets are
// checked once their network is known.
func modeServes(mode, network string) error {
	if mode == "event" && network == "unixpacket" {
		return errors.New("-mode event serves tcp, udp, unix and unixgram sockets, not unixpacket")
	}
	return nil
}

func printUsage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprintf(w, "usage: sockserve -service NAME -listen URL [-listen URL ...] [flags]\n")
	fmt.Fprintf(w, "       sockserve [flags] -listen URL [-listen URL ...] [--] PROGRAM [ARG...]\n\nservices:\n")
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
		if cfg.program != nil {
			// A worker per program at most; at the bound, hand-off only: the
			// listen backlog holds the clients.
			return socketserver.Pool{Workers: cfg.maxChildren, Queue: -1}, nil
		}
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
