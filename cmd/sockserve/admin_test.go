package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"
)

// adminGet fetches path from the admin endpoint at url (tcp://host:port).
func adminGet(t *testing.T, url, path string) string {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get("http://" + loopback(url) + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// loopback returns the host:port of a tcp:// URL, with an unspecified
// address ([::], 0.0.0.0) replaced by 127.0.0.1: tests talk to loopback
// only.
func loopback(url string) string {
	host, port, _ := net.SplitHostPort(strings.TrimPrefix(url, "tcp://"))
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// -admin tcp://…:0 says which port it got, after the listeners, and the
// endpoint answers there. On loopback it gives no warning.
func TestAdminAnnounced(t *testing.T) {
	p := startServe(t, 1, "-service", "echo", "-listen", "tcp://127.0.0.1:0", "-admin", "tcp://127.0.0.1:0")
	if strings.HasSuffix(p.admin, ":0") || !strings.HasPrefix(p.admin, "tcp://127.0.0.1:") {
		t.Fatalf("admin on %q, want the bound port", p.admin)
	}
	if got := adminGet(t, p.admin, "/healthz"); got != "ok\n" {
		t.Errorf("/healthz: %q", got)
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d: %s", code, p.stderr)
	}
	if strings.Contains(p.stderr.String(), "admin endpoint is open") {
		t.Errorf("a warning for a loopback admin endpoint:\n%s", p.stderr)
	}
}

// An admin endpoint on every interface is announced with a warning on
// stderr: it has no authentication.
func TestAdminOffLoopbackWarns(t *testing.T) {
	p := startServe(t, 1, "-service", "echo", "-listen", "tcp://127.0.0.1:0", "-admin", "tcp://:0")
	if got := adminGet(t, p.admin, "/healthz"); got != "ok\n" {
		t.Errorf("/healthz: %q", got)
	}
	p.stop(t)
	if log := p.stderr.String(); !strings.Contains(log, "level=WARN") || !strings.Contains(log, "admin endpoint is open to other hosts, without authentication") ||
		!strings.Contains(log, p.admin) {
		t.Errorf("no warning naming %s:\n%s", p.admin, log)
	}
}

// Idle keep-alive connections to the admin endpoint are closed after
// -admin-timeout, and so is a connection that sends half a request
// header and stops.
func TestAdminTimeouts(t *testing.T) {
	p := startServe(t, 1, "-service", "echo", "-listen", "tcp://127.0.0.1:0",
		"-admin", "tcp://127.0.0.1:0", "-admin-timeout", "300ms")
	defer p.stop(t)
	const idle = 50
	conns := make([]net.Conn, 0, idle+1)
	for range idle {
		c := dialURL(t, "tcp://"+loopback(p.admin))
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: admin\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 || resp.Close {
			t.Fatalf("a keep-alive request: %v, %v", resp, err)
		}
		io.Copy(io.Discard, resp.Body)
		conns = append(conns, c)
	}
	half := dialURL(t, "tcp://"+loopback(p.admin))
	io.WriteString(half, "GET /metrics HTTP/1.1\r\nHost: adm")
	conns = append(conns, half)

	start := time.Now()
	for i, c := range conns {
		// The server closes the connection: EOF (a keep-alive connection has
		// had its whole reply already), well before the 10s deadline.
		if rest, err := io.ReadAll(c); err != nil || (i < idle && len(rest) > 0) {
			t.Fatalf("connection %d: read %q, %v; want the server to close it", i, rest, err)
		}
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("connections closed after %v, before -admin-timeout", d)
	}
}

// /metrics is true in fork and prefork mode too: the connections, bytes
// and durations of what the children and workers served.
func TestAdminMetricsInProcessModes(t *testing.T) {
	for _, mode := range []string{"fork", "prefork"} {
		t.Run(mode, func(t *testing.T) {
			p := startServe(t, 1, "-service", "echo", "-mode", mode, "-listen", "tcp://127.0.0.1:0", "-admin", "tcp://127.0.0.1:0")
			defer p.stop(t)
			const n = 20
			for i := range n {
				if got := ask(t, p.urls[0], "metrics please\n"); got != "metrics please\n" {
					t.Fatalf("request %d: %q", i, got)
				}
			}
			server := `server="` + p.urls[0] + `"`
			want := []string{
				"socketserver_connections_total{" + server + "} 20",
				"socketserver_request_duration_seconds_count{" + server + "} 20",
				"socketserver_received_bytes_total{" + server + "} 300",
				"socketserver_sent_bytes_total{" + server + "} 300",
				"socketserver_connections_active{" + server + "} 0",
			}
			var lacks string
			defer func() {
				if t.Failed() {
					t.Logf("/metrics lacks %s", lacks)
				}
			}()
			servetest.WaitUntil(t, "/metrics shows what the "+mode+" processes served", func() bool {
				body := adminGet(t, p.admin, "/metrics")
				i := slices.IndexFunc(want, func(w string) bool { return !strings.Contains(body, w) })
				if i >= 0 {
					lacks = want[i]
				}
				return i < 0
			})
		})
	}
}
