package socketserver_test

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/servetest"
)

// A testHost is a network namespace of the test's own, joined to this one
// by a veth pair: the server listens on hostAddr here, a client dials from
// inside at peerAddr.
type testHost struct {
	name, link, peerLink string
	hostAddr, peerAddr   string
}

// newTestHost makes a namespace for the test, removed when it ends.
func newTestHost(t *testing.T, n int) *testHost {
	t.Helper()
	servetest.Need(t, "ip", "iproute2")
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("network namespaces need root")
		}
		t.Skip("network namespaces need root")
	}
	h := &testHost{
		name:     fmt.Sprintf("ssk%d-%d", os.Getpid(), n),
		link:     fmt.Sprintf("sk%da%d", os.Getpid()%100000, n),
		peerLink: fmt.Sprintf("sk%db%d", os.Getpid()%100000, n),
		hostAddr: fmt.Sprintf("10.213.%d.1", n),
		peerAddr: fmt.Sprintf("10.213.%d.2", n),
	}
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", h.name)
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", h.link).Run()
		exec.Command("ip", "netns", "del", h.name).Run()
	})
	ip("link", "add", h.link, "type", "veth", "peer", "name", h.peerLink)
	ip("link", "set", h.peerLink, "netns", h.name)
	ip("addr", "add", h.hostAddr+"/30", "dev", h.link)
	ip("link", "set", h.link, "up")
	ip("-n", h.name, "addr", "add", h.peerAddr+"/30", "dev", h.peerLink)
	ip("-n", h.name, "link", "set", h.peerLink, "up")
	ip("-n", h.name, "link", "set", "lo", "up")
	return h
}

// dial connects to addr from inside the namespace: the socket is made on
// a thread that joined it.
func (h *testHost) dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	type result struct {
		c   net.Conn
		err error
	}
	done := make(chan result)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
		ns, err := os.Open("/run/netns/" + h.name)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer ns.Close()
		if err := unix.Setns(int(ns.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- result{err: err}
			return
		}
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		done <- result{c, err}
	}()
	r := <-done
	if r.err != nil {
		t.Fatalf("dial %s from %s: %v", addr, h.name, r.err)
	}
	t.Cleanup(func() { r.c.Close() })
	return r.c
}

// vanish takes the client's link down: its packets, and the server's
// keep-alive probes, go nowhere, and no FIN or reset is ever sent.
func (h *testHost) vanish(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("ip", "-n", h.name, "link", "set", h.peerLink, "down").CombinedOutput(); err != nil {
		t.Fatalf("link down: %v: %s", err, out)
	}
}

// A client that vanishes without a word (its link goes down) is reclaimed
// by TCP keep-alive within its bound, in every mode: the connection's slot
// and its handler are freed. Before, Event mode set no keep-alive, and
// such a connection was held for ever.
func TestKeepAliveReclaimsVanishedClients(t *testing.T) {
	h := newTestHost(t, 7)
	for _, mode := range []socketserver.Mode{socketserver.Goroutine{}, socketserver.Event{Loops: 1}} {
		t.Run(mode.String(), func(t *testing.T) {
			srv := lineServer("tcp", h.hostAddr+":0", mode)
			srv.KeepAliveConfig = net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 2}
			addr := servetest.Serve(t, srv)
			c := h.dial(t, addr.String())
			io.WriteString(c, "hello\n")
			buf := make([]byte, 6)
			if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "HELLO\n" {
				t.Fatalf("reply %q, %v", buf, err)
			}
			h.vanish(t)
			start := time.Now()
			// Idle 1s, then 2 probes 1s apart: about 3s, plus the
			// kernel's timer slack.
			for srv.Stats().ActiveConns != 0 {
				if time.Since(start) > 15*time.Second {
					t.Fatalf("the vanished client still holds its connection after %v", time.Since(start))
				}
				time.Sleep(50 * time.Millisecond) // a kernel timer, which no event announces
			}
			t.Logf("reclaimed %.1fs after the client vanished", time.Since(start).Seconds())
			exec.Command("ip", "-n", h.name, "link", "set", h.peerLink, "up").Run()
		})
	}
}
