package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A scenario is one load, run against every server that can take it.
type scenario struct {
	key, title string
	network    string   // tcp or udp
	load       []string // sockbench flags, besides -url, -d and -json
	conns      int
	persistent bool // holds many connections open
	idle       int  // > 0: an idle-memory scenario holding this many
	forking    bool // for the servers that start a process per connection
}

// A measurement is one server's figures for one round of a scenario.
type measurement struct {
	Throughput float64 `json:"requests_per_sec"`
	P50, P99   float64 // µs
	CPUPer1k   float64 `json:"cpu_ms_per_1000_requests"`
	PeakRSS    float64 `json:"peak_rss_mib"`
	IdleRSS    float64 `json:"rss_per_idle_conn_kib,omitempty"`
	Errors     int64   `json:"errors"`
}

// sockbenchResult is the part of sockbench -json the suite reads.
type sockbenchResult struct {
	Requests   int64   `json:"requests"`
	Errors     int64   `json:"errors"`
	Mismatches int64   `json:"mismatches"`
	FirstError string  `json:"first_error"`
	Throughput float64 `json:"requests_per_sec"`
	Held       int     `json:"held"`
	Latency    *struct {
		P50 float64 `json:"p50"`
		P99 float64 `json:"p99"`
	} `json:"latency_us"`
}

// A bench is the environment of a run.
type bench struct {
	bin      string        // built binaries
	duration time.Duration // of each load
	pin      bool          // taskset: server on CPU 0, client on CPU 1
	clkTck   float64
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

// start starts srv for sc on a free port and waits until it answers.
func (b *bench) start(srv server, sc scenario) (*running, int, error) {
	port, err := freePort(sc.network)
	if err != nil {
		return nil, 0, err
	}
	args := b.pinned(0, srv.command(b.bin, sc.network, port, sc.conns))
	cmd := exec.Command(args[0], args[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // forking servers: stop the whole group
	r := &running{cmd: cmd, stderr: new(strings.Builder)}
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	if err := waitReady(sc.network, port, 15*time.Second); err != nil {
		r.stop()
		return nil, 0, fmt.Errorf("%s did not start: %v; stderr: %s", srv.name, err, r.stderr)
	}
	return r, port, nil
}

// stop kills the server's process group and reaps it.
func (r *running) stop() {
	syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	r.cmd.Wait()
}

// pid is the server's own process (taskset execs it in place).
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
	r, port, err := b.start(srv, sc)
	if err != nil {
		return measurement{}, err
	}
	defer r.stop()
	if sc.idle > 0 {
		return b.measureIdle(r, port, sc)
	}
	cpu0, err := b.cpuSeconds(r.pid())
	if err != nil {
		return measurement{}, err
	}
	args := append([]string{filepath.Join(b.bin, "sockbench"), "-url", fmt.Sprintf("%s://127.0.0.1:%d", sc.network, port),
		"-d", b.duration.String(), "-json"}, sc.load...)
	args = b.pinned(1, args)
	out, err := exec.Command(args[0], args[1:]...).Output()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 3) { // 3: it ran, with errors
		return measurement{}, fmt.Errorf("sockbench against %s: %v %s", srv.name, err, stderrOf(err))
	}
	cpu1, err := b.cpuSeconds(r.pid())
	if err != nil {
		return measurement{}, err
	}
	var res sockbenchResult
	if err := json.Unmarshal(out, &res); err != nil {
		return measurement{}, fmt.Errorf("sockbench output: %v", err)
	}
	if res.Mismatches > 0 {
		return measurement{}, fmt.Errorf("%s answered %d requests wrongly", srv.name, res.Mismatches)
	}
	if res.Requests == 0 {
		return measurement{}, fmt.Errorf("%s answered no request: %s; server stderr: %s", srv.name, res.FirstError, r.stderr)
	}
	m := measurement{Throughput: res.Throughput, Errors: res.Errors,
		CPUPer1k: (cpu1 - cpu0) * 1000 / (float64(res.Requests) / 1000)}
	if res.Latency != nil {
		m.P50, m.P99 = res.Latency.P50, res.Latency.P99
	}
	m.PeakRSS = float64(procStatusKiB(r.pid(), "VmHWM")) / 1024
	return m, nil
}

// measureIdle opens sc.idle connections to the server, waits until its
// memory settles, and reports its growth per connection.
func (b *bench) measureIdle(r *running, port int, sc scenario) (measurement, error) {
	before := procStatusKiB(r.pid(), "VmRSS")
	procs := (sc.idle + 3999) / 4000
	// A long connect timeout: a server slow to accept fills its backlog,
	// and the kernel retries the SYNs of the clients that wait.
	args := b.pinned(1, []string{filepath.Join(b.bin, "sockbench"), "-mode", "idle",
		"-url", fmt.Sprintf("tcp://127.0.0.1:%d", port), "-c", strconv.Itoa(sc.idle),
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
	after := settledRSS(r.pid(), 20*time.Second)
	return measurement{IdleRSS: float64(after-before) / float64(held), PeakRSS: float64(procStatusKiB(r.pid(), "VmHWM")) / 1024}, nil
}

// settledRSS waits until a process's RSS stops growing (unchanged within
// 0.5% for a second), for at most limit, and returns it in KiB.
func settledRSS(pid int, limit time.Duration) int64 {
	deadline := time.Now().Add(limit)
	last := procStatusKiB(pid, "VmRSS")
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		cur := procStatusKiB(pid, "VmRSS")
		if cur-last <= last/200 {
			return cur
		}
		last = cur
	}
	return last
}

// cpuSeconds is the CPU time of a server: user and system time of the
// process whose PID is root and of its live descendants and zombies (the
// workers and children of forking servers, whatever their process group),
// and of the children it reaped.
func (b *bench) cpuSeconds(root int) (float64, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	parent := map[int]int{}
	fields := map[int][]string{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f, ok := statFields(pid); ok {
			fields[pid] = f
			parent[pid], _ = strconv.Atoi(f[1]) // field 4, ppid
		}
	}
	descends := func(pid int) bool {
		for range 64 { // bounded: the tree is shallow
			if pid == root {
				return true
			}
			if pid <= 1 {
				return false
			}
			pid = parent[pid]
		}
		return false
	}
	var ticks float64
	for pid, f := range fields {
		if !descends(pid) {
			continue
		}
		for _, i := range []int{11, 12} { // utime, stime
			v, _ := strconv.ParseFloat(f[i], 64)
			ticks += v
		}
		if pid == root {
			for _, i := range []int{13, 14} { // cutime, cstime
				v, _ := strconv.ParseFloat(f[i], 64)
				ticks += v
			}
		}
	}
	return ticks / b.clkTck, nil
}

// statFields returns the fields of /proc/PID/stat after the command name:
// f[0] is the state (field 3).
func statFields(pid int) ([]string, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil, false
	}
	return strings.Fields(s[i+1:]), true
}

// procStatusKiB reads a "kB" line of /proc/PID/status.
func procStatusKiB(pid int, key string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			v, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return v
		}
	}
	return 0
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

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat times.
func clockTicks(ctx context.Context) float64 {
	out, err := exec.CommandContext(ctx, "getconf", "CLK_TCK").Output()
	if err != nil {
		return 100
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil || v <= 0 {
		return 100
	}
	return v
}
