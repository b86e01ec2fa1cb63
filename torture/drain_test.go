//go:build linux

package torture

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/servetest"
)

// The scenarios of this file send SIGTERM at a moment that tests what a
// graceful shutdown promises about the requests it already has: one half
// received, datagrams queued in the socket, connections idle.

// acceptQueue returns how many connections wait in the accept queue of
// the TCP listener on 127.0.0.1:port, from /proc/net/tcp: for a listening
// socket, the kernel reports that length as its receive queue.
func acceptQueue(t *testing.T, port int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("0100007F:%04X", port)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[1] == want && f[3] == "0A" { // LISTEN
			_, rx, _ := strings.Cut(f[4], ":")
			n, _ := strconv.ParseInt(rx, 16, 64)
			return int(n)
		}
	}
	t.Fatalf("no TCP listener on port %d in /proc/net/tcp", port)
	return 0
}

// waitAccepted waits until the server took every connection made to it
// so far out of its listener's accept queue.
func (tg *target) waitAccepted(t *testing.T) {
	t.Helper()
	a, err := net.ResolveTCPAddr("tcp", tg.addr)
	if err != nil {
		t.Fatal(err)
	}
	servetest.WaitUntil(t, "the server accepted every connection", func() bool { return acceptQueue(t, a.Port) == 0 })
}

// sigterm sends SIGTERM and waits until the shutdown is under way in
// every process of the server: its listening socket is closed, so that a
// new connection is refused.
func (tg *target) sigterm(t *testing.T) {
	t.Helper()
	tg.cmd.Process.Signal(syscall.SIGTERM)
	tg.expect(t, "draining", 10*time.Second)
	servetest.WaitUntil(t, "the listener is closed", func() bool {
		c, err := net.DialTimeout("tcp", tg.addr, time.Second)
		if err == nil {
			c.Close()
		}
		return errors.Is(err, syscall.ECONNREFUSED)
	})
}

// finalStats waits for the server's last counters, which it prints once
// Shutdown returned, then for its "shutdown" line and its exit.
func (tg *target) finalStats(t *testing.T) (socketserver.Stats, string) {
	t.Helper()
	var st socketserver.Stats
	line := tg.expect(t, "stats ", tg.cfg.ShutdownTimeout+10*time.Second)
	if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "stats ")), &st); err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	line = tg.expect(t, "shutdown", 10*time.Second)
	tg.cmd.Wait()
	return st, line
}

// Half a request at SIGTERM: each client sends half a line, the server
// gets SIGTERM, and only once its listener is closed do the clients send
// the rest, read the answer and close. A connection holding an incomplete
// request is given until Shutdown's deadline to complete it: every one is
// answered.
func TestHalfRequestAtShutdown(t *testing.T) {
	forEachMode(t, "half-line", nil, func(t *testing.T, mode string) {
		n := scale(200)
		switch mode {
		case "sync":
			n = 1 // the others would wait in the backlog, which Shutdown closes
		case "fork":
			n = 100 // MaxChildren
		}
		tg := startServer(t, serverConfig{Mode: mode, Network: "tcp"})
		tg.warmUp(t, "tcp")
		conns := make([]net.Conn, n)
		defer closeAll(conns)
		for i := range conns {
			c, err := clientDialer(i, 5*time.Second).Dial("tcp", tg.addr)
			if err != nil {
				t.Fatal(err)
			}
			conns[i] = c
			if _, err := io.WriteString(c, "echo half"); err != nil {
				t.Fatal(err)
			}
		}
		tg.waitAccepted(t)
		tg.sigterm(t)
		var answered atomic.Int64
		var firstErr atomic.Value
		var wg sync.WaitGroup
		for i, c := range conns {
			wg.Go(func() {
				want := fmt.Sprintf("half-%d", i)
				c.SetDeadline(time.Now().Add(30 * time.Second))
				fmt.Fprintf(c, "-%d\n", i)
				got, err := readLine(c, bufio.NewReader(c), 30*time.Second)
				c.Close() // done: an idle connection is another scenario's
				if err == nil && got == want {
					answered.Add(1)
					return
				}
				firstErr.CompareAndSwap(nil, fmt.Sprintf("client %d: %q, %v", i, got, err))
			})
		}
		wg.Wait()
		line := tg.expect(t, "shutdown", tg.cfg.ShutdownTimeout+10*time.Second)
		tg.cmd.Wait()
		lost := n - int(answered.Load())
		r := result{scenario: "half-line", mode: mode, tried: n, survived: int(answered.Load()), lost: lost,
			note: "the rest sent once the listener was closed"}
		if mode == "sync" {
			r.note += "; one connection at a time: others would wait in the backlog, which Shutdown closes"
		}
		var problems []string
		if line != "shutdown <nil>" {
			problems = append(problems, fmt.Sprintf("Shutdown: %q", line))
		}
		if lost > 0 {
			problems = append(problems, fmt.Sprintf("%d of %d half-sent requests not answered; first: %v", lost, n, firstErr.Load()))
		}
		verdict(t, &r, problems)
		report(t, r)
	})
}

// Datagrams queued at SIGTERM: the server's processes are stopped
// (SIGSTOP), 200 datagrams are sent to the server, it gets SIGTERM, then
// SIGCONT. Shutdown serves what the socket had queued: each datagram is
// answered, or counted, by the kernel (dropped at the server's socket
// while it was full, or at the client's) or by the server
// (Stats.Unserved): none goes unaccounted for.
func TestDatagramsQueuedAtShutdown(t *testing.T) {
	forEachMode(t, "udp-stopped", nil, func(t *testing.T, mode string) {
		n := scale(200)
		tg := startServer(t, serverConfig{Mode: mode, Network: "udp", ShutdownTimeout: 10 * time.Second})
		tg.warmUp(t, "udp")
		c, serverPort, clientPort := udpClient(t, tg)
		defer c.Close()
		serverDrops0, clientDrops0 := udpDrops(t, serverPort), udpDrops(t, clientPort)

		pids := processTree(tg.cmd.Process.Pid)
		for _, pid := range pids {
			unix.Kill(pid, unix.SIGSTOP)
		}
		servetest.WaitUntil(t, "the server is stopped", func() bool {
			for _, pid := range pids {
				if processState(pid) != 'T' {
					return false
				}
			}
			return true
		})
		// The replies are read as they come, so that the client's socket
		// does not fill.
		answered := make(map[string]bool)
		var reading sync.WaitGroup
		stopReading := make(chan struct{})
		reading.Go(func() {
			b := make([]byte, 2048)
			for {
				select {
				case <-stopReading:
					// The server has exited: its replies are all in our
					// socket, to be read without waiting.
					c.SetReadDeadline(time.Now())
				default:
					c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
				}
				m, err := c.Read(b)
				if err != nil {
					if servetest.IsTimeout(err) {
						select {
						case <-stopReading:
							return
						default:
							continue
						}
					}
					return
				}
				answered[strings.TrimSpace(string(b[:m]))] = true
			}
		})
		for i := range n {
			if _, err := fmt.Fprintf(c, "echo %d\n", i); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
		}
		// Sending is over: the server's socket drops nothing more.
		serverDrops := udpDrops(t, serverPort) - serverDrops0
		tg.cmd.Process.Signal(syscall.SIGTERM)
		for _, pid := range pids {
			unix.Kill(pid, unix.SIGCONT)
		}
		// How many were still queued when the shutdown began (as near as
		// the server can tell: it goes on reading meanwhile).
		f := strings.Fields(tg.expect(t, "draining", 10*time.Second))
		taken, _ := strconv.Atoi(f[len(f)-1])
		queued := n - (taken - int(tg.base.Stats.TotalPackets))
		st, line := tg.finalStats(t)
		close(stopReading)
		reading.Wait()
		clientDrops := udpDrops(t, clientPort) - clientDrops0
		got := 0
		for i := range n {
			if answered[strconv.Itoa(i)] {
				got++
			}
		}
		unserved := int(st.Unserved - tg.base.Stats.Unserved)
		lost := n - got - serverDrops - clientDrops - unserved
		r := result{scenario: "udp-stopped", mode: mode, tried: n, survived: got, lost: lost,
			note: fmt.Sprintf("%d dropped by the kernel (server %d, client %d), %d counted unserved", serverDrops+clientDrops, serverDrops, clientDrops, unserved)}
		if mode == "prefork" {
			r.note += " (the workers' counters reach the supervisor every 200ms: how many were queued is not known)"
		} else {
			r.note += fmt.Sprintf("; about %d still queued when the shutdown began", queued-serverDrops)
		}
		var problems []string
		if line != "shutdown <nil>" {
			problems = append(problems, fmt.Sprintf("Shutdown: %q", line))
		}
		if lost != 0 {
			problems = append(problems, fmt.Sprintf("%d sent, %d answered, %d dropped, %d unserved: %d unaccounted for", n, got, serverDrops+clientDrops, unserved, lost))
		}
		verdict(t, &r, problems)
		report(t, r)
	})
}

// processState returns the state letter of a process, from
// /proc/PID/stat ('T' when stopped), or 0 if it is gone.
func processState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 || i+2 >= len(b) {
		return 0
	}
	return b[i+2]
}

// Idle connections at SIGTERM: clients that were answered and hold their
// connections open, and clients connected more than 2s before that never
// sent anything (as `nc` does). Shutdown closes them at once: each reads
// EOF, and the server exits long before its deadline (20s). A client
// connected just before SIGTERM that sends its request 1s after it is
// still answered: a new connection has 2s for its first request.
func TestIdleAtShutdown(t *testing.T) {
	forEachMode(t, "idle", nil, func(t *testing.T, mode string) {
		idle, late := scale(200), true
		switch mode {
		case "sync":
			idle, late = 1, false // it holds one connection
		case "pool":
			idle = 31 // 32 workers, one for the late client
		case "fork":
			idle = 99 // MaxChildren 100
		}
		tg := startServer(t, serverConfig{Mode: mode, Network: "tcp"})
		tg.warmUp(t, "tcp")
		conns := make([]net.Conn, 0, idle+1)
		defer func() { closeAll(conns) }()
		dial := func() net.Conn {
			c, err := clientDialer(len(conns), 5*time.Second).Dial("tcp", tg.addr)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			return c
		}
		silent := idle / 2
		for range silent {
			dial()
		}
		silentSince := time.Now()
		for i := silent; i < idle; i++ {
			c := dial()
			want := fmt.Sprintf("idle-%d", i)
			fmt.Fprintf(c, "echo %s\n", want)
			if got, err := readLine(c, bufio.NewReader(c), 10*time.Second); got != want {
				t.Fatalf("idle client %d: %q, %v", i, got, err)
			}
		}
		// The silent clients' grace, which counts from their acceptance,
		// is over: the scenario's clock, not a synchronisation.
		time.Sleep(time.Until(silentSince.Add(2500 * time.Millisecond)))
		var lateConn net.Conn
		if late {
			lateConn = dial()
		}
		tg.waitAccepted(t)
		sent := time.Now()
		tg.cmd.Process.Signal(syscall.SIGTERM)

		var eof atomic.Int64
		var slowest atomic.Int64 // nanoseconds from SIGTERM to an EOF
		var firstErr atomic.Value
		var wg sync.WaitGroup
		for i, c := range conns[:idle] {
			wg.Go(func() {
				c.SetReadDeadline(time.Now().Add(tg.cfg.ShutdownTimeout / 2))
				n, err := c.Read(make([]byte, 1))
				if n == 0 && err == io.EOF {
					eof.Add(1)
					for d := int64(time.Since(sent)); ; {
						if old := slowest.Load(); d <= old || slowest.CompareAndSwap(old, d) {
							break
						}
					}
					return
				}
				firstErr.CompareAndSwap(nil, fmt.Sprintf("idle client %d: read %d bytes, %v", i, n, err))
			})
		}
		lateAnswered := 0
		if late {
			wg.Go(func() {
				// Its client takes its time: the scenario's clock.
				time.Sleep(time.Until(sent.Add(time.Second)))
				br := bufio.NewReader(lateConn)
				lateConn.SetDeadline(time.Now().Add(tg.cfg.ShutdownTimeout / 2))
				fmt.Fprintf(lateConn, "echo late\n")
				got, err := readLine(lateConn, br, tg.cfg.ShutdownTimeout/2)
				rest, rerr := io.ReadAll(br)
				if got == "late" && err == nil && len(rest) == 0 && rerr == nil {
					lateAnswered = 1
					return
				}
				firstErr.CompareAndSwap(nil, fmt.Sprintf("late client: %q, %v; then %q, %v", got, err, rest, rerr))
			})
		}
		line := tg.expect(t, "shutdown", tg.cfg.ShutdownTimeout+10*time.Second)
		took := time.Since(sent)
		tg.cmd.Wait()
		wg.Wait()

		tried, survived := idle, int(eof.Load())
		note := fmt.Sprintf("%d silent and %d answered: %d read EOF, the last %.1fs after SIGTERM", silent, idle-silent, eof.Load(), time.Duration(slowest.Load()).Seconds())
		if late {
			tried, survived = tried+1, survived+lateAnswered
			note += fmt.Sprintf("; late client answered %d/1", lateAnswered)
		} else {
			note += "; no late client: one connection at a time"
		}
		r := result{scenario: "idle", mode: mode, tried: tried, survived: survived, lost: tried - survived,
			note: note + fmt.Sprintf("; exit %.1fs after SIGTERM", took.Seconds())}
		var problems []string
		if line != "shutdown <nil>" {
			problems = append(problems, fmt.Sprintf("Shutdown: %q", line))
		}
		if took > tg.cfg.ShutdownTimeout/3 {
			problems = append(problems, fmt.Sprintf("the server exited %.1fs after SIGTERM, with a %v deadline", took.Seconds(), tg.cfg.ShutdownTimeout))
		}
		if survived != tried {
			problems = append(problems, fmt.Sprintf("%d of %d idle clients read EOF, late client answered %d/1; first failure: %v", eof.Load(), idle, lateAnswered, firstErr.Load()))
		}
		verdict(t, &r, problems)
		report(t, r)
	})
}

// closeAll closes the clients' connections.
func closeAll(conns []net.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}
