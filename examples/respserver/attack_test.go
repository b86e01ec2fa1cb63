package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"
)

// These tests attack respserver as a program of its own (built without
// the race detector, which would change its memory), beside a real
// redis-server under the same attacks, and measure the memory of each
// from /proc. They assert respserver's bounds only; redis-server's
// figures are logged, for the README's comparison:
//
//	go test -run 'Amplification|PartialValues' -v ./examples/respserver

// buildServer builds respserver and returns the binary's path.
func buildServer(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("reads memory from /proc")
	}
	bin := filepath.Join(t.TempDir(), "respserver")
	if out, err := exec.Command("go", slices.Concat([]string{"build"}, servetest.BuildFlags(), []string{"-o", bin, "."})...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// A serverProc is a server program running.
type serverProc struct {
	pid           int
	network, addr string
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
	return serverProc{pid: cmd.Process.Pid, network: "tcp", addr: addr}
}

// A target is a server to attack: respserver, or redis-server beside it.
type target struct {
	name  string
	ours  bool // its bounds are asserted
	start func(t *testing.T) serverProc
}

// targets are respserver in both modes, with args, and redis-server, with
// redisArgs.
func targets(bin string, args, redisArgs []string) []target {
	var ts []target
	for _, mode := range modes {
		ts = append(ts, target{name: "respserver " + mode, ours: true, start: func(t *testing.T) serverProc {
			return startProgram(t, bin, append([]string{"-mode", mode, "-addr", "127.0.0.1:0"}, args...)...)
		}})
	}
	return append(ts, target{name: strings.Join(append([]string{"redis-server"}, redisArgs...), " "), start: func(t *testing.T) serverProc {
		return startRedis(t, redisArgs...)
	}})
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
// 3 KB MGET naming a 1 MiB value 300 times; 300 pipelined GETs of it, in
// 8 KB), from clients that do not read, leave respserver's memory where it
// was: it produces a reply only as fast as the client takes it.
// (redis-server builds each whole: 300 MiB.)
func TestReplyAmplification(t *testing.T) {
	bin := buildServer(t)
	for _, tg := range append(targets(bin, nil, nil), targets(bin, nil, []string{"--maxmemory-clients", "64mb"})[2]) {
		t.Run(tg.name, func(t *testing.T) {
			p := tg.start(t)
			c := dialClient(t, p.network, p.addr)
			c.do("SET", "big", string(value(1<<20, 9)))
			base, _ := memory(t, p.pid)
			for _, attack := range []struct {
				name string
				cmds [][]string
			}{
				{name: "MGET", cmds: [][]string{append([]string{"MGET"}, slices.Repeat([]string{"big"}, 300)...)}},
				{name: "pipelined GETs", cmds: slices.Repeat([][]string{{"GET", "big"}}, 300)},
			} {
				a := dialClient(t, p.network, p.addr)
				a.send(attack.cmds...)
				// Once it has a first megabyte of its reply, the server
				// has taken its request.
				if _, err := io.ReadFull(a.r, make([]byte, 1<<20)); err != nil && tg.ours {
					t.Errorf("%s: reading the first MiB of the reply: %v", attack.name, err)
				}
				if got := c.do("PING"); got != "PONG" {
					t.Fatalf("PING: %v", got)
				}
				rss, peak := memory(t, p.pid)
				t.Logf("%s, %s: resident %s before, %s at the peak, %s now", tg.name, attack.name, mib(base), mib(peak), mib(rss))
				if tg.ours && peak > base+32<<20 {
					t.Errorf("%s: the server's memory grew from %s to %s", attack.name, mib(base), mib(peak))
				}
			}
		})
	}
}

// TestPartialValues: ten clients each send 31 MiB of a 32 MiB value and
// stop. The partial requests of all clients together stay within
// respserver's -client-memory: the clients holding the most are
// disconnected, and a client with a small request is served meanwhile;
// once they are gone, the memory goes back to the system. (Beside it,
// redis-server with its default settings, and with maxmemory-clients.)
func TestPartialValues(t *testing.T) {
	bin := buildServer(t)
	const budget = 64 << 20
	ours := []string{"-max-value", strconv.Itoa(32 << 20), "-max-request", strconv.Itoa(budget), "-client-memory", strconv.Itoa(budget)}
	for _, tg := range append(targets(bin, ours, nil), targets(bin, nil, []string{"--maxmemory-clients", "64mb"})[2]) {
		t.Run(tg.name, func(t *testing.T) {
			p := tg.start(t)
			c := dialClient(t, p.network, p.addr)
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
				a := dialClient(t, p.network, p.addr)
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
			if got := c.do("PING"); got != "PONG" { // after the closes, in order
				t.Fatalf("PING: %v", got)
			}
			gone := time.Now()
			if tg.ours {
				// What stays is the 1 MiB value stored, and a little.
				servetest.WaitUntil(t, "the memory goes back", func() bool {
					rss, _ := memory(t, p.pid)
					return rss < base+8<<20
				})
			}
			rss, _ := memory(t, p.pid)
			t.Logf("%s: resident %s before, %s at the peak, %s %v after the clients left; %d of %d clients cut off while sending",
				tg.name, mib(base), mib(peak), mib(rss), time.Since(gone).Round(time.Millisecond), cut, attackers)
			if tg.ours && peak > base+budget+32<<20 {
				t.Errorf("the partial requests took the server from %s to %s, past its budget of %s", mib(base), mib(peak), mib(budget))
			}
		})
	}
}
