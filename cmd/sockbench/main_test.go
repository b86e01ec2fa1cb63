package main

import (
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/servetest"
)

func TestMain(m *testing.M) {
	if os.Getenv(idleChildEnv) != "" { // idle mode re-executes the test binary
		os.Exit(idleChild())
	}
	goleak.VerifyTestMain(m)
}

// serveURL serves handler on network until the test ends and returns the
// server's URL.
func serveURL(t *testing.T, network string, handler socketserver.Handler) string {
	t.Helper()
	_, addr := servetest.RunLocal(t, network, func(s *socketserver.Server) { s.Handler = handler })
	return network + "://" + addr.String()
}

var echo = socketserver.HandlerFunc(func(r *socketserver.Request) error {
	_, err := io.Copy(r.Writer, r.Reader)
	return err
})

func mustParse(t *testing.T, args ...string) *config {
	t.Helper()
	cfg, err := parseFlags(args, io.Discard)
	if err == nil {
		err = cfg.loadPairs()
	}
	if err != nil {
		t.Fatalf("parseFlags(%q) = %v", args, err)
	}
	return cfg
}

// The URL is -url or the one argument, with flags on either side of it.
func TestURLAnywhere(t *testing.T) {
	for _, args := range [][]string{
		{"-url", "tcp://127.0.0.1:9999", "-c", "7"},
		{"tcp://127.0.0.1:9999", "-c", "7"},
		{"-c", "7", "tcp://127.0.0.1:9999"},
		{"-mode", "churn", "tcp://127.0.0.1:9999", "-c", "7", "-n", "3"},
		{"-c", "7", "--", "tcp://127.0.0.1:9999"},
	} {
		cfg := mustParse(t, args...)
		if cfg.network != "tcp" || cfg.address != "127.0.0.1:9999" || cfg.conns != 7 {
			t.Errorf("parseFlags(%q) = %s %s -c %d; want tcp 127.0.0.1:9999 -c 7", args, cfg.network, cfg.address, cfg.conns)
		}
	}
	cfg := mustParse(t, "-mode", "churn", "tcp://127.0.0.1:9999", "-n", "3")
	if cfg.mode != "churn" || cfg.requests != 3 || cfg.duration != 0 {
		t.Errorf("flags after the URL: mode %s, -n %d, duration %v; want churn, 3 and no time limit", cfg.mode, cfg.requests, cfg.duration)
	}
}

func TestParseFlagsRejects(t *testing.T) {
	const u = "tcp://127.0.0.1:1"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{args: nil, want: "no URL"},
		{args: []string{"-url", "tcp://x"}, want: "missing :port"},
		{args: []string{u, "tcp://127.0.0.1:2"}, want: `more than one URL: "tcp://127.0.0.1:1" and "tcp://127.0.0.1:2"`},
		{args: []string{"-url", u, "tcp://127.0.0.1:2"}, want: "more than one URL: -url"},
		{args: []string{u, "stray"}, want: `more than one URL: "tcp://127.0.0.1:1" and "stray"`},
		{args: []string{u, "-mode", "flood"}, want: `unknown -mode "flood"`},
		{args: []string{u, "-c", "0"}, want: "-c must be at least 1"},
		{args: []string{u, "-size", "0"}, want: "-size must be"},
		{args: []string{u, "-pipeline", "0"}, want: "-pipeline must be"},
		{args: []string{u, "-rate", "10", "-pipeline", "2"}, want: "do not go together"},
		{args: []string{"udp://127.0.0.1:1", "-mode", "churn"}, want: "needs a stream transport"},
		{args: []string{u, "-mode", "idle", "-n", "5"}, want: "-n does not apply"},
		{args: []string{u, "-mode", "idle", "-request", "x"}, want: "idle mode sends nothing"},
		{args: []string{u, "-expect", "x"}, want: "-expect needs -request"},
		{args: []string{u, "-request", "x", "-pairs", "f"}, want: "do not go together"},
		{args: []string{u, "-request", "x", "-size", "9"}, want: "-size is the size of random requests"},
		{args: []string{u, "-request", "x", "-expect", ""}, want: "-expect must not be empty"},
		{args: []string{u, "-request", `x\q`}, want: `-request: unknown escape \q at offset 1`},
		{args: []string{u, "-request", "x", "-expect", `\x4`}, want: `-expect: \x at offset 0 needs two hex digits`},
		{args: []string{u, "-request", ""}, want: "only churn mode sends no request"},
		{args: []string{u, "-mode", "churn", "-request", ""}, want: "give -expect or -reply"},
		{args: []string{u, "-reply", "lines"}, want: `-reply "lines": want line, any or a byte count`},
		{args: []string{u, "-reply", "0"}, want: "-reply \"0\""},
		{args: []string{u, "-reply", "any", "-pipeline", "4"}, want: "-reply any and -pipeline"},
		{args: []string{u, "-request", "a", "-expect", "abc", "-reply", "2"}, want: "-reply 2 reads 2 bytes, but the expected reply has 3"},
		{args: []string{u, "-request", "a", "-expect", "A", "-reply", "line"}, want: `does not end with \n`},
		{args: []string{"udp://127.0.0.1:1", "-reply", "line"}, want: "a reply is one datagram"},
		{args: []string{u, "-d", "0"}, want: "-d must be positive"},
		{args: []string{u, "-size", "1048576", "-pipeline", "17"}, want: "-pipeline 17 of 1048576-byte requests is more than 16 MiB"},
		{args: []string{u, "-request", "x", "-expect", strings.Repeat("y", 1<<20), "-pipeline", "17"}, want: "more than 16 MiB in flight"},
	} {
		_, err := parseFlags(tc.args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseFlags(%q) = %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

// -n with -d: whichever comes first; -n alone: no time limit.
func TestCountAndDuration(t *testing.T) {
	if cfg := mustParse(t, "tcp://127.0.0.1:1", "-n", "5"); cfg.duration != 0 {
		t.Errorf("-n alone: duration %v, want none", cfg.duration)
	}
	if cfg := mustParse(t, "tcp://127.0.0.1:1", "-n", "5", "-d", "2s"); cfg.duration != 2*time.Second || cfg.requests != 5 {
		t.Errorf("-n 5 -d 2s: %v, %d", cfg.duration, cfg.requests)
	}
}

// The flag parser never panics, its errors are one line, and what it
// accepts is a runnable configuration. Seeds: testdata/fuzz/FuzzParseFlags.
func FuzzParseFlags(f *testing.F) {
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
		if cfg.framing.kind == frameAny && cfg.pipeline > 1 {
			t.Fatalf("accepted -reply any with a pipeline: %+v", cfg)
		}
		for _, p := range cfg.pairs {
			want := cfg.expected(p)
			if len(p.request) == 0 && (cfg.mode != "churn" || (want == nil && cfg.framing.kind == frameExact)) {
				t.Fatalf("accepted an empty request it cannot send or answer: %+v", cfg)
			}
			if cfg.framing.kind == frameExact && len(want) == 0 {
				t.Fatalf("accepted a reply of no length: %+v", cfg)
			}
		}
	})
}
