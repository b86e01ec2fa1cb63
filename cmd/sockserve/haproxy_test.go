package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A cluster is a real HAProxy in front of three sockserve backends that
// take the PROXY protocol (v2) from it, and that HAProxy health-checks
// through their /readyz.
type cluster struct {
	frontend string
	backends []*process
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startCluster(t *testing.T, service string, extra ...string) *cluster {
	t.Helper()
	haproxy, err := exec.LookPath("haproxy")
	if err != nil {
		t.Fatalf("haproxy is needed (Debian's haproxy; .ci/run installs it): %v", err)
	}
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
	waitFor(t, "HAProxy to listen", func() bool {
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
// mode: /readyz turns 503, HAProxy
// stops sending to it, it drains, and it exits 0. Not one request is lost:
// every request sent gets its reply, byte-exact.
func TestHAProxyDrainLosesNothing(t *testing.T) {
	for _, mode := range []string{"goroutine", "event"} {
		t.Run(mode, func(t *testing.T) { drainUnderLoad(t, startCluster(t, "upper", "-mode", mode)) })
	}
}

func drainUnderLoad(t *testing.T, cl *cluster) {
	var sent, answered, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	progress := make(chan struct{}, 1)
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				msg := fmt.Sprintf("request %d from worker %d\n", i, w)
				sent.Add(1)
				reply, err := exchange(cl.frontend, msg)
				if err != nil || reply != strings.ToUpper(msg) {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%q: got %q, %v", msg, reply, err))
					continue
				}
				answered.Add(1)
				select {
				case progress <- struct{}{}:
				default:
				}
			}
		})
	}
	waitAnswered := func(n int64) {
		t.Helper()
		timeout := time.After(60 * time.Second)
		for answered.Load() < n {
			select {
			case <-progress:
			case <-timeout:
				t.Fatalf("only %d answered, waiting for %d", answered.Load(), n)
			}
		}
	}
	waitAnswered(300)
	drained := cl.backends[0]
	drained.cmd.Process.Signal(syscall.SIGTERM)
	if code := drained.wait(t); code != 0 {
		t.Errorf("the drained backend exited %d; stderr:\n%s", code, drained.stderr)
	}
	waitAnswered(answered.Load() + 300) // the others carry on alone
	close(stop)
	wg.Wait()
	t.Logf("%d requests sent, %d answered byte-exact, %d failed", sent.Load(), answered.Load(), failed.Load())
	if failed.Load() > 0 || sent.Load() != answered.Load() {
		t.Errorf("%d of %d requests failed; first: %v", failed.Load(), sent.Load(), firstErr.Load())
	}
	if !strings.Contains(drained.stderr.String(), "not ready") {
		t.Errorf("the drained backend did not announce its drain:\n%s", drained.stderr)
	}
}

// exchange sends one line through a new connection and reads the reply.
func exchange(addr, msg string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}
