package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/socketserver-go/socketserver/internal/servetest"
)

// These tests attack respserver as a program of its own (built without
// the race detector, which would change its memory), and measure its
// memory from /proc.

// buildServer builds respserver and returns the binary's path.
func buildServer(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("reads memory from /proc")
	}
	bin := filepath.Join(t.TempDir(), "respserver")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// A serverProc is a server program running.
type serverProc struct {
	pid  int
	addr string // host:port or a Unix socket path
}

// startProgram runs a server that prints "listening on ADDR" on its first
// line of stdout, and stops it with SIGTERM when the test ends.
func startProgram(t *testing.T, bin string, args ...string) serverProc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("%s printed %q, %v", bin, line, err)
	}
	go io.Copy(io.Discard, stdout)
	return serverProc{pid: cmd.Process.Pid, addr: addr}
}

// memory returns a process's resident memory now and at its peak, in
// bytes.
func memory(t *testing.T, pid int) (rss, peak int64) {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kib, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kib << 10
		case "VmHWM:":
			peak = kib << 10
		}
	}
	return rss, peak
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// TestReplyAmplification: small requests that ask for huge replies (a
// 9 KB MGET naming a 1 MiB value 1,000 times; 300 pipelined GETs of it, in
// 8 KB), from clients that do not read, leave the server's memory where it
// was: it produces a reply only as fast as the client takes it.
func TestReplyAmplification(t *testing.T) {
	bin := buildServer(t)
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			p := startProgram(t, bin, "-mode", mode, "-addr", "127.0.0.1:0")
			c := dialClient(t, "tcp", p.addr)
			big := value(1<<20, 9)
			c.do("SET", "big", string(big))
			base, _ := memory(t, p.pid)

			mget := dialClient(t, "tcp", p.addr)
			args := []string{"MGET"}
			for range 1000 {
				args = append(args, "big")
			}
			mget.send(args)
			gets := dialClient(t, "tcp", p.addr)
			cmds := make([][]string, 300)
			for i := range cmds {
				cmds[i] = []string{"GET", "big"}
			}
			gets.send(cmds...)
			// Once each has a first megabyte of its reply, the server
			// has taken its request.
			for _, a := range []*client{mget, gets} {
				if _, err := io.ReadFull(a.r, make([]byte, 1<<20)); err != nil {
					t.Errorf("reading the first MiB of a reply: %v", err)
				}
			}
			if got := c.do("PING"); got != "PONG" {
				t.Fatalf("PING: %v", got)
			}
			rss, peak := memory(t, p.pid)
			t.Logf("%s mode: resident %s before, %s at the peak, %s after", mode, mib(base), mib(peak), mib(rss))
			if peak > base+64<<20 {
				t.Errorf("the server's memory grew from %s to %s", mib(base), mib(peak))
			}
		})
	}
}

// TestPartialValues: ten clients each send 31 MiB of a 32 MiB value and
// stop. The partial requests of all clients together stay within
// -client-memory: the clients holding the most are disconnected, and a
// client with a small request is served meanwhile; once they are gone,
// the memory goes back to the system.
func TestPartialValues(t *testing.T) {
	bin := buildServer(t)
	const budget = 64 << 20
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			p := startProgram(t, bin, "-mode", mode, "-addr", "127.0.0.1:0",
				"-max-value", strconv.Itoa(32<<20), "-max-request", strconv.Itoa(33<<20), "-client-memory", strconv.Itoa(budget))
			c := dialClient(t, "tcp", p.addr)
			c.do("PING")
			base, _ := memory(t, p.pid)
			const attackers = 10
			var (
				wg  sync.WaitGroup
				mu  sync.Mutex
				cut int
			)
			chunk := make([]byte, 1<<20)
			held := make([]*client, attackers)
			for i := range held {
				a := dialClient(t, "tcp", p.addr)
				held[i] = a
				wg.Go(func() {
					fmt.Fprintf(a.conn, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n", 32<<20)
					for range 31 {
						if _, err := a.conn.Write(chunk); err != nil {
							mu.Lock()
							cut++
							mu.Unlock()
							return
						}
					}
				})
			}
			wg.Wait()
			// A small request is served, even with the budget full.
			if got := c.do("SET", "small", string(value(1<<20, 1))); got != "OK" {
				t.Errorf("a 1 MiB SET during the attack: %v", got)
			}
			_, peak := memory(t, p.pid)
			for _, a := range held {
				a.conn.Close()
			}
			// What stays is the 1 MiB value stored, and a little.
			servetest.WaitUntil(t, "the memory goes back", func() bool {
				rss, _ := memory(t, p.pid)
				return rss < base+8<<20
			})
			rss, _ := memory(t, p.pid)
			t.Logf("%s mode: resident %s before, %s at the peak, %s after; %d of %d clients cut off while sending",
				mode, mib(base), mib(peak), mib(rss), cut, attackers)
			if peak > base+budget+32<<20 {
				t.Errorf("the partial requests took the server from %s to %s, past its budget of %s", mib(base), mib(peak), mib(budget))
			}
		})
	}
}
