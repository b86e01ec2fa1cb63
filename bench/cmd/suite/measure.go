package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A scenario is one sockbench load, run against every server that can
// take it.
type scenario struct {
	key, title string
	network    string   // tcp or udp
	load       []string // sockbench flags, besides the URL, -d and -json
	conns      int
	persistent bool // holds many connections open
	idle       int  // > 0: an idle-memory scenario holding this many
	forking    bool // for the servers that start a process per connection
	program    bool // for the servers that run a program per connection (superservers)
	// peers are the two contenders the table compares every row with:
	// go-net and gnet unless set.
	peers [2]string
}

// refs returns the two contenders sc's table compares every row with.
func (sc scenario) refs() (string, string) {
	if sc.peers[0] != "" {
		return sc.peers[0], sc.peers[1]
	}
	return "go-net", "gnet"
}

// A measurement is one server's figures for one round of a scenario.
// Memory and CPU are those of the server's whole process tree.
type measurement struct {
	Throughput float64 `json:"requests_per_sec"`
	P50, P99   float64 // µs
	CPUPer1k   float64 `json:"cpu_ms_per_1000_requests"`
	PeakMiB    float64 `json:"peak_pss_mib"`
	IdleKiB    float64 `json:"anon_pss_per_idle_conn_kib,omitempty"`
	Errors     int64   `json:"errors"`
	// Kernel holds the watched TCP counters that moved during the load.
	Kernel map[string]int64 `json:"kernel,omitempty"`
}

// sockbenchResult is the part of sockbench -json the suite reads.
type sockbenchResult struct {
	Requests      int64   `json:"requests"`
	Errors        int64   `json:"errors"`
	Mismatches    int64   `json:"mismatches"`
	FirstError    string  `json:"first_error"`
	FirstMismatch string  `json:"first_mismatch"`
	Throughput    float64 `json:"requests_per_sec"`
	Held          int     `json:"held"`
	Latency       *struct {
		P50 float64 `json:"p50"`
		P99 float64 `json:"p99"`
	} `json:"latency_us"`
}

// A bench is the environment of a run.
type bench struct {
	bin      string        // built binaries
	duration time.Duration // of each load
	rounds   int
	quick    bool
	pin      bool // taskset: server on CPU 0, client on CPU 1
	clkTck   float64
	// results are the load sections' measurements, section → server →
	// rounds, for the headlines and the chart.
	results map[string]map[string][]measurement
}

// pinned prefixes a command with taskset when pinning.
func (b *bench) pinned(cpu int, args []string) []string {
	if !b.pin {
		return args
	}
	return append([]string{"taskset", "-c", strconv.Itoa(cpu)}, args...)
}

// A running server process.
type running struct {
	cmd    *exec.Cmd
	stderr *strings.Builder
}

// start starts srv on a free port of network (tcp or udp), for a load of
// conns connections, and waits until it answers.
func (b *bench) start(srv server, network string, conns int) (*running, int, error) {
	port, err := freePort(network)
	if err != nil {
		return nil, 0, err
	}
	args := b.pinned(0, srv.command(b.bin, network, port, conns))
	cmd := exec.Command(args[0], args[1:]...)
	if err := ownGroup(cmd); err != nil { // forking servers: stop the whole group
		return nil, 0, err
	}
	r := &running{cmd: cmd, stderr: new(strings.Builder)}
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	if err := waitReady(network, port, 15*time.Second); err != nil {
		r.stop()
		return nil, 0, fmt.Errorf("%s did not start: %v; stderr: %s", srv.name, err, r.stderr)
	}
	return r, port, nil
}

// stop kills the server's process group and reaps it.
func (r *running) stop() {
	killGroup(r.cmd.Process)
	r.cmd.Wait()
}

// pid is the server's own process (taskset execs it in place), the root
// of its process tree.
func (r *running) pid() int { return r.cmd.Process.Pid }

func freePort(network string) (int, error) {
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady waits until a server answers on port: a TCP connection, or
// a UDP datagram echoed.
func waitReady(network string, port int, limit time.Duration) error {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout(network, addr, time.Second)
		if err == nil {
			if network == "tcp" {
				c.Close()
				return nil
			}
			c.SetDeadline(time.Now().Add(100 * time.Millisecond))
			c.Write([]byte("ready?"))
			_, err = c.Read(make([]byte, 16))
			c.Close()
			if err == nil {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("nothing answers on %s %s", network, addr)
}

// measure runs one round of sc against srv.
func (b *bench) measure(srv server, sc scenario) (measurement, error) {
	r, port, err := b.start(srv, sc.network, sc.conns)
	if err != nil {
		return measurement{}, err
	}
	defer r.stop()
	if sc.idle > 0 {
		return b.measureIdle(r, port, sc)
	}
	args := append([]string{filepath.Join(b.bin, "sockbench"), fmt.Sprintf("%s://127.0.0.1:%d", sc.network, port),
		"-d", b.duration.String(), "-json"}, sc.load...)
	args = b.pinned(1, args)
	kernel0 := tcpCounters()
	cpu0, err := treeCPU(r.pid(), b.clkTck)
	if err != nil {
		return measurement{}, err
	}
	peak := samplePeak(r.pid())
	out, err := exec.Command(args[0], args[1:]...).Output()
	peakKiB := peak.peak()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 3) { // 3: it ran, with errors
		return measurement{}, fmt.Errorf("sockbench against %s: %v %s; server stderr: %s", srv.name, err, stderrOf(err), lastLine(r.stderr.String()))
	}
	cpu1, err := treeCPU(r.pid(), b.clkTck)
	if err != nil {
		return measurement{}, err
	}
	kernel := counterDelta(kernel0, tcpCounters())
	var res sockbenchResult
	if err := json.Unmarshal(out, &res); err != nil {
		return measurement{}, fmt.Errorf("sockbench output: %v", err)
	}
	if res.Mismatches > 0 {
		return measurement{}, fmt.Errorf("%s answered %d requests wrongly, the first: %s", srv.name, res.Mismatches, res.FirstMismatch)
	}
	m := measurement{Throughput: res.Throughput, Errors: res.Errors, Kernel: kernel,
		CPUPer1k: (cpu1 - cpu0) * 1000 / (float64(res.Requests) / 1000), PeakMiB: float64(peakKiB) / 1024}
	if res.Latency != nil {
		m.P50, m.P99 = res.Latency.P50, res.Latency.P99
	}
	return m, nil
}

// measureIdle opens sc.idle connections to the server, waits until its
// memory settles, and reports its growth per connection: the growth of
// its anonymous memory (see memory).
func (b *bench) measureIdle(r *running, port int, sc scenario) (measurement, error) {
	before := settledMemory(r.pid(), 5*time.Second)
	procs := (sc.idle + 3999) / 4000
	// A long connect timeout: a server slow to accept fills its backlog,
	// and the kernel retries the SYNs of the clients that wait.
	args := b.pinned(1, []string{filepath.Join(b.bin, "sockbench"), "-mode", "idle",
		fmt.Sprintf("tcp://127.0.0.1:%d", port), "-c", strconv.Itoa(sc.idle),
		"-procs", strconv.Itoa(procs), "-d", "10m", "-timeout", "60s", "-json"})
	cmd := exec.Command(args[0], args[1:]...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return measurement{}, err
	}
	if err := cmd.Start(); err != nil {
		return measurement{}, err
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	line, _ := bufio.NewReader(stderr).ReadString('\n')
	var held int
	if _, err := fmt.Sscanf(line, "sockbench: holding %d connections", &held); err != nil {
		return measurement{}, fmt.Errorf("idle client: %q", line)
	}
	if held < sc.idle*99/100 {
		return measurement{}, fmt.Errorf("idle client held only %d of %d connections; server stderr: %s", held, sc.idle, lastLine(r.stderr.String()))
	}
	// The kernel has the connections; wait until the server has taken
	// them and its memory has settled.
	after := settledMemory(r.pid(), 20*time.Second)
	return measurement{IdleKiB: float64(after.anon-before.anon) / float64(held), PeakMiB: float64(after.pss) / 1024}, nil
}

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func stderrOf(err error) string {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return strings.TrimSpace(string(exit.Stderr))
	}
	return ""
}
