// Command sockbench is a load generator for request/reply servers over
// tcp, udp, unix and unixgram sockets, with the URL syntax of sockserve.
//
//	sockbench -url tcp://127.0.0.1:9999 [-mode echo|churn|idle] [-c 50] [-size 64]
//	          [-d 10s | -n N] [-pipeline 1] [-rate R] [-json]
//
// Modes:
//   - echo: round trips on persistent connections; -pipeline sends that many
//     requests before reading their replies; -rate sets an open-loop arrival
//     schedule, and latency is then measured from each request's intended
//     send time, so a stalled server cannot hide behind a waiting client
//     (coordinated omission).
//   - churn: connect, one request, close.
//   - idle: open -c connections and hold them for -d, spread over source
//     addresses 127.0.0.x and over -procs processes to get past the
//     ephemeral-port and descriptor limits; for memory measurements.
//
// Every reply is checked byte for byte against its request; a mismatch is
// an error (a fast wrong server is not fast). The report gives throughput,
// bytes per second, latency percentiles, errors and timeouts, as text or,
// with -json, as one JSON object. While it runs, a progress line is printed
// once a second on stderr if stderr is a terminal.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/socketserver-go/socketserver/internal/cli"
	"github.com/socketserver-go/socketserver/internal/sockurl"
)

// config is what the command line asks for.
type config struct {
	network, address string
	url              string
	mode             string
	conns            int
	size             int
	duration         time.Duration
	requests         int64
	pipeline         int
	rate             float64
	timeout          time.Duration
	procs            int
	jsonOut          bool
}

func main() {
	if os.Getenv(idleChildEnv) != "" {
		os.Exit(idleChild())
	}
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "sockbench: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := run(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "sockbench: %v\n", err)
		os.Exit(1)
	}
	if cfg.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.Encode(res)
	} else {
		res.writeText(os.Stdout)
	}
	if res.Errors > 0 || res.Mismatches > 0 {
		os.Exit(3)
	}
}

// parseFlags parses and checks the command line; its errors are one line.
func parseFlags(args []string, usage io.Writer) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("sockbench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.url, "url", "", "server URL: tcp://host:port, udp://, unix:///path, unixgram:///path (tcp4/tcp6/udp4/udp6/unixpacket too)")
	fs.StringVar(&cfg.mode, "mode", "echo", "echo, churn or idle")
	fs.IntVar(&cfg.conns, "c", 50, "connections (concurrent clients)")
	fs.IntVar(&cfg.size, "size", 64, "message size in bytes")
	fs.DurationVar(&cfg.duration, "d", 10*time.Second, "duration (ignored with -n)")
	fs.Int64Var(&cfg.requests, "n", 0, "total requests, instead of -d")
	fs.IntVar(&cfg.pipeline, "pipeline", 1, "requests in flight per connection (echo)")
	fs.Float64Var(&cfg.rate, "rate", 0, "open-loop arrival rate in requests/s over all connections (echo and churn; 0: closed loop)")
	fs.DurationVar(&cfg.timeout, "timeout", 5*time.Second, "how long a reply may take before it counts as a timeout")
	fs.IntVar(&cfg.procs, "procs", 1, "processes to spread idle connections over (idle)")
	fs.BoolVar(&cfg.jsonOut, "json", false, "print the result as JSON")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(usage, "usage: sockbench -url URL [-mode echo|churn|idle] [flags]")
			fs.SetOutput(usage)
			fs.PrintDefaults()
			return nil, err
		}
		return nil, cli.OneLine(err)
	}
	if fs.NArg() > 0 {
		return nil, cli.OneLine(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	if cfg.url == "" {
		return nil, errors.New("-url is required, e.g. -url tcp://127.0.0.1:9999")
	}
	var err error
	if cfg.network, cfg.address, err = sockurl.Parse(cfg.url); err != nil {
		return nil, cli.OneLine(err)
	}
	switch {
	case cfg.mode != "echo" && cfg.mode != "churn" && cfg.mode != "idle":
		return nil, cli.OneLine(fmt.Errorf("unknown -mode %q (want echo, churn or idle)", cfg.mode))
	case cfg.conns < 1:
		return nil, fmt.Errorf("-c must be at least 1, got %d", cfg.conns)
	case cfg.size < 1 || cfg.size > 1<<20:
		return nil, fmt.Errorf("-size must be from 1 to 1048576, got %d", cfg.size)
	case cfg.duration <= 0 && cfg.requests <= 0:
		return nil, errors.New("-d must be positive (or give -n)")
	case cfg.requests < 0:
		return nil, fmt.Errorf("-n must not be negative, got %d", cfg.requests)
	case cfg.pipeline < 1 || cfg.pipeline > 1024:
		return nil, fmt.Errorf("-pipeline must be from 1 to 1024, got %d", cfg.pipeline)
	case cfg.rate < 0:
		return nil, errors.New("-rate must not be negative")
	case cfg.rate > 0 && cfg.pipeline > 1:
		return nil, errors.New("-rate and -pipeline do not go together: an open-loop request is sent at its time")
	case cfg.timeout <= 0:
		return nil, errors.New("-timeout must be positive")
	case cfg.procs < 1 || cfg.procs > 64:
		return nil, fmt.Errorf("-procs must be from 1 to 64, got %d", cfg.procs)
	case cfg.mode == "idle" && cfg.requests > 0:
		return nil, errors.New("idle mode holds connections for -d; -n does not apply")
	}
	if datagram(cfg.network) && cfg.mode != "echo" {
		return nil, fmt.Errorf("%s mode needs a stream transport, not %s", cfg.mode, cfg.network)
	}
	return cfg, nil
}

func datagram(network string) bool {
	return strings.HasPrefix(network, "udp") || network == "unixgram"
}

// run runs the load the configuration asks for.
func run(ctx context.Context, cfg *config, progress io.Writer) (*result, error) {
	if cfg.mode == "idle" {
		return runIdle(ctx, cfg, progress)
	}
	return runLoad(ctx, cfg, progress)
}
