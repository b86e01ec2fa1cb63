//go:build unix

package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"
)

// A cluster is a real HAProxy in front of three sockserve backends that
// take the PROXY protocol (v2) from it, and that HAProxy health-checks
// through their /readyz.
type cluster struct {
	frontend string
	backends []*process
}

// freePort returns a port no socket uses, for a program that takes a
// port number. The probe binds without SO_REUSEADDR, as such programs may
// (systemd-socket-activate does): the kernel then skips the ports that
// connections of earlier tests still hold in TIME_WAIT.
func freePort(t testing.TB) int {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		rc.Control(func(fd uintptr) { serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 0) })
		return serr
	}}
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startCluster(t *testing.T, service string, extra ...string) *cluster {
	t.Helper()
	haproxy := servetest.Need(t, "haproxy", "haproxy")
	cl := &cluster{frontend: fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	var servers strings.Builder
	for i := range 3 {
		admin := freePort(t)
		args := append([]string{"-service", service, "-listen", "tcp://127.0.0.1:0",
			"-proxy-protocol", "-trusted-proxy", "127.0.0.1/32",
			"-admin", fmt.Sprintf("tcp://127.0.0.1:%d", admin), "-drain-delay", "1s"}, extra...)
		p := startServe(t, 1, args...)
		cl.backends = append(cl.backends, p)
		fmt.Fprintf(&servers, "    server s%d %s send-proxy-v2 check port %d\n", i, strings.TrimPrefix(p.urls[0], "tcp://"), admin)
	}
	cfg := fmt.Sprintf(`global
    maxconn 4000
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch 1
frontend fe
    bind %s
    default_backend be
backend be
    balance roundrobin
    option httpchk GET /readyz
    default-server inter 100ms fall 1 rise 1
%s`, cl.frontend, servers.String())
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(haproxy, "-db", "-f", path)
	stderr := new(strings.Builder)
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if t.Failed() {
			t.Logf("haproxy:\n%s", stderr)
		}
	})
	servetest.WaitUntil(t, "HAProxy to listen", func() bool {
		c, err := net.Dial("tcp", cl.frontend)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return cl
}

// Behind HAProxy, the backends see the original client's address, in
// goroutine mode (WrapConn) and in event mode (the loop reads the header).
func TestHAProxySendsTheClientsAddress(t *testing.T) {
	for _, mode := range []string{"goroutine", "event"} {
		t.Run(mode, func(t *testing.T) { clientAddressThrough(t, startCluster(t, "whoami", "-mode", mode)) })
	}
}

func clientAddressThrough(t *testing.T, cl *cluster) {
	for i := range 6 { // twice round the three backends
		client := net.IPv4(127, 0, 0, byte(2+i%3))
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: client}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", cl.frontend)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		reply, err := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if want := c.LocalAddr().String() + "\n"; reply != want {
			t.Errorf("backend saw %q, want the client's %q (%v)", reply, want, err)
		}
	}
}

// One backend shuts down gracefully under load, in goroutine and in event
// mode: /readyz turns 503, HAProxy stops sending to it, it drains, and it
// exits 0. Not one request is lost:
// every request sent gets its reply, byte-exact.
func TestHAProxyDrainLosesNothing(t *testing.T) {
	for _, mode := range []string{"goroutine", "event"} {
		t.Run(mode, func(t *testing.T) { drainUnderLoad(t, startCluster(t, "upper", "-mode", mode)) })
	}
}

func drainUnderLoad(t *testing.T, cl *cluster) {
	load := startLoad(cl.frontend, 6)
	load.waitMore(t, 300)
	drained := cl.backends[0]
	drained.cmd.Process.Signal(syscall.SIGTERM)
	if code := drained.wait(t); code != 0 {
		t.Errorf("the drained backend exited %d; stderr:\n%s", code, drained.stderr)
	}
	load.waitMore(t, 300) // the others carry on alone
	load.finish(t)
	if !strings.Contains(drained.stderr.String(), "not ready") {
		t.Errorf("the drained backend did not announce its drain:\n%s", drained.stderr)
	}
}
