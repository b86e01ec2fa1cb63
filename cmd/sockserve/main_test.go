package main

import (
	"bufio"
	"errors"
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
	"syscall"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"

	"go.uber.org/goleak"

	"github.com/socketserver-go/socketserver/internal/sockurl"
)

// binary is the sockserve built once for the tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sockserve")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "sockserve")
	if out, err := exec.Command("go", slices.Concat([]string{"build", "-race"}, servetest.BuildFlags(), []string{"-o", binary, "."})...).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building sockserve: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goroutines leaked: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// A process is a running sockserve and the URLs it announced.
type process struct {
	cmd    *exec.Cmd
	urls   []string
	admin  string // the admin endpoint's URL, with -admin
	stderr *strings.Builder
}

// startServe starts sockserve with args and reads its "listening on"
// lines, one per -listen.
func startServe(t *testing.T, listeners int, args ...string) *process {
	t.Helper()
	cmd := exec.Command(binary, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, stderr: new(strings.Builder)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	lines := bufio.NewScanner(stdout)
	for range listeners {
		if !lines.Scan() {
			cmd.Wait()
			t.Fatalf("sockserve ended before announcing its listeners: %s", p.stderr)
		}
		url, ok := strings.CutPrefix(lines.Text(), "listening on ")
		if !ok {
			t.Fatalf("sockserve printed %q, want \"listening on URL\"", lines.Text())
		}
		p.urls = append(p.urls, url)
	}
	if slices.Contains(args, "-admin") {
		if !lines.Scan() || !strings.HasPrefix(lines.Text(), "admin on ") {
			t.Fatalf("sockserve printed %q after its listeners, want \"admin on URL\"", lines.Text())
		}
		p.admin = strings.TrimPrefix(lines.Text(), "admin on ")
	}
	go io.Copy(io.Discard, stdout)
	return p
}

// stop sends SIGTERM and returns the exit code.
func (p *process) stop(t *testing.T) int {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	return p.wait(t)
}

// wait waits for the process to exit and returns its exit code.
func (p *process) wait(t *testing.T) int {
	t.Helper()
	err := p.cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return p.cmd.ProcessState.ExitCode()
}

// dialURL connects to a sockserve URL; Unix datagram clients bind a path.
func dialURL(t *testing.T, url string) net.Conn {
	t.Helper()
	network, address, err := sockurl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	var c net.Conn
	if network == "unixgram" {
		laddr := &net.UnixAddr{Net: network, Name: address + ".client"}
		c, err = net.DialUnix(network, laddr, &net.UnixAddr{Net: network, Name: address})
		t.Cleanup(func() { os.Remove(laddr.Name) })
	} else {
		c, err = net.Dial(network, address)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

func isStream(url string) bool {
	network, _, _ := sockurl.Parse(url)
	return !strings.HasPrefix(network, "udp") && network != "unixgram"
}

// ask sends msg and returns the reply: the rest of the stream, or one
// datagram.
func ask(t *testing.T, url, msg string) string {
	t.Helper()
	c := dialURL(t, url)
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("%s: write: %v", url, err)
	}
	if isStream(url) {
		c.(interface{ CloseWrite() error }).CloseWrite()
		reply, err := io.ReadAll(c)
		if err != nil {
			t.Fatalf("%s: read: %v", url, err)
		}
		return string(reply)
	}
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("%s: read: %v", url, err)
	}
	return string(buf[:n])
}

// listenArgs returns -listen flags for every transport the mode serves, on
// loopback and in dir.
func listenArgs(dir, mode string) []string {
	urls := []string{
		"tcp://127.0.0.1:0", "tcp4://127.0.0.1:0", "tcp6://[::1]:0",
		"udp://127.0.0.1:0", "udp4://127.0.0.1:0", "udp6://[::1]:0",
		"unix://" + filepath.Join(dir, "s"), "unixgram://" + filepath.Join(dir, "g"),
	}
	if mode != "event" {
		urls = append(urls, "unixpacket://"+filepath.Join(dir, "p"))
	}
	var args []string
	for _, u := range urls {
		args = append(args, "-listen", u)
	}
	return args
}

func shortDir(t *testing.T) string {
	dir, err := os.MkdirTemp("", "ss")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// Every service over every transport in every mode; SIGTERM exits 0.
func TestServices(t *testing.T) {
	for _, mode := range []string{"sync", "goroutine", "pool", "event", "fork", "fork+spares", "prefork"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			for _, svc := range []string{"echo", "upper", "pid", "discard", "daytime"} {
				listen := listenArgs(shortDir(t), mode)
				args := append(modeArgs(mode), "-service", svc)
				p := startServe(t, len(listen)/2, append(args, listen...)...)
				pid := strconv.Itoa(p.cmd.Process.Pid)
				for _, url := range p.urls {
					msg := "hello from " + url + "\n"
					var want string
					switch svc {
					case "echo":
						want = msg
					case "upper":
						want = strings.ToUpper(msg)
					case "pid":
						want = pid + ": " + msg
						if strings.HasPrefix(mode, "fork") || mode == "prefork" {
							want = "" // checked below: another process
						}
					}
					if svc == "discard" {
						c := dialURL(t, url)
						io.WriteString(c, msg)
						if isStream(url) {
							c.(interface{ CloseWrite() error }).CloseWrite()
							if rest, err := io.ReadAll(c); err != nil || len(rest) != 0 {
								t.Errorf("%s discard: read %q, %v", url, rest, err)
							}
						}
						continue
					}
					var got string
					if svc == "daytime" && isStream(url) {
						// RFC 867: the server answers on connect, reads nothing.
						reply, err := io.ReadAll(dialURL(t, url))
						if err != nil {
							t.Errorf("%s daytime: %v", url, err)
						}
						got = string(reply)
					} else {
						got = ask(t, url, msg)
					}
					if svc == "daytime" {
						if _, err := time.Parse(daytimeLayout+"\r\n", got); err != nil {
							t.Errorf("%s daytime: %q: %v", url, got, err)
						}
						continue
					}
					if want == "" {
						if served, rest, _ := strings.Cut(got, ": "); served == pid || rest != msg {
							t.Errorf("%s pid in %s mode: got %q, want another process than %s", url, mode, got, pid)
						}
						continue
					}
					if got != want {
						t.Errorf("%s %s: got %q, want %q", url, svc, got, want)
					}
				}
				if code := p.stop(t); code != 0 {
					t.Fatalf("%s: exit status %d after SIGTERM, want 0; stderr:\n%s", svc, code, p.stderr)
				}
				for _, url := range p.urls {
					if network, path, _ := sockurl.Parse(url); strings.HasPrefix(network, "unix") {
						if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
							t.Errorf("socket file %s left after exit: %v", path, err)
						}
					}
				}
			}
		})
	}
}

// modeArgs returns the flags for a mode of TestServices.
func modeArgs(mode string) []string {
	switch mode {
	case "fork+spares":
		return []string{"-mode", "fork", "-spares", "2", "-max-children", "8"}
	case "fork":
		return []string{"-mode", "fork", "-max-children", "8"}
	}
	return []string{"-mode", mode, "-workers", "2", "-loops", "2"}
}

// A SIGTERM during a request is a graceful shutdown: the request is
// answered, then sockserve exits 0.
func TestSIGTERMIsGraceful(t *testing.T) {
	p := startServe(t, 1, "-service", "upper", "-listen", "tcp://127.0.0.1:0")
	c := dialURL(t, p.urls[0])
	io.WriteString(c, "before ")
	acceptedBefore(t, p.urls[0])
	p.cmd.Process.Signal(syscall.SIGTERM)
	waitListenerClosed(t, p.urls[0]) // at once; the request goes on
	io.WriteString(c, "and after SIGTERM\n")
	rest, err := io.ReadAll(c)
	if err != nil || string(rest) != "BEFORE AND AFTER SIGTERM\n" {
		t.Fatalf("after SIGTERM the request got %q, %v", rest, err)
	}
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit status %d, want 0; stderr:\n%s", code, p.stderr)
	}
}

// acceptedBefore makes sure the connections made to an upper service at
// url so far were accepted: connections are accepted in turn, and a new
// one is answered.
func acceptedBefore(t *testing.T, url string) {
	t.Helper()
	if got := servetest.RoundTrip(t, dialURL(t, url), "later\n"); got != "LATER\n" {
		t.Fatalf("got %q", got)
	}
}

// waitListenerClosed waits until connections to a tcp:// URL are refused.
func waitListenerClosed(t *testing.T, url string) {
	t.Helper()
	servetest.WaitUntil(t, "the listener to close", func() bool {
		c, err := net.Dial("tcp", strings.TrimPrefix(url, "tcp://"))
		if err == nil {
			c.Close()
		}
		return err != nil
	})
}

// A request that outlasts -grace is cut, and sockserve says so and exits 1.
func TestGraceExpires(t *testing.T) {
	p := startServe(t, 1, "-service", "upper", "-grace", "50ms", "-listen", "tcp://127.0.0.1:0")
	c := dialURL(t, p.urls[0])
	io.WriteString(c, "half a line") // a request under way, never finished
	acceptedBefore(t, p.urls[0])
	code := p.stop(t)
	log := p.stderr.String()
	if code != 1 || !strings.Contains(log, "shutdown did not finish within the grace period (-grace 50ms): 1 connection cut") ||
		strings.Contains(log, "signal:") {
		t.Fatalf("exit status %d, want 1 and the grace period named; stderr:\n%s", code, log)
	}
}

// A second signal during a graceful shutdown closes what is left at once,
// and sockserve says it was the signal, not the grace period, that cut the
// connection.
func TestSecondSignalForces(t *testing.T) {
	p := startServe(t, 1, "-service", "upper", "-grace", "1h", "-listen", "tcp://127.0.0.1:0")
	c := dialURL(t, p.urls[0])
	io.WriteString(c, "half a line") // a request under way, never finished
	acceptedBefore(t, p.urls[0])
	p.cmd.Process.Signal(syscall.SIGTERM)
	waitListenerClosed(t, p.urls[0])
	p.cmd.Process.Signal(syscall.SIGINT)
	code := p.wait(t)
	log := p.stderr.String()
	if code != 1 || !strings.Contains(log, "second signal: closing every connection now") ||
		!regexp.MustCompile(`shutdown forced by a second signal \(interrupt\) after [0-9.]+m?s: 1 connection cut`).MatchString(log) ||
		strings.Contains(log, "grace period") {
		t.Fatalf("exit status %d, want 1 and the second signal named; stderr:\n%s", code, log)
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("the connection is still open")
	}
}

// -allow admits only the listed networks.
func TestAllow(t *testing.T) {
	p := startServe(t, 1, "-service", "upper", "-allow", "127.0.0.2/32", "-listen", "tcp://127.0.0.1:0")
	defer p.stop(t)
	// A rejected client is closed at once: it sees EOF, or a reset if its
	// request was still unread.
	refused := dialURL(t, p.urls[0])
	io.WriteString(refused, "from 127.0.0.1\n")
	if got, err := io.ReadAll(refused); len(got) != 0 || (err != nil && !errors.Is(err, syscall.ECONNRESET)) {
		t.Errorf("a client outside -allow got %q, %v", got, err)
	}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
	c, err := d.Dial("tcp", strings.TrimPrefix(p.urls[0], "tcp://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "allowed\n")
	if reply, _ := io.ReadAll(c); string(reply) != "ALLOWED\n" {
		t.Errorf("a client inside -allow got %q", reply)
	}
}

// Bad invocations exit non-zero with one line on stderr.
func TestBadInvocations(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{args: []string{"-service", "echo"}, code: 2, want: "-listen is required"},
		{args: []string{"-listen", "tcp://127.0.0.1:0"}, code: 2, want: "-service or a program is required"},
		{args: []string{"-service", "nope", "-listen", "tcp://127.0.0.1:0"}, code: 2, want: `unknown service "nope"`},
		{args: []string{"-service", "echo", "-listen", "tcp://127.0.0.1"}, code: 2, want: "missing :port"},
		{args: []string{"-service", "echo", "-listen", "ftp://127.0.0.1:21"}, code: 2, want: `unknown scheme "ftp"`},
		{args: []string{"-service", "echo", "-listen", "tcp://127.0.0.1:0", "-mode", "forking"}, code: 2, want: `unknown -mode "forking"`},
		{args: []string{"-service", "echo", "-listen", "tcp://127.0.0.1:0", "-allow", "10.0.0.0/33"}, code: 2, want: "not a CIDR"},
		{args: []string{"-service", "echo", "-listen", "tcp://127.0.0.1:0", "-log-format", "xml"}, code: 2, want: "-log-format must be text or json"},
		{args: []string{"-service", "echo", "-bogus"}, code: 2, want: "flag provided but not defined: -bogus"},
		{args: []string{"-service", "echo", "-listen", "tcp://127.0.0.1:0", "-proxy-protocol"}, code: 2, want: "needs at least one -trusted-proxy"},
		{args: []string{"-service", "echo", "-listen", "tcp://127.0.0.1:0", "-tls-cert", "c.pem"}, code: 2, want: "-tls-cert and -tls-key go together"},
		{args: []string{"-service", "echo", "-listen", "tcp://127.0.0.1:0", "-tls-cert", "/nonexistent", "-tls-key", "/nonexistent"}, code: 1, want: "TLS certificate"},
		{args: []string{"-service", "echo", "-listen", "tcp://127.0.0.1:0", "-drain-delay", "1s"}, code: 2, want: "-drain-delay needs -admin"},
		{args: []string{"-service", "echo", "-listen", "tcp://127.0.0.1:0", "-admin", "udp://127.0.0.1:0"}, code: 1, want: "-admin must be a tcp:// URL"},
		{args: []string{"-service", "echo", "-listen", "tcp://127.0.0.1:0", "-mode", "fork", "-spares", "50"}, code: 2, want: "-spares must be between 0 and -max-children"},
		{args: []string{"-service", "echo", "-listen", "tcp://" + taken.Addr().String()}, code: 1, want: "address already in use"},
	} {
		cmd := exec.Command(binary, tc.args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		cmd.Run()
		lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
		if code := cmd.ProcessState.ExitCode(); code != tc.code || len(lines) != 1 || !strings.Contains(lines[0], tc.want) {
			t.Errorf("sockserve %s: exit %d, stderr %q; want exit %d and one line with %q", strings.Join(tc.args, " "), code, stderr.String(), tc.code, tc.want)
		}
	}
}

// The flag parser never panics, and its errors are one line.
func FuzzParseFlags(f *testing.F) {
	for _, seed := range []string{
		"-service\x00echo\x00-listen\x00tcp://127.0.0.1:0",
		"-service\x00upper\x00-listen\x00unix:///tmp/x\x00-mode\x00pool\x00-workers\x004",
		"-allow\x0010.0.0.0/8\x00-grace\x001s\x00-idle-timeout\x00-1s",
		"-listen\x00tcp6://[::1]:0\x00-log-format\x00json\x00extra",
		"-listen\x00tcp://127.0.0.1:0\x00-max-children\x002\x00--\x00cat\x00-u",
		"-listen\x00udp://127.0.0.1:0\x00-mode\x00event\x00/bin/sh\x00-c\x00env",
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
		if !cfg.version && ((cfg.service == "") == (cfg.program == nil) || len(cfg.listen) == 0) {
			t.Fatalf("accepted a configuration without one service or program, or without a listener: %+v", cfg)
		}
	})
}
