//go:build linux

package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"
	"github.com/socketserver-go/socketserver/internal/sockurl"
	"github.com/socketserver-go/socketserver/internal/testcert"
)

// printEnv is a program that prints its environment, then what the
// client sent, so that a test knows it ran for that client.
var printEnv = []string{"/bin/sh", "-c", `env; echo "--"; cat`}

// parseEnv splits printEnv's output into the variables and the echo.
func parseEnv(t *testing.T, out string) (map[string]string, string) {
	t.Helper()
	head, echo, ok := strings.Cut(out, "--\n")
	if !ok {
		t.Fatalf("the program printed %q", out)
	}
	env := map[string]string{}
	for line := range strings.Lines(head) {
		k, v, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
		env[k] = v
	}
	return env, echo
}

// checkEnv compares the UCSPI variables with want: every one of them, and
// no other.
func checkEnv(t *testing.T, what string, env, want map[string]string) {
	t.Helper()
	for k, v := range env {
		if isUCSPIVar(k) && want[k] != v {
			t.Errorf("%s: %s=%q, want %q", what, k, v, want[k])
		}
	}
	for k, v := range want {
		if got, ok := env[k]; !ok || got != v {
			t.Errorf("%s: %s=%q (set: %v), want %q", what, k, got, ok, v)
		}
	}
}

func hostPort(t *testing.T, a net.Addr) (string, string) {
	t.Helper()
	h, p, err := net.SplitHostPort(a.String())
	if err != nil {
		t.Fatal(err)
	}
	return h, p
}

// The UCSPI environment over TCP (v4 and v6), Unix streams and UDP, each
// variable checked. Variables sockserve inherited under those names do not
// reach the program.
func TestProgramEnvironment(t *testing.T) {
	dir := shortDir(t)
	unixPath := filepath.Join(dir, "s")
	args := []string{"-listen", "tcp://127.0.0.1:0", "-listen", "tcp6://[::1]:0", "-listen", "unix://" + unixPath,
		"-listen", "udp://127.0.0.1:0", "-listen", "unixpacket://" + filepath.Join(dir, "p"), "--"}
	t.Setenv("PROTO", "stale")
	t.Setenv("TCPREMOTEHOST", "stale.example")
	t.Setenv("SSL_CIPHER", "stale")
	p := startServe(t, 5, append(args, printEnv...)...)
	defer p.stop(t)

	for _, url := range p.urls[:2] {
		c := dialURL(t, url)
		io.WriteString(c, "over "+url)
		c.(*net.TCPConn).CloseWrite()
		out, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		env, echo := parseEnv(t, string(out))
		if echo != "over "+url {
			t.Errorf("%s: echo %q", url, echo)
		}
		rip, rport := hostPort(t, c.LocalAddr())
		lip, lport := hostPort(t, c.RemoteAddr())
		checkEnv(t, url, env, map[string]string{"PROTO": "TCP", "TCPREMOTEIP": rip, "TCPREMOTEPORT": rport, "TCPLOCALIP": lip, "TCPLOCALPORT": lport})
	}

	for _, url := range []string{p.urls[2], p.urls[4]} {
		c := dialURL(t, url)
		io.WriteString(c, "over unix")
		c.(*net.UnixConn).CloseWrite()
		var out []byte
		if strings.HasPrefix(url, "unixpacket") { // a message per read
			buf := make([]byte, 64<<10)
			for {
				n, err := c.Read(buf)
				if n == 0 || err != nil {
					break
				}
				out = append(out, buf[:n]...)
			}
		} else {
			out, _ = io.ReadAll(c)
		}
		env, echo := parseEnv(t, string(out))
		if echo != "over unix" {
			t.Errorf("%s: echo %q", url, echo)
		}
		_, path, _ := sockurl.Parse(url)
		checkEnv(t, url, env, map[string]string{"PROTO": "UNIX", "UNIXLOCALPATH": path,
			"UNIXREMOTEPID": strconv.Itoa(os.Getpid()), "UNIXREMOTEUID": strconv.Itoa(os.Getuid()), "UNIXREMOTEGID": strconv.Itoa(os.Getgid())})
	}

	c := dialURL(t, p.urls[3])
	env, echo := parseEnv(t, servetest.RoundTrip(t, c, "one datagram"))
	if echo != "one datagram" {
		t.Errorf("udp: echo %q", echo)
	}
	rip, rport := hostPort(t, c.LocalAddr())
	lip, lport := hostPort(t, c.RemoteAddr())
	checkEnv(t, "udp", env, map[string]string{"PROTO": "UDP", "UDPREMOTEIP": rip, "UDPREMOTEPORT": rport, "UDPLOCALIP": lip, "UDPLOCALPORT": lport})
}

// Behind the PROXY protocol (v1 and v2 headers, as HAProxy sends them)
// the remote variables are the original client's, the local ones the
// address it connected to.
func TestProgramEnvironmentProxyProtocol(t *testing.T) {
	p := startServe(t, 1, append([]string{"-listen", "tcp://127.0.0.1:0", "-proxy-protocol", "-trusted-proxy", "127.0.0.1/32", "--"}, printEnv...)...)
	defer p.stop(t)
	v2 := []byte("\r\n\r\n\x00\r\nQUIT\n\x21\x21\x00\x24")
	v2 = append(v2, net.ParseIP("2001:db8::7")...)
	v2 = append(v2, net.ParseIP("2001:db8::1")...)
	v2 = append(v2, 0xc8, 0x22, 0x01, 0xbb) // ports 51234, 443
	for _, tc := range []struct {
		header []byte
		want   map[string]string
	}{
		{header: []byte("PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n"),
			want: map[string]string{"PROTO": "TCP", "TCPREMOTEIP": "203.0.113.7", "TCPREMOTEPORT": "51234", "TCPLOCALIP": "192.0.2.1", "TCPLOCALPORT": "443"}},
		{header: v2,
			want: map[string]string{"PROTO": "TCP", "TCPREMOTEIP": "2001:db8::7", "TCPREMOTEPORT": "51234", "TCPLOCALIP": "2001:db8::1", "TCPLOCALPORT": "443"}},
	} {
		c := dialURL(t, p.urls[0])
		c.Write(tc.header)
		io.WriteString(c, "after the header")
		c.(*net.TCPConn).CloseWrite()
		out, err := io.ReadAll(c)
		if err != nil {
			t.Fatal(err)
		}
		env, echo := parseEnv(t, string(out))
		if echo != "after the header" {
			t.Errorf("echo %q", echo)
		}
		checkEnv(t, "PROXY", env, tc.want)
	}
}

// Through TLS with a client certificate the program gets the SSL_
// variables, and the client its bytes, in the clear.
func TestProgramEnvironmentTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.New(t)
	caFile := ca.WriteCA(t, dir)
	certFile, keyFile := testcert.WritePEM(t, dir, "server", ca.Issue(t, "server", false))
	p := startServe(t, 1, append([]string{"-listen", "tcp://127.0.0.1:0", "-tls-cert", certFile, "-tls-key", keyFile,
		"-tls-client-ca", caFile, "--"}, printEnv...)...)
	defer p.stop(t)
	c, err := tls.Dial("tcp", strings.TrimPrefix(p.urls[0], "tcp://"), &tls.Config{RootCAs: ca.Pool,
		Certificates: []tls.Certificate{ca.Issue(t, "a client", true)}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "secret")
	c.CloseWrite()
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	env, echo := parseEnv(t, string(out))
	if echo != "secret" {
		t.Errorf("echo %q", echo)
	}
	st := c.ConnectionState()
	rip, rport := hostPort(t, c.LocalAddr())
	lip, lport := hostPort(t, c.RemoteAddr())
	checkEnv(t, "tls", env, map[string]string{"PROTO": "TCP", "TCPREMOTEIP": rip, "TCPREMOTEPORT": rport, "TCPLOCALIP": lip, "TCPLOCALPORT": lport,
		"SSL_PROTOCOL": "TLSv1.3", "SSL_CIPHER": tls.CipherSuiteName(st.CipherSuite), "SSL_CLIENT_S_DN": "CN=a client"})
}

// cat echoes a payload larger than any buffer byte for byte, over a
// handed-over socket (TCP, Unix) and through a relay (TLS; a timeout,
// which needs the relay to see the bytes), and the client's half-close
// reaches it: it ends, and its end reaches the client.
func TestProgramCat(t *testing.T) {
	dir := t.TempDir()
	ca := testcert.New(t)
	certFile, keyFile := testcert.WritePEM(t, dir, "server", ca.Issue(t, "server", false))
	payload := make([]byte, 8<<20)
	rand.Read(payload)
	for _, tc := range []struct {
		name string
		args []string
		dial func(url string) net.Conn
	}{
		{name: "tcp", args: []string{"-listen", "tcp://127.0.0.1:0"}},
		{name: "unix", args: []string{"-listen", "unix://" + filepath.Join(shortDir(t), "s")}},
		{name: "read-timeout", args: []string{"-listen", "tcp://127.0.0.1:0", "-read-timeout", "5s"}},
		{name: "tls", args: []string{"-listen", "tcp://127.0.0.1:0", "-tls-cert", certFile, "-tls-key", keyFile},
			dial: func(url string) net.Conn {
				c, err := tls.Dial("tcp", strings.TrimPrefix(url, "tcp://"), &tls.Config{RootCAs: ca.Pool})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				c.SetDeadline(time.Now().Add(20 * time.Second))
				return c
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startServe(t, 1, append(tc.args, "--", "cat")...)
			var c net.Conn
			if tc.dial != nil {
				c = tc.dial(p.urls[0])
			} else {
				c = dialURL(t, p.urls[0])
			}
			wrote := make(chan error, 1)
			go func() {
				_, err := c.Write(payload)
				if err == nil {
					err = c.(interface{ CloseWrite() error }).CloseWrite()
				}
				wrote <- err
			}()
			got, err := io.ReadAll(c)
			if werr := <-wrote; werr != nil || err != nil {
				t.Fatalf("write: %v; read: %v", werr, err)
			}
			if !bytes.Equal(got, payload) {
				t.Fatalf("cat returned %d bytes, not the %d sent", len(got), len(payload))
			}
			if code := p.stop(t); code != 0 {
				t.Fatalf("exit %d: %s", code, p.stderr)
			}
			if strings.Contains(p.stderr.String(), "level=ERROR") {
				t.Errorf("errors logged:\n%s", p.stderr)
			}
		})
	}
}

// A real HTTPS client, curl, gets a plain program's reply through
// sockserve's TLS.
func TestProgramBehindTLSWithCurl(t *testing.T) {
	curl := servetest.Need(t, "curl", "curl")
	dir := t.TempDir()
	ca := testcert.New(t)
	caFile := ca.WriteCA(t, dir)
	certFile, keyFile := testcert.WritePEM(t, dir, "server", ca.Issue(t, "server", false))
	p := startServe(t, 1, "-listen", "tcp://127.0.0.1:0", "-tls-cert", certFile, "-tls-key", keyFile, "--",
		"/bin/sh", "-c", `read request; printf 'HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n%s from %s over %s\n' "$request" "$TCPREMOTEIP" "$SSL_PROTOCOL"`)
	out, err := exec.Command(curl, "-sS", "--max-time", "10", "--cacert", caFile, "https://localhost:"+strings.TrimPrefix(p.urls[0], "tcp://127.0.0.1:")+"/hello").CombinedOutput()
	if got := string(out); err != nil || !strings.HasPrefix(got, "GET /hello HTTP/1.1\r from 127.0.0.1 over TLSv1.") {
		t.Errorf("curl: %q, %v", out, err)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d: %s", code, p.stderr)
	}
}

// A program's exit status is logged and counted: a failure, a death by a
// signal, a success. Its standard error reaches the log, with the
// connection's ID.
func TestProgramExitStatus(t *testing.T) {
	p := startServe(t, 1, "-listen", "tcp://127.0.0.1:0", "-admin", "tcp://127.0.0.1:0", "--",
		"/bin/sh", "-c", `read what; echo "told to $what" >&2; case $what in fail) exit 3;; kill) kill -9 $$;; esac; echo done`)
	for _, what := range []string{"fail", "kill", "succeed"} {
		if got := ask(t, p.urls[0], what+"\n"); (what == "succeed") != (got == "done\n") {
			t.Errorf("%s: the client got %q", what, got)
		}
	}
	// The last client has its answer before its program has exited and
	// been counted: the metrics are read until they have it all.
	wants := []string{`sockserve_program_exits_total{result="failure"} 1`, `sockserve_program_exits_total{result="signal"} 1`,
		`sockserve_program_exits_total{result="success"} 1`, `socketserver_errors_total{kind="child",server="` + p.urls[0] + `"} 2`,
		"sockserve_programs_running 0"}
	var metrics, lacks string
	defer func() {
		if t.Failed() && lacks != "" {
			t.Logf("no %s in the metrics:\n%s", lacks, grepLines(metrics, "sockserve_|errors_total"))
		}
	}()
	servetest.WaitUntil(t, "/metrics counts every program's exit", func() bool {
		metrics, lacks = adminGet(t, p.admin, "/metrics"), ""
		if i := slices.IndexFunc(wants, func(w string) bool { return !strings.Contains(metrics, w) }); i >= 0 {
			lacks = wants[i]
		}
		return lacks == ""
	})
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}
	log := p.stderr.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`level=ERROR .*child \d+: /bin/sh exited with status 3`),
		regexp.MustCompile(`level=ERROR .*child \d+: /bin/sh killed by signal 9 \(killed\)`),
		regexp.MustCompile(`msg="sockserve: program stderr" conn=1 remote=127\.0\.0\.1:\d+ pid=\d+ line="told to fail"`),
		regexp.MustCompile(`msg="sockserve: program stderr" conn=3 remote=127\.0\.0\.1:\d+ pid=\d+ line="told to succeed"`),
	} {
		if !want.MatchString(log) {
			t.Errorf("the log has no match for %s:\n%s", want, log)
		}
	}
}

func grepLines(s, pattern string) string {
	re := regexp.MustCompile(pattern)
	var b strings.Builder
	for line := range strings.Lines(s) {
		if re.MatchString(line) && !strings.HasPrefix(line, "#") {
			b.WriteString(line)
		}
	}
	return b.String()
}

// At -max-children, sockserve runs no more programs: further clients wait
// in the backlog, none is refused, and each is served when a program
// ends.
func TestProgramMaxChildren(t *testing.T) {
	p := startServe(t, 1, "-listen", "tcp://127.0.0.1:0", "-max-children", "2", "-admin", "tcp://127.0.0.1:0", "--",
		"/bin/sh", "-c", `read line; echo "$line"`)
	defer p.stop(t)
	conns := make([]net.Conn, 5)
	for i := range conns {
		conns[i] = dialURL(t, p.urls[0]) // not refused
	}
	running := regexp.MustCompile(`(?m)^sockserve_programs_running (\d+)$`)
	value := func() string {
		m := running.FindStringSubmatch(adminGet(t, p.admin, "/metrics"))
		if m == nil {
			return ""
		}
		return m[1]
	}
	servetest.WaitUntil(t, "two programs running", func() bool { return value() == "2" })
	// The others wait; answered in turn as programs end.
	for i := len(conns) - 1; i >= 0; i-- {
		fmt.Fprintf(conns[i], "client %d\n", i)
	}
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() {
			if got, err := bufio.NewReader(c).ReadString('\n'); got != fmt.Sprintf("client %d\n", i) {
				t.Errorf("client %d got %q, %v", i, got, err)
			}
		})
	}
	wg.Wait()
	servetest.WaitUntil(t, "every program to end", func() bool { return value() == "0" })
}

// At shutdown programs get SIGTERM; one that ignores it gets SIGKILL when
// -grace is over, and sockserve says so.
func TestProgramShutdown(t *testing.T) {
	for _, tc := range []struct {
		name, script string
		code         int
		signal       string
	}{
		{name: "SIGTERM", script: `echo started; exec sleep 60`, code: 0, signal: "terminated"},
		{name: "SIGKILL", script: `trap "" TERM; echo started; exec sleep 60`, code: 1, signal: "killed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startServe(t, 1, "-listen", "tcp://127.0.0.1:0", "-grace", "300ms", "--", "/bin/sh", "-c", tc.script)
			c := dialURL(t, p.urls[0])
			if got, err := bufio.NewReader(c).ReadString('\n'); got != "started\n" {
				t.Fatalf("%q, %v", got, err)
			}
			if code := p.stop(t); code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", code, tc.code, p.stderr)
			}
			if log := p.stderr.String(); !strings.Contains(log, `msg="sockserve: program stopped at shutdown" conn=1`) ||
				!strings.Contains(log, "signal="+tc.signal) || strings.Contains(log, "level=ERROR") {
				t.Errorf("the log does not say the program was stopped by %s:\n%s", tc.signal, log)
			}
		})
	}
}

// At shutdown the signal reaches what the program started too: its
// process group.
func TestProgramShutdownGroup(t *testing.T) {
	p := startServe(t, 1, "-listen", "tcp://127.0.0.1:0", "--", "/bin/sh", "-c", `sleep 60 & echo $!; wait`)
	line, err := bufio.NewReader(dialURL(t, p.urls[0])).ReadString('\n')
	sleeper, _ := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || sleeper == 0 {
		t.Fatalf("%q, %v", line, err)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d:\n%s", code, p.stderr)
	}
	servetest.WaitUntil(t, "the program's background sleep to end", func() bool {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", sleeper))
		if err != nil {
			return true
		}
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		return len(f) > 0 && f[0] == "Z" // dead, waiting for whoever adopted it
	})
}

// A relayed program that exits without reading all its input is no
// error, and its output reaches the client whole.
func TestProgramRelayUnreadInput(t *testing.T) {
	p := startServe(t, 1, "-listen", "tcp://127.0.0.1:0", "-read-timeout", "5s", "--", "/bin/sh", "-c", "echo early")
	c := dialURL(t, p.urls[0])
	go func() {
		c.Write(make([]byte, 4<<20)) // fails part way: the program is gone
		c.(*net.TCPConn).CloseWrite()
	}()
	if got, err := io.ReadAll(c); string(got) != "early\n" {
		t.Errorf("got %q, %v", got, err)
	}
	if code := p.stop(t); code != 0 || strings.Contains(p.stderr.String(), "level=ERROR") {
		t.Errorf("exit %d; an error logged:\n%s", code, p.stderr)
	}
}

// A client that has gone away when the program writes ends the program
// by SIGPIPE: counted, but no error in the log, since any client can do
// it. (A program that exits with an error status instead, as yes does on
// ECONNRESET, is logged as any failing program.)
func TestProgramClientGoneAway(t *testing.T) {
	p := startServe(t, 1, "-listen", "tcp://127.0.0.1:0", "-admin", "tcp://127.0.0.1:0", "--", "/bin/sh", "-c", "read x; exec yes")
	c := dialURL(t, p.urls[0])
	io.WriteString(c, "go\n")
	c.Close() // before the program writes: its socket is in CLOSE_WAIT, and the client's reset makes its writes fail with EPIPE
	servetest.WaitUntil(t, "the program to end", func() bool {
		return strings.Contains(adminGet(t, p.admin, "/metrics"), `sockserve_program_exits_total{result="signal"} 1`)
	})
	if code := p.stop(t); code != 0 || strings.Contains(p.stderr.String(), "level=ERROR") {
		t.Errorf("exit %d; an error logged for a client gone away:\n%s", code, p.stderr)
	}
}

// A program that leaves a process holding its standard error open is
// reaped all the same, and its slot freed, once it has exited.
func TestProgramStderrHeldOpen(t *testing.T) {
	p := startServe(t, 1, "-listen", "tcp://127.0.0.1:0", "-admin", "tcp://127.0.0.1:0", "--",
		"/bin/sh", "-c", `sleep 60 </dev/null >/dev/null & echo $!; echo "left behind" >&2`)
	out, err := io.ReadAll(dialURL(t, p.urls[0])) // ends: the sleep holds no stdout
	sleeper, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || sleeper == 0 {
		t.Fatalf("%q, %v", out, err)
	}
	defer syscall.Kill(sleeper, syscall.SIGKILL)
	servetest.WaitUntil(t, "the program to be reaped", func() bool {
		return strings.Contains(adminGet(t, p.admin, "/metrics"), `sockserve_program_exits_total{result="success"} 1`)
	})
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d", code)
	}
	if !strings.Contains(p.stderr.String(), `line="left behind"`) {
		t.Errorf("its standard error was not logged:\n%s", p.stderr)
	}
}

// A client outside -allow starts no program; -read-timeout cuts a silent
// client off, and the program with it.
func TestProgramLimits(t *testing.T) {
	p := startServe(t, 1, "-listen", "tcp://127.0.0.1:0", "-allow", "127.0.0.2/32", "-read-timeout", "200ms",
		"-admin", "tcp://127.0.0.1:0", "--", "cat")
	defer p.stop(t)
	if got, _ := io.ReadAll(dialURL(t, p.urls[0])); len(got) != 0 {
		t.Errorf("a client outside -allow got %q", got)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", strings.TrimPrefix(p.urls[0], "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if got, err := io.ReadAll(c); len(got) != 0 || err != nil { // closed by the timeout: EOF, well before the deadline
		t.Errorf("a silent client got %q, %v", got, err)
	}
	// The client sees its connection close before the program's exit is
	// counted: the metrics are read until they have it.
	var metrics string
	defer func() {
		if t.Failed() {
			t.Logf("want one program run, for the allowed client:\n%s", grepLines(metrics, "sockserve_"))
		}
	}()
	servetest.WaitUntil(t, "/metrics counts the allowed client's program", func() bool {
		metrics = adminGet(t, p.admin, "/metrics")
		return strings.Contains(metrics, `sockserve_program_exits_total{result="success"} 1`)
	})
}

// Bad input is one line on stderr and exit status 2, before anything is
// bound: never a failure per connection.
func TestProgramBadInput(t *testing.T) {
	notExec := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\necho hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	listen := []string{"-listen", "tcp://127.0.0.1:0"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{args: append(listen, "--", "/nonexistent/program"), want: `program "/nonexistent/program" does not exist`},
		{args: append(listen, "no-such-program-anywhere"), want: `program "no-such-program-anywhere" not found in $PATH`},
		{args: append(listen, notExec), want: "is not an executable file"},
		{args: append(listen, "--", t.TempDir()), want: "is a directory"},
		{args: append(listen, "--"), want: "no program after --"},
		{args: append(listen, "-service", "echo", "cat"), want: `-service and a program ("cat") cannot be given together`},
		{args: append(listen, "-mode", "event", "cat"), want: "-mode event does not go with a program"},
		{args: append(listen, "-mode", "fork", "cat"), want: "-mode fork does not go with a program"},
		{args: append(listen, "-workers", "4", "cat"), want: "-workers does not apply to a program"},
	} {
		cmd := exec.Command(binary, tc.args...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cmd.Run()
		if code := cmd.ProcessState.ExitCode(); code != 2 || stdout.Len() > 0 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("sockserve %s: exit %d, stdout %q, stderr %q; want exit 2 and one line with %q", strings.Join(tc.args, " "), code, stdout.String(), stderr.String(), tc.want)
		}
	}
}
