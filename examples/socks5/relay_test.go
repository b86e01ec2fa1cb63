package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"
)

// openFiles counts this process's descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// closeWait counts the TCP sockets on local port port in CLOSE-WAIT: the
// peer has closed, this side has not.
func closeWait(t *testing.T, port string) int {
	t.Helper()
	n := 0
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) > 3 && strings.HasSuffix(fields[1], fmt.Sprintf(":%04X", atoi(port))) && fields[3] == "08" {
				n++
			}
		}
		f.Close()
	}
	return n
}

func atoi(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

// silentUpstream accepts connections and never writes nor closes them
// until the test ends: it reads until the other side has ended its stream,
// and holds on, as a stuck server does. It returns its port and the
// number of connections it holds.
func silentUpstream(t *testing.T) (uint16, func() int) {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { io.Copy(io.Discard, c) })
		}
	})
	held := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(conns)
	}
	return uint16(l.Addr().(*net.TCPAddr).Port), held
}

// dialThrough connects to 127.0.0.1:port through the proxy.
func dialThrough(t *testing.T, proxyAddr string, port uint16) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", proxyAddr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	c.Write([]byte{version5, 1, methodNoAuth, version5, cmdConnect, 0, atypIPv4, 127, 0, 0, 1, byte(port >> 8), byte(port)})
	reply := make([]byte, 2+10)
	if _, err := io.ReadFull(c, reply); err != nil || reply[3] != repSucceeded {
		c.Close()
		t.Fatalf("CONNECT: % x, %v", reply, err)
	}
	return c
}

// TestHalfClosedRelays: clients CONNECT to an upstream that never
// answers, send, and close. The proxy ends each relay once the
// half-closed side has been silent for the half-close timeout: its
// descriptors return to what they were, and no socket stays in
// CLOSE-WAIT.
func TestHalfClosedRelays(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("counts descriptors in /proc")
	}
	up, held := silentUpstream(t)
	proxyAddr, srv := startProxy(t, &proxy{rules: loopback, idleTimeout: time.Minute, halfCloseTimeout: 200 * time.Millisecond})
	_, proxyPort, _ := net.SplitHostPort(proxyAddr)
	base := openFiles(t)
	const clients = 50
	for range clients {
		c := dialThrough(t, proxyAddr, up)
		c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
		c.Close()
	}
	peak := openFiles(t) // each CONNECT was answered: every relay is running
	if active := srv.Stats().ActiveConns; active == 0 {
		t.Fatalf("no relay running")
	}
	// What is left open is the upstream's side, which this test holds.
	servetest.WaitUntil(t, "descriptors return to the baseline", func() bool { return openFiles(t) <= base+held() })
	if n := closeWait(t, proxyPort); n != 0 {
		t.Errorf("%d sockets in CLOSE-WAIT", n)
	}
	t.Logf("descriptors: %d before, %d with the relays half-closed, back to %d with the upstream's %d", base, peak, openFiles(t), held())
}

// TestIdleRelay: a relay with no data either way ends after the idle
// timeout, and one with data moving one way only does not.
func TestIdleRelay(t *testing.T) {
	const idle = 300 * time.Millisecond
	up, _ := silentUpstream(t)
	proxyAddr, _ := startProxy(t, &proxy{rules: loopback, idleTimeout: idle, halfCloseTimeout: time.Minute})
	c := dialThrough(t, proxyAddr, up)
	start := time.Now()
	if n, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("idle relay: read %d, %v; want EOF", n, err)
	}
	if took := time.Since(start); took < idle {
		t.Errorf("idle relay ended after %v, before the idle timeout %v", took, idle)
	}
	c.Close()

	// An upstream that trickles a byte every idle/3, for four idle
	// timeouts, while the client sends nothing.
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const trickle = 12
	sent := make(chan error, 1)
	go func() {
		u, err := l.Accept()
		if err != nil {
			sent <- err
			return
		}
		defer u.Close()
		tick := time.NewTicker(idle / 3)
		defer tick.Stop()
		for i := range trickle {
			<-tick.C
			if _, err := u.Write([]byte{byte('a' + i)}); err != nil {
				sent <- err
				return
			}
		}
		sent <- nil
	}()
	c = dialThrough(t, proxyAddr, uint16(l.Addr().(*net.TCPAddr).Port))
	defer c.Close()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "abcdefghijkl" {
		t.Fatalf("trickle through the proxy: %q, %v", got, err)
	}
	if err := <-sent; err != nil {
		t.Fatalf("upstream: %v", err)
	}
}

// TestShutdownMidTransfer: a graceful Shutdown lets a download under way
// through the proxy finish, byte for byte, within its deadline.
func TestShutdownMidTransfer(t *testing.T) {
	const size = 1 << 20
	started := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		b := body(size)
		w.Header().Set("Content-Length", strconv.Itoa(size))
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < size; i += size / 20 {
			w.Write(b[i:min(size, i+size/20)])
			w.(http.Flusher).Flush()
			if i == 0 {
				close(started)
			}
			<-tick.C
		}
	})
	origin := httptest.NewServer(mux)
	defer origin.Close()
	proxyAddr, srv := startProxy(t, &proxy{rules: loopback})
	file := filepath.Join(t.TempDir(), "out")
	done := make(chan error, 1)
	go func() {
		_, stderr, err := curl(t, "--socks5-hostname", proxyAddr, "-o", file, origin.URL+"/slow")
		if err != nil {
			err = fmt.Errorf("%v: %s", err, stderr)
		}
		done <- err
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("curl: %v", err)
	}
	if got, _ := os.ReadFile(file); len(got) != size || sum(got) != sum(body(size)) {
		t.Fatalf("downloaded %d bytes, want %d whole", len(got), size)
	}
}
