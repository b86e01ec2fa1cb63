//go:build linux

package torture

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// dialPacket opens a datagram client of tg's server: UDP, or a Unix
// datagram socket bound to a path of its own so that it can be answered.
func dialPacket(t *testing.T, tg *target) net.Conn {
	t.Helper()
	if tg.cfg.Network == "udp" {
		c, err := net.Dial("udp", tg.addr)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	laddr := &net.UnixAddr{Name: filepath.Join(t.TempDir(), "client"), Net: "unixgram"}
	c, err := net.DialUnix("unixgram", laddr, &net.UnixAddr{Name: tg.addr, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// exchangePacket sends one request datagram and waits for its answer.
func exchangePacket(t *testing.T, c net.Conn, req string) string {
	t.Helper()
	for range 10 { // a datagram may be lost: ask again
		c.Write([]byte(req + "\n"))
		c.SetReadDeadline(time.Now().Add(time.Second))
		b := make([]byte, 2048)
		n, err := c.Read(b)
		if err == nil {
			return strings.TrimSuffix(string(b[:n]), "\n")
		}
	}
	t.Fatalf("no answer to %q", req)
	return ""
}

// udpDrops returns the kernel's drop count for the UDP socket bound to
// port on 127.0.0.1, from /proc/net/udp: datagrams that arrived with its
// receive buffer full. The server's and the client's sockets are both in
// this network namespace.
func udpDrops(t *testing.T, port int) int {
	t.Helper()
	f, err := os.Open("/proc/net/udp")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := fmt.Sprintf("0100007F:%04X", port)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 13 && fields[1] == want {
			n, _ := strconv.Atoi(fields[len(fields)-1])
			return n
		}
	}
	t.Fatalf("no UDP socket on port %d in /proc/net/udp", port)
	return 0
}

func portOf(addr net.Addr) int {
	_, p, _ := net.SplitHostPort(addr.String())
	n, _ := strconv.Atoi(p)
	return n
}

// udpClient dials tg's UDP server, and returns the two ports whose drop
// counts (udpDrops) account for the datagrams between them.
func udpClient(t *testing.T, tg *target) (c net.Conn, serverPort, clientPort int) {
	t.Helper()
	c = dialPacket(t, tg)
	serverAddr, err := net.ResolveUDPAddr("udp", tg.addr)
	if err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c, serverAddr.Port, portOf(c.LocalAddr())
}

// Datagram burst: one client sends as fast as it can, far beyond the
// server socket's buffer. Each datagram is either answered, or counted
// as a drop by the kernel, on the server's socket or, for the reply, the
// client's: none goes unaccounted for.
func TestDatagramBurst(t *testing.T) {
	forEachMode(t, "udp-burst", nil, func(t *testing.T, mode string) {
		n := scale(20000)
		if mode == "fork" {
			n = scale(300)
		}
		tg := startServer(t, serverConfig{Mode: mode, Network: "udp"})
		tg.warmUp(t, "udp")
		c, serverPort, clientPort := udpClient(t, tg)
		defer c.Close()
		dropsBefore := udpDrops(t, serverPort) + udpDrops(t, clientPort)
		var answered atomic.Int64
		done := make(chan struct{})
		go func() {
			defer close(done)
			b := make([]byte, 2048)
			for {
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				if _, err := c.Read(b); err != nil {
					return // two quiet seconds: the replies are all in
				}
				answered.Add(1)
			}
		}()
		for i := range n {
			if _, err := fmt.Fprintf(c, "echo %d\n", i); err != nil {
				t.Fatalf("send %d: %v", i, err)
			}
		}
		<-done
		drops := udpDrops(t, serverPort) + udpDrops(t, clientPort) - dropsBefore
		lost := n - int(answered.Load()) - drops
		r := result{scenario: "udp-burst", mode: mode, tried: n, survived: int(answered.Load()), lost: lost,
			note: fmt.Sprintf("%d dropped by the kernel, counted", drops)}
		if lost != 0 {
			t.Errorf("%d sent, %d answered, %d dropped: %d unaccounted for", n, answered.Load(), drops, lost)
		}
		if note := tg.leaks(t); note != "" {
			r.note += "; " + note
		}
		report(t, r)
		tg.stop(t)
	})
}

// Oversized datagrams are dropped and counted (Stats.Truncated), never
// served cut short; unbound Unix datagram clients, which cannot be
// answered, do not disturb the server. Both on a Unix datagram socket.
func TestDatagramOddities(t *testing.T) {
	forEachMode(t, "dgram-odd", nil, func(t *testing.T, mode string) {
		n := scale(50)
		tg := startServer(t, serverConfig{Mode: mode, Network: "unixgram", MaxPacketSize: 1024})
		tg.warmUp(t, "unixgram")
		c := dialPacket(t, tg)
		defer c.Close()
		big := []byte("echo " + strings.Repeat("x", 2000) + "\n")
		for range n {
			if _, err := c.Write(big); err != nil {
				t.Fatal(err)
			}
		}
		unbound, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: tg.addr, Net: "unixgram"})
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			fmt.Fprintf(unbound, "echo unbound-%d\n", i)
		}
		unbound.Close()
		// The server goes on: a bound client is answered, and nothing
		// else arrives for it (no oversized datagram was answered).
		if got := exchangePacket(t, c, "echo after"); got != "after" {
			t.Errorf("after the oddities: %q", got)
		}
		for b := make([]byte, 4096); ; {
			c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			n, err := c.Read(b)
			if err != nil {
				break
			}
			if string(b[:n]) != "after\n" { // a repeated request's second answer is fine
				t.Errorf("an unexpected datagram of %d bytes", n)
			}
		}
		st := tg.stateWhen(t, func(st debugState) bool { return st.Stats.Truncated >= int64(n) })
		r := result{scenario: "dgram-odd", mode: mode, tried: 2 * n, survived: 2 * n,
			note: fmt.Sprintf("%d oversized counted as truncated, %d from unbound clients", st.Stats.Truncated, n)}
		if st.Stats.Truncated != int64(n) {
			t.Errorf("Stats.Truncated = %d, want %d", st.Stats.Truncated, n)
			r.lost = n - int(st.Stats.Truncated)
			r.survived -= r.lost
		}
		if note := tg.leaks(t); note != "" {
			r.note += "; " + note
		}
		report(t, r)
		tg.stop(t)
	})
}
