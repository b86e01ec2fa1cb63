package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"
	"github.com/socketserver-go/socketserver/internal/testcert"
)

// A flood of failed TLS handshakes, as a scanner makes, is counted one by
// one in the metrics, but logged as warnings, at most about one a second,
// with the count of those left out: the log stays short, and adds up.
func TestTLSHandshakeFloodLog(t *testing.T) {
	for _, mode := range []string{"goroutine", "event"} {
		t.Run(mode, func(t *testing.T) { testTLSHandshakeFloodLog(t, mode) })
	}
}

func testTLSHandshakeFloodLog(t *testing.T, mode string) {
	dir := t.TempDir()
	ca := testcert.New(t)
	certFile, keyFile := testcert.WritePEM(t, dir, "server", ca.Issue(t, "server", false))
	p := startServe(t, 1, "-service", "echo", "-mode", mode, "-listen", "tcp://127.0.0.1:0",
		"-tls-cert", certFile, "-tls-key", keyFile, "-admin", "tcp://127.0.0.1:0")
	addr := strings.TrimPrefix(p.urls[0], "tcp://")

	const flood = 300
	start := time.Now()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < flood; i += 4 {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					t.Errorf("dial: %v", err)
					return
				}
				c.SetDeadline(time.Now().Add(10 * time.Second))
				io.WriteString(c, "GET / HTTP/1.0\r\n\r\n") // not a TLS client hello
				io.Copy(io.Discard, c)
				c.Close()
			}
		})
	}
	wg.Wait()
	metric := regexp.MustCompile(`socketserver_errors_total\{kind="tls_handshake",server="[^"]+"\} (\d+)`)
	var counted int
	servetest.WaitUntil(t, fmt.Sprintf("the metrics to count %d failed handshakes", flood), func() bool {
		m := metric.FindStringSubmatch(adminGet(t, p.admin, "/metrics"))
		if m != nil {
			counted, _ = strconv.Atoi(m[1])
		}
		return counted >= flood
	})
	if counted != flood {
		t.Errorf("the metrics count %d failed handshakes, want %d", counted, flood)
	}
	elapsed := time.Since(start)
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit %d", code)
	}

	var lines, told int
	untold := regexp.MustCompile(`untold=(\d+)`)
	sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "TLS handshake") {
			continue
		}
		lines++
		if !strings.Contains(line, "level=WARN") {
			t.Errorf("not a warning: %s", line)
		}
		if strings.Contains(line, "TLS handshake failed") {
			told++
			if !strings.Contains(line, "remote=127.0.0.1:") || !strings.Contains(line, "first record does not look like a TLS handshake") {
				t.Errorf("the line does not say who failed how: %s", line)
			}
		}
		if m := untold.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			told += n
		}
	}
	if limit := 2 + 2*int(elapsed/time.Second); lines > limit || lines == 0 {
		t.Errorf("%d log lines about failed handshakes in %v, want 1 to %d:\n%s", lines, elapsed, limit, p.stderr)
	}
	if told != flood {
		t.Errorf("the log accounts for %d failed handshakes, want %d:\n%s", told, flood, p.stderr)
	}
}
