//go:build linux

package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"
)

// A superserver peer: a command that serves /bin/cat on a TCP port.
type superPeer struct {
	name string
	pkg  string // the Debian package
	args func(bin string, port int) []string
}

var superPeers = []superPeer{
	{name: "sockserve", args: func(bin string, port int) []string {
		return []string{bin, "-listen", fmt.Sprintf("tcp://127.0.0.1:%d", port), "-max-children", "40", "--", "/bin/cat"}
	}},
	{name: "tcpserver", pkg: "ucspi-tcp", args: func(_ string, port int) []string {
		return []string{"tcpserver", "-HRl0", "-c", "40", "127.0.0.1", strconv.Itoa(port), "/bin/cat"}
	}},
	{name: "socat", pkg: "socat", args: func(_ string, port int) []string {
		return []string{"socat", fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,max-children=40", port), "EXEC:/bin/cat"}
	}},
	{name: "ncat", pkg: "ncat", args: func(_ string, port int) []string {
		return []string{"ncat", "-lk", "--max-conns", "40", "--exec", "/bin/cat", "127.0.0.1", strconv.Itoa(port)}
	}},
}

// A superRound is one peer's figures for one round.
type superRound struct {
	conns   int
	elapsed time.Duration
	cpu     time.Duration // the server's and its waited-for children's
	self    time.Duration // the server's alone
}

func (r superRound) rate() float64             { return float64(r.conns) / r.elapsed.Seconds() }
func (r superRound) cpuPerConn() time.Duration { return r.cpu / time.Duration(max(r.conns, 1)) }

// BenchmarkSuperserverCat compares sockserve running /bin/cat for each
// connection with ucspi-tcp's tcpserver, socat and ncat doing the same:
// 8 clients connect, send 64 bytes, read them back and close, for 2s per
// peer, interleaved; each b.N is a round (-benchtime 3x for three). It
// reports connections per second and the server's CPU time per
// connection, its children's (the cat processes it waited for) included:
// ncat does not wait for its children, so its CPU is under-counted.
// The peers come from Debian's ucspi-tcp, socat and ncat.
func BenchmarkSuperserverCat(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "sockserve")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	peers := slices.Clone(superPeers)
	for _, p := range peers[1:] {
		servetest.Need(b, p.args("", 0)[0], p.pkg)
	}
	results := map[string][]superRound{}
	for b.Loop() {
		for _, p := range peers {
			r, err := measureSuperPeer(b, bin, p, 2*time.Second)
			if err != nil {
				b.Fatalf("%s: %v", p.name, err)
			}
			results[p.name] = append(results[p.name], r)
		}
	}
	median := func(name string, f func(superRound) float64) float64 {
		v := make([]float64, 0, len(results[name]))
		for _, r := range results[name] {
			v = append(v, f(r))
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	rate := func(r superRound) float64 { return r.rate() }
	cpu := func(r superRound) float64 { return float64(r.cpuPerConn()) / 1e6 }
	self := func(r superRound) float64 { return float64(r.self/time.Duration(max(r.conns, 1))) / 1e6 }
	b.Logf("%-10s %12s %14s %22s %24s", "peer", "conns/s", "CPU ms/conn", "of which the server's", "vs tcpserver (rate, CPU)")
	for _, p := range peers {
		b.Logf("%-10s %12.0f %14.3f %22.3f %13.2f× %9.2f×", p.name, median(p.name, rate), median(p.name, cpu), median(p.name, self),
			median(p.name, rate)/median("tcpserver", rate), median(p.name, cpu)/median("tcpserver", cpu))
		b.ReportMetric(median(p.name, rate), p.name+"-conns/s")
		b.ReportMetric(median(p.name, cpu), p.name+"-cpu-ms/conn")
	}
	b.ReportMetric(median("sockserve", rate)/median("tcpserver", rate), "rate-vs-tcpserver")
	b.ReportMetric(median("sockserve", cpu)/median("tcpserver", cpu), "cpu-vs-tcpserver")
}

// measureSuperPeer starts a peer, loads it for d, and stops it.
func measureSuperPeer(b *testing.B, bin string, p superPeer, d time.Duration) (superRound, error) {
	port := freePort(b)
	args := p.args(bin, port)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return superRound{}, err
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	servetest.WaitUntil(b, p.name+" to listen", func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	cpu0, self0, err := processCPU(cmd.Process.Pid)
	if err != nil {
		return superRound{}, err
	}
	var conns atomic.Int64
	var failure atomic.Value
	stop := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	msg := strings.Repeat("x", 63) + "\n"
	for range 8 {
		wg.Go(func() {
			buf := make([]byte, len(msg))
			for time.Now().Before(stop) {
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err == nil {
					c.SetDeadline(time.Now().Add(5 * time.Second))
					_, err = io.WriteString(c, msg)
					if err == nil {
						_, err = io.ReadFull(c, buf)
					}
					c.Close()
				}
				if err != nil {
					failure.CompareAndSwap(nil, err)
					return
				}
				conns.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := failure.Load().(error); err != nil {
		return superRound{}, err
	}
	// The last cats may still be exiting: wait until the server has reaped
	// them, so that their CPU is counted, as the others' is.
	servetest.WaitUntil(b, p.name+" to reap its children", func() bool { return len(childrenOf(b, cmd.Process.Pid)) == 0 })
	cpu1, self1, err := processCPU(cmd.Process.Pid)
	if err != nil {
		return superRound{}, err
	}
	return superRound{conns: int(conns.Load()), elapsed: elapsed, cpu: cpu1 - cpu0, self: self1 - self0}, nil
}

// processCPU returns a process's CPU time with that of the children it
// has waited for, and its own alone (utime, stime, cutime, cstime in
// /proc/PID/stat).
func processCPU(pid int) (all, self time.Duration, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	var ticks [4]int64
	for i := range ticks { // fields 14-17, counted from state (field 3)
		if ticks[i], err = strconv.ParseInt(f[11+i], 10, 64); err != nil {
			return 0, 0, err
		}
	}
	const tick = time.Second / 100 // USER_HZ is 100 on Linux
	return time.Duration(ticks[0]+ticks[1]+ticks[2]+ticks[3]) * tick, time.Duration(ticks[0]+ticks[1]) * tick, nil
}
