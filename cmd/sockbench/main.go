// Command sockbench is a load generator for request/reply servers over
// tcp, udp, unix and unixgram sockets, with the URL syntax of sockserve.
//
//	sockbench [flags] URL [flags]
//	sockbench tcp://127.0.0.1:9999 [-mode echo|churn|idle] [-c 50] [-d 10s | -n N]
//	          [-size 64 | -request TEXT [-expect TEXT] | -pairs FILE] [-reply line|any|N]
//	          [-pipeline 1] [-rate R] [-json]
//
// The URL is the one argument, before or after the flags, or -url URL.
//
// Modes:
//   - echo: round trips on persistent connections; -pipeline sends that many
//     requests before reading their replies; -rate sets an open-loop arrival
//     schedule, and latency is then measured from each request's intended
//     send time, so a stalled server cannot hide behind a waiting client
//     (coordinated omission).
//   - churn: connect, one request, close. To an IPv4 loopback address, on
//     Linux, the connections come from source addresses 127.0.0.2–201, as
//     from many clients, so that the closed connections' TIME_WAIT does not
//     run the client out of ports.
//   - idle: open -c connections and hold them for -d, spread over source
//     addresses 127.0.0.x and over -procs processes to get past the
//     ephemeral-port and descriptor limits; for memory measurements.
//
// What is sent: random payloads of -size bytes (the default), the one
// request of -request, or the requests of a -pairs file, which each
// connection sends in turn from the first (in churn mode, one per
// connection). Text takes the escapes \n, \r, \t, \0, \\ and \xHH.
//
// What a reply must be: the request itself (an echo, the default), the
// -expect text, or the reply the pairs file gives. A wrong reply is a
// mismatch, not a request served (a fast wrong server is not fast). A reply
// is read as the expected reply's length, or, with -reply, as one line
// (line), a fixed number of bytes (N) or whatever one read returns (any).
// With -reply and nothing to expect, replies are read but not checked.
//
// A run sends requests for -d (or until -n are sent) and then waits for
// the replies still in flight for a tenth of -d (at least 100ms, at most
// -timeout); a request unanswered then, or after -timeout, counts as a
// timeout. It exits 1 if no request was answered right, 3 if some failed.
//
// The report gives throughput, bytes per second, latency percentiles,
// errors, timeouts and mismatches, as text or, with -json, as one JSON
// object. While it runs, a progress line is printed once a second on stderr
// if stderr is a terminal.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
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
	duration         time.Duration // 0: no time limit (-n without -d)
	requests         int64
	pipeline         int
	rate             float64
	timeout          time.Duration
	procs            int
	jsonOut          bool

	request, expect, pairsFile, reply string // as given
	// pairs are the requests to send and their expected replies, nil for
	// random payloads of size; see expected.
	pairs   []pair
	framing framing
}

func main() {
	if os.Getenv(idleChildEnv) != "" {
		os.Exit(idleChild())
	}
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err == nil {
		err = cfg.loadPairs()
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
	if err := res.failure(); err != nil {
		fmt.Fprintf(os.Stderr, "sockbench: %v\n", err)
		os.Exit(1)
	}
	if res.Errors > 0 || res.Mismatches > 0 {
		os.Exit(3)
	}
}

const usageLine = "usage: sockbench [flags] URL [flags]  (or -url URL), e.g. sockbench tcp://127.0.0.1:9999 -c 50 -d 10s"

// parseFlags parses and checks the command line; its errors are one line.
// It reads no file: loadPairs reads -pairs.
func parseFlags(args []string, usage io.Writer) (*config, error) {
	cfg := &config{}
	fs := flag.NewFlagSet("sockbench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&cfg.url, "url", "", "server URL (or give it as the argument): tcp://host:port, udp://, unix:///path, unixgram:///path (tcp4/tcp6/udp4/udp6/unixpacket too)")
	fs.StringVar(&cfg.mode, "mode", "echo", "echo (round trips on persistent connections), churn (connect, one request, close) or idle")
	fs.IntVar(&cfg.conns, "c", 50, "connections (concurrent clients)")
	fs.IntVar(&cfg.size, "size", 64, "size in bytes of the random requests (without -request or -pairs)")
	fs.DurationVar(&cfg.duration, "d", 10*time.Second, "how long to send requests; with -n, a limit on the run")
	fs.Int64Var(&cfg.requests, "n", 0, "total requests to send, instead of -d")
	fs.IntVar(&cfg.pipeline, "pipeline", 1, "requests in flight per connection (echo)")
	fs.Float64Var(&cfg.rate, "rate", 0, "open-loop arrival rate in requests/s over all connections (echo and churn; 0: closed loop)")
	fs.DurationVar(&cfg.timeout, "timeout", 5*time.Second, "how long a reply (or a connect) may take before it counts as a timeout")
	fs.IntVar(&cfg.procs, "procs", 1, "processes to spread idle connections over (idle)")
	fs.BoolVar(&cfg.jsonOut, "json", false, "print the result as JSON")
	fs.StringVar(&cfg.request, "request", "", `the request to send, with escapes \n \r \t \0 \\ \xHH, e.g. 'PING\r\n'`)
	fs.StringVar(&cfg.expect, "expect", "", "the reply -request must get (default: the request itself, an echo)")
	fs.StringVar(&cfg.pairsFile, "pairs", "", `a file of requests ("> text") each with its expected reply ("< text"), sent in turn`)
	fs.StringVar(&cfg.reply, "reply", "", "how a reply ends: line, any (what one read returns) or a byte count (default: the expected reply's length); with nothing to expect, replies are not checked")
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(usage, usageLine)
			fs.SetOutput(usage)
			fs.PrintDefaults()
			return nil, err
		}
		return nil, cli.OneLine(err)
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := cfg.takeURL(positional); err != nil {
		return nil, cli.OneLine(err)
	}
	if cfg.network, cfg.address, err = sockurl.Parse(cfg.url); err != nil {
		return nil, cli.OneLine(err)
	}
	if cfg.requests > 0 && !set["d"] {
		cfg.duration = 0 // -n alone: no time limit
	}
	if cfg.framing, err = parseFraming(cfg.reply); err != nil {
		return nil, cli.OneLine(err)
	}
	if err := cfg.check(set); err != nil {
		return nil, cli.OneLine(err)
	}
	if set["request"] {
		p := pair{}
		if p.request, err = unescape(cfg.request); err != nil {
			return nil, cli.OneLine(fmt.Errorf("-request: %w", err))
		}
		if set["expect"] {
			if p.reply, err = unescape(cfg.expect); err != nil {
				return nil, cli.OneLine(fmt.Errorf("-expect: %w", err))
			}
		}
		if err := cfg.setPairs([]pair{p}); err != nil {
			return nil, cli.OneLine(err)
		}
	}
	return cfg, nil
}

// parseInterspersed parses flags before and after the positional
// arguments, which it returns, as Go's flag package alone does not.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// takeURL takes the URL from -url or the one argument.
func (cfg *config) takeURL(positional []string) error {
	switch {
	case len(positional) > 1:
		return fmt.Errorf("more than one URL: %q and %q (give one)", positional[0], positional[1])
	case len(positional) == 1 && cfg.url != "":
		return fmt.Errorf("more than one URL: -url %q and %q (give one)", cfg.url, positional[0])
	case len(positional) == 1:
		cfg.url = positional[0]
	case cfg.url == "":
		return errors.New("no URL: give one, e.g. sockbench tcp://127.0.0.1:9999")
	}
	return nil
}

// check validates the flags that stand alone.
func (cfg *config) check(set map[string]bool) error {
	switch {
	case cfg.mode != "echo" && cfg.mode != "churn" && cfg.mode != "idle":
		return fmt.Errorf("unknown -mode %q (want echo, churn or idle)", cfg.mode)
	case cfg.conns < 1:
		return fmt.Errorf("-c must be at least 1, got %d", cfg.conns)
	case cfg.size < 1 || cfg.size > maxMessage:
		return fmt.Errorf("-size must be from 1 to %d, got %d", maxMessage, cfg.size)
	case cfg.requests < 0:
		return fmt.Errorf("-n must not be negative, got %d", cfg.requests)
	case cfg.duration < 0 || (cfg.duration == 0 && cfg.requests == 0):
		return errors.New("-d must be positive (or give -n)")
	case cfg.pipeline < 1 || cfg.pipeline > 1024:
		return fmt.Errorf("-pipeline must be from 1 to 1024, got %d", cfg.pipeline)
	case cfg.rate < 0:
		return errors.New("-rate must not be negative")
	case cfg.rate > 0 && cfg.pipeline > 1:
		return errors.New("-rate and -pipeline do not go together: an open-loop request is sent at its time")
	case cfg.timeout <= 0:
		return errors.New("-timeout must be positive")
	case cfg.procs < 1 || cfg.procs > 64:
		return fmt.Errorf("-procs must be from 1 to 64, got %d", cfg.procs)
	case cfg.mode == "idle" && cfg.requests > 0:
		return errors.New("idle mode holds connections for -d; -n does not apply")
	case cfg.mode == "idle" && (set["request"] || set["expect"] || set["pairs"] || set["reply"]):
		return errors.New("idle mode sends nothing: -request, -expect, -pairs and -reply do not apply")
	case set["request"] && set["pairs"]:
		return errors.New("-request and -pairs do not go together")
	case set["expect"] && !set["request"]:
		return errors.New("-expect needs -request (a pairs file gives its replies itself)")
	case set["pairs"] && cfg.pairsFile == "":
		return errors.New("-pairs needs a file name")
	case set["size"] && (set["request"] || set["pairs"]):
		return errors.New("-size is the size of random requests; with -request or -pairs the requests are given")
	case set["expect"] && cfg.expect == "":
		return errors.New("-expect must not be empty (to read replies unchecked, give -reply alone)")
	case !set["request"] && !set["pairs"] && cfg.pipeline*cfg.size > maxBatch:
		return fmt.Errorf("-pipeline %d of %d-byte requests is more than %d MiB in flight per connection", cfg.pipeline, cfg.size, maxBatch>>20)
	case cfg.framing.kind == frameAny && cfg.pipeline > 1:
		return errors.New("-reply any and -pipeline do not go together: the replies to a pipeline cannot be told apart")
	}
	if datagram(cfg.network) {
		if cfg.mode != "echo" {
			return fmt.Errorf("%s mode needs a stream transport, not %s", cfg.mode, cfg.network)
		}
		if k := cfg.framing.kind; k == frameLine || k == frameFixed {
			return fmt.Errorf("over %s a reply is one datagram: -reply %s is for streams (-reply any reads replies unchecked)", cfg.network, cfg.framing)
		}
	}
	return nil
}

// loadPairs reads the -pairs file, if any.
func (cfg *config) loadPairs() error {
	if cfg.pairsFile == "" {
		return nil
	}
	pairs, err := readPairs(cfg.pairsFile)
	if err != nil {
		return cli.OneLine(err)
	}
	if err := cfg.setPairs(pairs); err != nil {
		return cli.OneLine(err)
	}
	return nil
}

// setPairs sets the requests to send and checks that every reply can be
// read.
func (cfg *config) setPairs(pairs []pair) error {
	cfg.pairs = pairs
	f := cfg.framing
	for i, p := range pairs {
		what := "-request"
		if cfg.pairsFile != "" {
			what = fmt.Sprintf("request %d", i+1)
		}
		want := cfg.expected(p)
		switch {
		case len(p.request) > maxMessage:
			return fmt.Errorf("%s: %d bytes, more than %d", what, len(p.request), maxMessage)
		case cfg.pipeline*max(len(p.request), len(want)) > maxBatch:
			return fmt.Errorf("%s: -pipeline %d of %d-byte messages is more than %d MiB in flight per connection", what, cfg.pipeline, max(len(p.request), len(want)), maxBatch>>20)
		case len(p.request) == 0 && cfg.mode != "churn":
			return fmt.Errorf("%s is empty: only churn mode sends no request (for a server that speaks first)", what)
		case len(p.request) == 0 && len(want) == 0 && f.kind == frameExact:
			return fmt.Errorf("%s is empty and its echo would be too: give -expect or -reply", what)
		case f.kind == frameFixed && want != nil && len(want) != f.n:
			return fmt.Errorf("%s: -reply %d reads %d bytes, but the expected reply has %d", what, f.n, f.n, len(want))
		case f.kind == frameLine && want != nil && !bytes.HasSuffix(want, []byte("\n")):
			return fmt.Errorf(`%s: -reply line reads lines, but the expected reply %q does not end with \n`, what, excerpt(want))
		}
	}
	return nil
}

// expected is the reply p must get: its own, an echo of the request when
// replies have no framing of their own, or nil (not checked).
func (cfg *config) expected(p pair) []byte {
	if p.reply != nil {
		return p.reply
	}
	if cfg.framing.kind == frameExact {
		return p.request
	}
	return nil
}

// A framing is how a reply is read from a stream.
type framing struct {
	kind framingKind
	n    int // bytes, for frameFixed
}

type framingKind int

const (
	frameExact framingKind = iota // the expected reply's length
	frameLine                     // through '\n', as many lines as the expected reply has
	frameFixed                    // n bytes
	frameAny                      // what one read returns
)

// parseFraming parses -reply.
func parseFraming(s string) (framing, error) {
	switch s {
	case "":
		return framing{kind: frameExact}, nil
	case "line":
		return framing{kind: frameLine}, nil
	case "any":
		return framing{kind: frameAny}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxMessage {
		return framing{}, fmt.Errorf("-reply %q: want line, any or a byte count from 1 to %d", s, maxMessage)
	}
	return framing{kind: frameFixed, n: n}, nil
}

func (f framing) String() string {
	switch f.kind {
	case frameLine:
		return "line"
	case frameFixed:
		return strconv.Itoa(f.n)
	case frameAny:
		return "any"
	}
	return "exact"
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
