//go:build linux

package torture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"
)

// forEachMode runs scenario in each mode as a subtest; skip, if not nil,
// gives the reason a mode does not apply, which the table shows.
func forEachMode(t *testing.T, name string, skip func(mode string) string, scenario func(t *testing.T, mode string)) {
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			if skip != nil {
				if why := skip(mode); why != "" {
					report(t, result{scenario: name, mode: mode, note: "n/a: " + why})
					t.Skip(why)
				}
			}
			before := ownFDs()
			scenario(t, mode)
			checkOwnFDs(t, before)
		})
	}
}

// exchange sends one request line on a new connection and returns the
// reply line.
func exchange(addr string, i int, req string) (string, error) {
	c, err := clientDialer(i, 5*time.Second).Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, req+"\n"); err != nil {
		return "", err
	}
	return readLine(c, bufio.NewReader(c), 10*time.Second)
}

// normalClient sends n echo requests, one connection each, and counts
// those answered within deadline.
func normalClient(addr string, n int, deadline time.Duration) (answered int) {
	for i := range n {
		start := time.Now()
		got, err := exchange(addr, i, fmt.Sprintf("echo normal-%d", i))
		if err == nil && got == fmt.Sprintf("normal-%d", i) && time.Since(start) < deadline {
			answered++
		}
	}
	return answered
}

// noBoundedWorkers is the reason slow clients cannot be served beside
// others in the modes with a fixed number of servers.
func noBoundedWorkers(mode string) string {
	switch mode {
	case "sync":
		return "serves one connection at a time"
	case "pool":
		return "32 workers: slow clients hold them"
	case "fork":
		return "100 children: slow clients hold them"
	}
	return ""
}

// Slowloris: 5,000 connections drip one byte a second. Without timeouts
// they are all held, and a normal client is still answered within 2s;
// with ReadTimeout and FirstByteTimeout at 500ms, the server cuts every
// one of them off.
func TestSlowloris(t *testing.T) {
	forEachMode(t, "slowloris", noBoundedWorkers, func(t *testing.T, mode string) {
		n := min(scale(5000), 9000) // the client's and the server's descriptors: 20,000 each here
		for _, cut := range []bool{false, true} {
			cfg := serverConfig{Mode: mode, Network: "tcp"}
			name := "slowloris"
			if cut {
				cfg.ReadTimeout, cfg.FirstByteTimeout = 500*time.Millisecond, 500*time.Millisecond
				name = "slowloris-cut"
			}
			tg := startServer(t, cfg)
			tg.warmUp(t, "tcp")
			conns := make([]net.Conn, 0, n)
			for i := range n {
				c, err := clientDialer(i, 5*time.Second).Dial("tcp", tg.addr)
				if err != nil {
					t.Fatalf("slow client %d: %v", i, err)
				}
				conns = append(conns, c)
			}
			// Drip: every second, one more byte of a line that never ends,
			// on each connection still open; count those the server closed.
			var closed atomic.Int64
			stop := make(chan struct{})
			var dripping sync.WaitGroup
			dripping.Go(func() {
				open := make([]bool, len(conns))
				for i := range open {
					open[i] = true
				}
				tick := time.NewTicker(time.Second)
				defer tick.Stop()
				for {
					for i, c := range conns {
						if !open[i] {
							continue
						}
						c.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
						if _, err := c.Write([]byte("e")); err != nil && !servetest.IsTimeout(err) {
							open[i] = false
							closed.Add(1)
						}
					}
					select {
					case <-stop:
						return
					case <-tick.C:
					}
				}
			})
			const normal = 20
			answered := normalClient(tg.addr, normal, 2*time.Second)
			r := result{scenario: name, mode: mode}
			if cut {
				// Every slow client is cut off within a few seconds.
				for deadline := time.Now().Add(15 * time.Second); closed.Load() < int64(n) && time.Now().Before(deadline); {
					time.Sleep(100 * time.Millisecond) // the drip loop counts the closes
				}
				r.tried, r.survived, r.lost = n, int(closed.Load()), normal-answered
				r.note = fmt.Sprintf("%d slow clients cut off; normal client answered %d/%d within 2s", closed.Load(), answered, normal)
				if closed.Load() != int64(n) {
					t.Errorf("%d of %d slow clients cut off", closed.Load(), n)
				}
			} else {
				st := tg.stateWhen(t, func(st debugState) bool { return st.Stats.ActiveConns >= int64(n) })
				r.tried, r.survived, r.lost = normal, answered, normal-answered
				r.note = fmt.Sprintf("beside %d slow connections held open (server has %d)", n, st.Stats.ActiveConns)
				if st.Stats.ActiveConns < int64(n) {
					t.Errorf("the server holds %d connections, want the %d slow ones", st.Stats.ActiveConns, n)
				}
			}
			if answered != normal {
				t.Errorf("normal client: %d of %d answered within 2s", answered, normal)
			}
			close(stop)
			dripping.Wait()
			for _, c := range conns {
				c.Close()
			}
			if note := tg.leaks(t); note != "" {
				r.note += "; " + note
			}
			report(t, r)
			tg.stop(t)
		}
	})
}

// Storm: 20,000 connect/request/close cycles from 8 clients. One in ten
// resets its connection mid-request (SO_LINGER 0), with half a line sent
// or while its handler sleeps; one in ten half-closes after its request
// and reads the reply to the end. Every other cycle must be answered.
func TestConnectionStorm(t *testing.T) {
	forEachMode(t, "storm", nil, func(t *testing.T, mode string) {
		n := scale(20000)
		if mode == "fork" {
			n = scale(300) // a process per connection: about 100 a second here
		}
		tg := startServer(t, serverConfig{Mode: mode, Network: "tcp"})
		tg.warmUp(t, "tcp")
		var next, ok, lost, resets atomic.Int64
		var firstErr atomic.Value
		var wg sync.WaitGroup
		start := time.Now()
		for w := range 8 {
			wg.Go(func() {
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					err := stormCycle(tg.addr, w*1000+i, i)
					switch {
					case errors.Is(err, errReset):
						resets.Add(1)
						ok.Add(1)
					case err == nil:
						ok.Add(1)
					default:
						lost.Add(1)
						firstErr.CompareAndSwap(nil, fmt.Sprintf("cycle %d: %v", i, err))
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		r := result{scenario: "storm", mode: mode, tried: n, survived: int(ok.Load()), lost: int(lost.Load()),
			note: fmt.Sprintf("%d resets; %.0f cycles/s", resets.Load(), float64(n)/elapsed.Seconds())}
		if lost.Load() > 0 {
			t.Errorf("%d of %d cycles failed; first: %v", lost.Load(), n, firstErr.Load())
		}
		if note := tg.leaks(t); note != "" {
			r.note += "; " + note
		}
		report(t, r)
		tg.stop(t)
	})
}

var errReset = errors.New("reset by the client, as planned")

// stormCycle makes one connection of the storm; i picks its kind.
func stormCycle(addr string, dial, i int) error {
	c, err := clientDialer(dial, 5*time.Second).Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	switch i % 20 {
	case 0: // half a request, then a reset
		io.WriteString(c, "echo never fini")
		c.(*net.TCPConn).SetLinger(0)
		return errReset
	case 1: // reset while the handler works
		io.WriteString(c, "sleep 5ms\n")
		readLine(c, br, 10*time.Second)
		c.(*net.TCPConn).SetLinger(0)
		return errReset
	case 2, 3: // half-closed: request, end of input, then the reply to EOF
		want := fmt.Sprintf("half-%d", i)
		io.WriteString(c, "echo "+want+"\n")
		c.(*net.TCPConn).CloseWrite()
		b, err := io.ReadAll(br)
		if err != nil || string(b) != want+"\n" {
			return fmt.Errorf("half-closed: got %q, %v", b, err)
		}
		return nil
	}
	want := fmt.Sprintf("storm-%d", i)
	io.WriteString(c, "echo "+want+"\n")
	got, err := readLine(c, br, 10*time.Second)
	if err != nil || got != want {
		return fmt.Errorf("got %q, %v", got, err)
	}
	return nil
}

// Never-reading clients: each sends requests, and reads no reply, until
// the server lets it go. The server's WriteTimeout (300ms) frees every
// handler once its replies fill both socket buffers, and the connection
// is closed while the client still holds it. (A client that stopped
// sending once its own writes stalled, as they do while it waits for a
// Sync server's turn, could have sent no more than the server can answer
// into the buffers: answered in full, it is an idle client, which only
// ReadTimeout or IdleTimeout lets go.)
func TestClientsThatNeverRead(t *testing.T) {
	forEachMode(t, "never-read", nil, func(t *testing.T, mode string) {
		n := 20
		if mode == "sync" || mode == "fork" {
			n = 8 // one after the other, or a process each
		}
		n = scale(n)
		tg := startServer(t, serverConfig{Mode: mode, Network: "tcp", WriteTimeout: 300 * time.Millisecond})
		tg.warmUp(t, "tcp")
		req := []byte("echo " + strings.Repeat("x", 1000) + "\n")
		conns := make([]net.Conn, n)
		var wg sync.WaitGroup
		start := time.Now()
		for i := range n {
			c, err := clientDialer(i, 5*time.Second).Dial("tcp", tg.addr)
			if err != nil {
				t.Fatal(err)
			}
			conns[i] = c
			wg.Go(func() {
				// Write until the server lets go: its replies fill both
				// socket buffers, its write stalls, its handler is cut
				// off, and the connection closed. (A write that stalls
				// meanwhile waits: a Sync server comes to this client
				// after the others.)
				c.SetWriteDeadline(time.Now().Add(2 * time.Minute))
				for sent := 0; sent < 64<<20; sent += len(req) {
					if _, err := c.Write(req); err != nil {
						return
					}
				}
			})
		}
		wg.Wait()
		took := time.Since(start)
		// The server must let go of every connection, though the clients
		// keep theirs open and still do not read.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			st := tg.state(t)
			if st.Stats.ActiveConns == 0 && (mode != "fork" || st.Children == 0) {
				break // (Prefork's workers keep their own counts)
			}
		}
		// Then each client reads: what the server sent before it gave
		// up, and the end of the stream, at once. (A handler still
		// waiting would be unblocked by the reading, and answer on, and
		// never end the stream.)
		freed := 0
		for _, c := range conns {
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := io.Copy(io.Discard, c); err == nil || !servetest.IsTimeout(err) {
				freed++ // EOF, or reset
			}
		}
		if freed != n {
			t.Errorf("%d of %d never-reading clients were let go", freed, n)
		}
		answered := normalClient(tg.addr, 5, 5*time.Second)
		if answered != 5 {
			t.Errorf("afterwards, %d of 5 normal requests answered", answered)
		}
		for _, c := range conns {
			c.Close()
		}
		r := result{scenario: "never-read", mode: mode, tried: n, survived: freed, lost: 5 - answered,
			note: fmt.Sprintf("%d handlers freed by WriteTimeout while the clients held on, within %.1fs", freed, took.Seconds())}
		if note := tg.leaks(t); note != "" {
			r.note += "; " + note
		}
		report(t, r)
		tg.stop(t)
	})
}
