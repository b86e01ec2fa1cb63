package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/servetest"
)

// upper answers each line with the line upper-cased, like sockserve's
// upper service (which takes one line per connection): a line protocol
// that is not an echo.
var upper = socketserver.HandlerFunc(func(r *socketserver.Request) error {
	for {
		line, err := r.Reader.ReadBytes('\n')
		if err != nil {
			return nil
		}
		if _, err := r.Writer.Write(bytes.ToUpper(line)); err != nil {
			return err
		}
	}
})

// pingPong answers a RESP "PING\r\n" with "+PONG\r\n" and anything else
// with an error line, as redis-server does.
var pingPong = socketserver.HandlerFunc(func(r *socketserver.Request) error {
	for {
		line, err := r.Reader.ReadString('\n')
		if err != nil {
			return nil
		}
		reply := "-ERR unknown command\r\n"
		if line == "PING\r\n" {
			reply = "+PONG\r\n"
		}
		if _, err := io.WriteString(r.Writer, reply); err != nil {
			return err
		}
	}
})

func mustRun(t *testing.T, args ...string) *result {
	t.Helper()
	res, err := run(context.Background(), mustParse(t, args...), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// A non-echo line service is loaded with a request and its expected
// reply, pipelined or not, in every stream mode, over TCP and Unix.
func TestRequestAndExpectedReply(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		url := serveURL(t, network, upper)
		for _, extra := range [][]string{
			{"-c", "3"},
			{"-c", "2", "-pipeline", "16"},
			{"-c", "2", "-reply", "line"},
			{"-c", "2", "-reply", "6", "-pipeline", "4"},
			{"-c", "2", "-mode", "churn"},
		} {
			args := append([]string{url, "-n", "600", "-request", `hello\n`, "-expect", `HELLO\n`}, extra...)
			res := mustRun(t, args...)
			if res.Requests != 600 || res.Errors != 0 || res.Mismatches != 0 {
				t.Errorf("%s %v: requests %d, errors %d (%s), mismatches %d; want 600, 0, 0",
					network, extra, res.Requests, res.Errors, res.FirstError, res.Mismatches)
			}
			if sent, recv := math.Round(res.SentPerSec*res.Seconds), math.Round(res.RecvPerSec*res.Seconds); sent != 3600 || recv != 3600 {
				t.Errorf("%s %v: bytes sent %.0f, received %.0f; want 3600 each", network, extra, sent, recv)
			}
		}
	}
	// The same request against the wrong expectation: mismatches, shown.
	url := serveURL(t, "tcp", upper)
	res := mustRun(t, url, "-n", "20", "-c", "1", "-request", `hello\n`, "-expect", `hello\n`)
	if res.Mismatches != 20 || res.FirstMismatch != `got "HELLO\n", want "hello\n"` {
		t.Errorf("mismatches %d, first %q", res.Mismatches, res.FirstMismatch)
	}
	// A reply of another length is caught at once by -reply line, not
	// after a timeout.
	res = mustRun(t, url, "-n", "20", "-c", "1", "-request", `hello\n`, "-expect", `HELLO WORLD\n`, "-reply", "line", "-timeout", "1m")
	if res.Mismatches != 20 || res.Errors != 0 {
		t.Errorf("-reply line against a shorter reply: mismatches %d, errors %d; want 20, 0", res.Mismatches, res.Errors)
	}
}

// A RESP command and its reply, given with escapes.
func TestRESPPing(t *testing.T) {
	url := serveURL(t, "tcp", pingPong)
	res := mustRun(t, url, "-n", "1000", "-c", "4", "-pipeline", "8", "-request", `PING\r\n`, "-expect", `+PONG\r\n`)
	if res.Requests != 1000 || res.Errors != 0 || res.Mismatches != 0 {
		t.Fatalf("requests %d, errors %d, mismatches %d", res.Requests, res.Errors, res.Mismatches)
	}
}

// Against a service that is not an echo, the default (echo) load ends
// on time, with the requests it could not finish counted as timeouts.
func TestNonEchoEndsOnTime(t *testing.T) {
	url := serveURL(t, "tcp", upper)
	start := time.Now()
	res := mustRun(t, url, "-c", "2", "-d", "300ms", "-timeout", "1m")
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("a 300ms run took %v", took)
	}
	if res.Requests+res.Mismatches+res.Timeouts == 0 || res.Timeouts == 0 {
		t.Fatalf("requests %d, mismatches %d, timeouts %d: the unanswered requests went uncounted", res.Requests, res.Mismatches, res.Timeouts)
	}
}

// With -reply and nothing to expect, replies are read by their framing
// and not checked: a line, a byte count, or whatever one read returns.
func TestUncheckedReplies(t *testing.T) {
	var n atomic.Int64
	counter := socketserver.HandlerFunc(func(r *socketserver.Request) error { // a reply that varies
		for {
			if _, err := r.Reader.ReadBytes('\n'); err != nil {
				return nil
			}
			if _, err := fmt.Fprintf(r.Writer, "%d\n", n.Add(1)); err != nil {
				return err
			}
		}
	})
	url := serveURL(t, "tcp", counter)
	res := mustRun(t, url, "-n", "500", "-c", "2", "-pipeline", "4", "-request", `next\n`, "-reply", "line")
	if res.Requests != 500 || res.Errors != 0 || res.Mismatches != 0 || n.Load() != 500 {
		t.Errorf("-reply line: requests %d, errors %d, mismatches %d, served %d", res.Requests, res.Errors, res.Mismatches, n.Load())
	}

	// A server that speaks first and closes (daytime): churn with an
	// empty request.
	daytime := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		_, err := io.WriteString(r.Writer, time.Now().Format(time.RFC1123)+"\r\n")
		return err
	})
	url = serveURL(t, "tcp", daytime)
	for _, reply := range []string{"any", "line"} {
		res = mustRun(t, url, "-mode", "churn", "-n", "200", "-c", "2", "-request", "", "-reply", reply)
		if res.Requests != 200 || res.Errors != 0 || res.SentPerSec != 0 {
			t.Errorf("daytime, -reply %s: requests %d, errors %d (%s), sent %.0f B/s", reply, res.Requests, res.Errors, res.FirstError, res.SentPerSec)
		}
	}

	// Fixed-length replies to random requests.
	fixed := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		buf := make([]byte, 32)
		for {
			if _, err := io.ReadFull(r.Reader, buf); err != nil {
				return nil
			}
			if _, err := r.Writer.Write([]byte("0123456789")); err != nil {
				return err
			}
		}
	})
	url = serveURL(t, "tcp", fixed)
	res = mustRun(t, url, "-n", "300", "-c", "2", "-pipeline", "3", "-size", "32", "-reply", "10")
	if res.Requests != 300 || res.Errors != 0 {
		t.Errorf("-reply 10: requests %d, errors %d (%s)", res.Requests, res.Errors, res.FirstError)
	}

	// Datagrams: -reply any reads one datagram per request.
	dgram := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		_, err := fmt.Fprintf(r.Writer, "%d", len(r.Packet))
		return err
	})
	url = serveURL(t, "udp", dgram)
	res = mustRun(t, url, "-n", "300", "-c", "2", "-reply", "any")
	if res.Requests != 300 || res.Errors != 0 || res.Mismatches != 0 {
		t.Errorf("udp -reply any: requests %d, errors %d, mismatches %d", res.Requests, res.Errors, res.Mismatches)
	}
}

// A reply line without an end costs the client a bounded buffer: it is an
// error once it passes 1 MiB, the connection is dropped, and the run ends
// on time.
func TestEndlessReplyLine(t *testing.T) {
	endless := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for {
			if _, err := r.Writer.Write(chunk); err != nil {
				return nil
			}
		}
	})
	url := serveURL(t, "tcp", endless)
	res := mustRun(t, url, "-c", "1", "-d", "500ms", "-request", `hi\n`, "-reply", "line")
	if res.Requests != 0 || res.Errors == 0 || !strings.Contains(res.FirstError, "a reply line longer than 1048576 bytes") {
		t.Fatalf("requests %d, errors %d, first %q", res.Requests, res.Errors, res.FirstError)
	}
}

// A pairs file drives any line protocol, each connection sending the
// pairs in order; here against the real redis-server, over a Unix
// socket, SET before GET on every connection, pipelined.
func TestPairsAgainstRedis(t *testing.T) {
	redis := servetest.Need(t, "redis-server", "redis-server")
	sock := servetest.SockPath(t, "redis.sock")
	cmd := exec.Command(redis, "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no", "--daemonize", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	servetest.WaitUntil(t, "redis-server listens", func() bool {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	pairs := filepath.Join(t.TempDir(), "redis.pairs")
	os.WriteFile(pairs, []byte("# RESP, one command per pair\r\n"+
		"> PING\\r\\n\n< +PONG\\r\\n\n\n"+
		"> *3\\r\\n$3\\r\\nSET\\r\\n$1\\r\\nk\\r\\n$5\\r\\nhello\\r\\n\n< +OK\\r\\n\n"+
		"> GET k\\r\\n\r\n< $5\\r\\nhello\\r\\n\r\n"), 0o644)
	res := mustRun(t, "unix://"+sock, "-pairs", pairs, "-c", "4", "-pipeline", "5", "-n", "3000")
	if res.Requests != 3000 || res.Errors != 0 || res.Mismatches != 0 {
		t.Fatalf("requests %d, errors %d (%s), mismatches %d (%s)", res.Requests, res.Errors, res.FirstError, res.Mismatches, res.FirstMismatch)
	}
	if res.Request != "3 pairs from "+pairs {
		t.Errorf("result names the requests %q", res.Request)
	}
}

// Each connection sends the pairs in turn from the first, a new one after
// a failure too: a server that expects 1, 2, 3, 1, … on every connection,
// and drops every 50th, answers each right.
func TestPairsInTurn(t *testing.T) {
	var served atomic.Int64
	inTurn := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		for next := 1; ; next = next%3 + 1 {
			line, err := r.Reader.ReadString('\n')
			if err != nil || served.Add(1)%50 == 0 {
				return nil
			}
			reply := "out of turn\n"
			if line == fmt.Sprintf("%d\n", next) {
				reply = fmt.Sprintf("ok %d\n", next)
			}
			if _, err := io.WriteString(r.Writer, reply); err != nil {
				return err
			}
		}
	})
	url := serveURL(t, "tcp", inTurn)
	pairs := filepath.Join(t.TempDir(), "turns")
	os.WriteFile(pairs, []byte("> 1\\n\n< ok 1\\n\n> 2\\n\n< ok 2\\n\n> 3\\n\n< ok 3\\n\n"), 0o644)
	res := mustRun(t, url, "-pairs", pairs, "-c", "3", "-n", "600")
	if res.Requests < 500 || res.Mismatches != 0 || res.Requests+res.Errors != 600 {
		t.Fatalf("requests %d, mismatches %d (%s), errors %d; want about 590 right, none wrong, the rest lost", res.Requests, res.Mismatches, res.FirstMismatch, res.Errors)
	}
}

func TestParsePairs(t *testing.T) {
	got, err := parsePairs([]byte("# c\n\n> a\\tb\n< A\\x42\r\n>c\n>  d\n<\\0\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []pair{{request: []byte("a\tb"), reply: []byte("AB")}, {request: []byte("c")}, {request: []byte(" d"), reply: []byte{0}}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("parsePairs = %q, want %q", got, want)
	}
	for _, tc := range []struct{ in, want string }{
		{in: "", want: "no request"},
		{in: "# only\n", want: "no request"},
		{in: "< x\n", want: "line 1: a reply before any request"},
		{in: "> a\n< b\n< c\n", want: "line 3: a second reply to one request"},
		{in: "> a\n<\n", want: "line 2: an empty reply"},
		{in: "> a\nPING\n", want: `line 2: starts with "P"`},
		{in: "> a\\\n", want: "line 1: a lone backslash"},
		{in: "> " + strings.Repeat("\\x00", maxMessage+1), want: "line 1: 1048577 bytes, more than 1048576"},
	} {
		_, err := parsePairs([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parsePairs(%.40q) = %v, want an error with %q", tc.in, err, tc.want)
		}
	}
}

// A pairs file is checked against the flags once read: its replies must
// suit -reply.
func TestPairsFileChecks(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{args: []string{"-pairs", write("a", "> a\n< AB\n"), "-reply", "1"}, want: "request 1: -reply 1 reads 1 bytes, but the expected reply has 2"},
		{args: []string{"-pairs", write("b", "> a\n> \n")}, want: "request 2 is empty"},
		{args: []string{"-pairs", filepath.Join(dir, "missing")}, want: "no such file"},
		{args: []string{"-pairs", write("c", strings.Repeat("#", maxPairsFile+1))}, want: "larger than 16 MiB"},
	} {
		cfg, err := parseFlags(append([]string{"tcp://127.0.0.1:1"}, tc.args...), io.Discard)
		if err == nil {
			err = cfg.loadPairs()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}

// The pairs parser never panics; its errors are one line and name the
// line; what it accepts has a request in each pair, no empty reply, and
// no message over the bound. Seeds: testdata/fuzz/FuzzParsePairs.
func FuzzParsePairs(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		pairs, err := parsePairs(data)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			return
		}
		if len(pairs) == 0 {
			t.Fatal("accepted a file without requests")
		}
		for _, p := range pairs {
			if p.reply != nil && len(p.reply) == 0 || len(p.request) > maxMessage || len(p.reply) > maxMessage {
				t.Fatalf("accepted %q", p)
			}
		}
		// Written back with escape, the pairs parse to themselves.
		var b strings.Builder
		for _, p := range pairs {
			b.WriteString("> " + escape(p.request) + "\n")
			if p.reply != nil {
				b.WriteString("< " + escape(p.reply) + "\n")
			}
		}
		again, err := parsePairs([]byte(b.String()))
		if err != nil || fmt.Sprint(again) != fmt.Sprint(pairs) {
			t.Fatalf("round trip: %q → %q, %v", pairs, again, err)
		}
	})
}

func TestUnescape(t *testing.T) {
	got, err := unescape(`a\n\r\t\0\\\x7f\xFFz`)
	if err != nil || string(got) != "a\n\r\t\x00\\\x7f\xffz" {
		t.Fatalf("unescape = %q, %v", got, err)
	}
	for in, want := range map[string]string{
		`\`:    "a lone backslash",
		`ab\q`: `unknown escape \q at offset 2`,
		`\x`:   `\x at offset 0 needs two hex digits`,
		`\xg0`: "needs two hex digits",
		`\x0`:  "needs two hex digits",
	} {
		if _, err := unescape(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("unescape(%q) = %v, want an error with %q", in, err, want)
		}
	}
}

// Escaping any bytes and unescaping them gives them back; unescape never
// panics, and its errors are one line. Seeds: testdata/fuzz/FuzzUnescape.
func FuzzUnescape(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := unescape(s); err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
		} else if len(p) > len(s) {
			t.Fatalf("unescape(%q) grew to %d bytes", s, len(p))
		}
		e := escape([]byte(s))
		back, err := unescape(e)
		if err != nil || string(back) != s {
			t.Fatalf("unescape(escape(%q)) = %q, %v", s, back, err)
		}
		if strings.ContainsFunc(e, func(r rune) bool { return r < ' ' || r > '~' }) {
			t.Fatalf("escape(%q) = %q is not printable ASCII", s, e)
		}
	})
}
