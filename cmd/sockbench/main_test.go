package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/socketserver-go/socketserver"
)

func TestMain(m *testing.M) {
	if os.Getenv(idleChildEnv) != "" { // idle mode re-executes the test binary
		os.Exit(idleChild())
	}
	goleak.VerifyTestMain(m)
}

// serve starts a socketserver with handler on network and returns its URL.
func serve(t *testing.T, network string, handler socketserver.Handler) string {
	t.Helper()
	addr := "127.0.0.1:0"
	if strings.HasPrefix(network, "unix") {
		dir, err := os.MkdirTemp("", "sb")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		addr = filepath.Join(dir, "s")
	}
	srv := &socketserver.Server{Network: network, Addr: addr, Handler: handler}
	bound, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { srv.ListenAndServe(); close(done) }()
	t.Cleanup(func() { srv.Close(); <-done })
	return network + "://" + bound.String()
}

var echo = socketserver.HandlerFunc(func(r *socketserver.Request) error {
	_, err := io.Copy(r.Writer, r.Reader)
	return err
})

func mustParse(t *testing.T, args ...string) *config {
	t.Helper()
	cfg, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatalf("parseFlags(%q) = %v", args, err)
	}
	return cfg
}

// Every mode, over every transport it supports, completes exactly -n
// verified requests against an echo server.
func TestLoadCountsVerifiedRequests(t *testing.T) {
	for _, tc := range []struct {
		network string
		args    []string
	}{
		{network: "tcp", args: []string{"-c", "4"}},
		{network: "tcp", args: []string{"-c", "3", "-pipeline", "16", "-size", "1024"}},
		{network: "tcp", args: []string{"-c", "4", "-mode", "churn"}},
		{network: "tcp", args: []string{"-c", "2", "-rate", "20000"}},
		{network: "unix", args: []string{"-c", "4"}},
		{network: "unix", args: []string{"-c", "4", "-mode", "churn"}},
		{network: "udp", args: []string{"-c", "4"}},
		{network: "udp", args: []string{"-c", "2", "-pipeline", "4"}},
		{network: "unixgram", args: []string{"-c", "4", "-size", "512"}},
	} {
		name := tc.network + " " + strings.Join(tc.args, " ")
		t.Run(name, func(t *testing.T) {
			url := serve(t, tc.network, echo)
			cfg := mustParse(t, append([]string{"-url", url, "-n", "2000"}, tc.args...)...)
			res, err := run(context.Background(), cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != 2000 || res.Errors != 0 || res.Mismatches != 0 {
				t.Fatalf("requests %d, errors %d (%s), mismatches %d; want 2000, 0, 0",
					res.Requests, res.Errors, res.FirstError, res.Mismatches)
			}
			if res.LatencyUS == nil || res.LatencyUS.P50 <= 0 || res.LatencyUS.P50 > res.LatencyUS.P99 || res.LatencyUS.P99 > res.LatencyUS.Max {
				t.Fatalf("latency summary out of order: %+v", res.LatencyUS)
			}
		})
	}
}

// A server that answers wrongly is caught: every reply is compared with
// its request.
func TestMismatchesAreErrors(t *testing.T) {
	wrong := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		data, _ := io.ReadAll(r.Reader)
		if len(data) > 0 {
			data[len(data)/2] ^= 1 // one flipped bit
		}
		_, err := r.Writer.Write(data)
		return err
	})
	for _, network := range []string{"udp", "unixgram"} {
		url := serve(t, network, wrong)
		res, err := run(context.Background(), mustParse(t, "-url", url, "-n", "100", "-c", "2"), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if res.Mismatches != 100 || res.Requests != 0 {
			t.Fatalf("%s: mismatches %d, requests %d; want 100, 0", network, res.Mismatches, res.Requests)
		}
	}
	short := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		buf := make([]byte, 64)
		io.ReadFull(r.Reader, buf)
		_, err := r.Writer.Write(bytes.ToUpper(buf))
		return err
	})
	url := serve(t, "tcp", short)
	res, err := run(context.Background(), mustParse(t, "-url", url, "-n", "50", "-c", "1", "-mode", "churn"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mismatches+res.Errors != 50 || res.Requests != 0 {
		t.Fatalf("churn against a wrong server: mismatches %d, errors %d, requests %d", res.Mismatches, res.Errors, res.Requests)
	}
}

// With -rate, latency is measured from the intended send time: a server
// stall shows in every request scheduled during it, not just the one it
// held (coordinated omission).
func TestOpenLoopSeesStalls(t *testing.T) {
	var first atomic.Bool
	stalling := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		buf := make([]byte, 64)
		for {
			if _, err := io.ReadFull(r.Reader, buf); err != nil {
				return nil
			}
			if first.CompareAndSwap(false, true) {
				time.Sleep(100 * time.Millisecond) // the stall under test
			}
			if _, err := r.Writer.Write(buf); err != nil {
				return err
			}
		}
	})
	url := serve(t, "tcp", stalling)
	// 1000 requests/s on one connection: about 100 are due during the
	// stall. Closed loop, only one request would see it.
	res, err := run(context.Background(), mustParse(t, "-url", url, "-n", "400", "-c", "1", "-rate", "1000"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 400 || res.LatencyUS.P90 < 1000 {
		t.Fatalf("open loop: %d requests, p90 %.0fµs; want 400 and a p90 showing the 100ms stall", res.Requests, res.LatencyUS.P90)
	}
}

// Idle mode holds its connections, over several processes, until its
// time is up.
func TestIdleHoldsConnections(t *testing.T) {
	held := make(chan struct{})
	var open atomic.Int32
	hold := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		if open.Add(1) == 300 {
			close(held)
		}
		io.Copy(io.Discard, r.Reader) // until the client closes
		return nil
	})
	url := serve(t, "tcp", hold)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *result, 1)
	go func() {
		res, err := run(ctx, mustParse(t, "-url", url, "-mode", "idle", "-c", "300", "-procs", "3", "-d", "1m"), io.Discard)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	<-held // the server has all 300
	cancel()
	res := <-done
	if res == nil || res.Held != 300 || res.Errors != 0 {
		t.Fatalf("idle: %+v; want 300 held, no errors", res)
	}
}

// A server that is not there fails at once with a clear error.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = run(context.Background(), mustParse(t, "-url", "tcp://"+addr, "-d", "1s"), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("run against nothing = %v", err)
	}
}

func TestParseFlagsRejects(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{args: nil, want: "-url is required"},
		{args: []string{"-url", "tcp://x"}, want: "missing :port"},
		{args: []string{"-url", "tcp://127.0.0.1:1", "-mode", "flood"}, want: `unknown -mode "flood"`},
		{args: []string{"-url", "tcp://127.0.0.1:1", "-c", "0"}, want: "-c must be at least 1"},
		{args: []string{"-url", "tcp://127.0.0.1:1", "-size", "0"}, want: "-size must be"},
		{args: []string{"-url", "tcp://127.0.0.1:1", "-pipeline", "0"}, want: "-pipeline must be"},
		{args: []string{"-url", "tcp://127.0.0.1:1", "-rate", "10", "-pipeline", "2"}, want: "do not go together"},
		{args: []string{"-url", "udp://127.0.0.1:1", "-mode", "churn"}, want: "needs a stream transport"},
		{args: []string{"-url", "tcp://127.0.0.1:1", "-mode", "idle", "-n", "5"}, want: "-n does not apply"},
		{args: []string{"-url", "tcp://127.0.0.1:1", "stray"}, want: `unexpected argument "stray"`},
	} {
		_, err := parseFlags(tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseFlags(%q) = %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

// The flag parser never panics, its errors are one line, and what it
// accepts is a runnable configuration.
func FuzzParseFlags(f *testing.F) {
	for _, seed := range []string{
		"-url\x00tcp://127.0.0.1:9999\x00-c\x0050",
		"-url\x00udp6://[::1]:0\x00-pipeline\x0016\x00-n\x00100",
		"-url\x00unix:///tmp/s\x00-mode\x00churn\x00-rate\x00100",
		"-url\x00tcp://127.0.0.1:1\x00-mode\x00idle\x00-procs\x004\x00-d\x001s",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, joined string) {
		cfg, err := parseFlags(strings.Split(joined, "\x00"), io.Discard)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		if cfg.network == "" || cfg.conns < 1 || cfg.size < 1 || cfg.pipeline < 1 || (cfg.duration <= 0 && cfg.requests <= 0) {
			t.Fatalf("accepted an unrunnable configuration: %+v", cfg)
		}
	})
}
