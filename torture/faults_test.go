//go:build linux

package torture

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Handler failures: errors, panics and (Fork) os.Exit in the child, each
// on its own connection among normal requests. Every normal request is
// answered and every failure reported; then two handlers spin for ever,
// and Shutdown's deadline (1s) still ends the server.
func TestHandlerFailures(t *testing.T) {
	forEachMode(t, "failures", nil, func(t *testing.T, mode string) {
		n := scale(50)
		tg := startServer(t, serverConfig{Mode: mode, Network: "tcp", ShutdownTimeout: time.Second})
		tg.warmUp(t, "tcp")
		kinds := []string{"panic", "error", "normal"}
		if mode == "fork" {
			kinds = append(kinds, "exit")
		}
		answered := 0
		for i := range n * len(kinds) {
			switch kind := kinds[i%len(kinds)]; kind {
			case "normal":
				if got, err := exchange(tg.addr, i, fmt.Sprintf("echo ok-%d", i)); err == nil && got == fmt.Sprintf("ok-%d", i) {
					answered++
				} else {
					t.Errorf("normal request %d: %q, %v", i, got, err)
				}
			default:
				if got, err := exchange(tg.addr, i, kind); err != io.EOF {
					t.Errorf("%s: got %q, %v; want the connection closed", kind, got, err)
				}
			}
		}
		failures := n * (len(kinds) - 1)
		reportedWant := failures
		if mode == "event" {
			reportedWant = n // "error" closes the connection: nothing to report
		}
		st := tg.stateWhen(t, func(st debugState) bool { return int(st.Stats.Errors-tg.base.Stats.Errors) >= reportedWant })
		reported := int(st.Stats.Errors - tg.base.Stats.Errors)
		if reported < reportedWant {
			t.Errorf("%d failures reported, want %d", reported, reportedWant)
		}
		leak := tg.leaks(t)

		// Two handlers that never return: Shutdown gives up at its
		// deadline, and the process ends.
		loops := make([]net.Conn, 2)
		for i := range loops {
			c, err := net.Dial("tcp", tg.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "loop\n")
			if i > 0 && mode == "sync" {
				break // waits behind the first, which never ends
			}
			if line, err := readLine(c, bufio.NewReader(c), 10*time.Second); line != "spinning" {
				t.Fatalf("loop: %q, %v", line, err)
			}
			loops[i] = c
		}
		start := time.Now()
		line := tg.stop(t)
		took := time.Since(start)
		if !strings.Contains(line, "deadline exceeded") {
			t.Errorf("Shutdown with spinning handlers: %q", line)
		}
		r := result{scenario: "failures", mode: mode, tried: n * len(kinds), survived: answered + failures, lost: n - answered,
			note: fmt.Sprintf("%d failures reported; spinning handlers cut by the deadline, exit after %.1fs", reported, took.Seconds())}
		if leak != "" {
			r.note += "; " + leak
		}
		report(t, r)
	})
}

// Shutdown under load: 1,000 requests in flight (a handler sleeping in
// each), then SIGTERM. Every request the server started is answered;
// clients that connect after shutdown began are refused or answered,
// never dropped after being served "started".
func TestShutdownUnderLoad(t *testing.T) {
	forEachMode(t, "shutdown", nil, func(t *testing.T, mode string) {
		n, sleep, inFlight := scale(1000), "3s", scale(1000)
		switch mode {
		case "sync":
			sleep, inFlight = "200ms", 1
		case "pool":
			sleep, inFlight = "200ms", 32
		case "fork":
			n, inFlight = 100, 100 // MaxChildren
		}
		tg := startServer(t, serverConfig{Mode: mode, Network: "tcp", ShutdownTimeout: 60 * time.Second})
		tg.warmUp(t, "tcp")
		var started, answered, refused, lost atomic.Int64
		var wg sync.WaitGroup
		client := func(i int) {
			c, err := clientDialer(i, 5*time.Second).Dial("tcp", tg.addr)
			if err != nil {
				refused.Add(1)
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			io.WriteString(c, "sleep "+sleep+"\n")
			if line, err := readLine(c, br, 60*time.Second); err != nil || line != "started" {
				refused.Add(1) // never served: reset, or closed unread
				return
			}
			started.Add(1)
			if line, err := readLine(c, br, 60*time.Second); err != nil || line != "done" {
				lost.Add(1)
				return
			}
			answered.Add(1)
		}
		for i := range n {
			wg.Go(func() { client(i) })
		}
		for deadline := time.Now().Add(30 * time.Second); started.Load() < int64(inFlight); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("only %d of %d requests started", started.Load(), inFlight)
			}
		}
		tg.cmd.Process.Signal(unix.SIGTERM)
		tg.expect(t, "draining", 10*time.Second)
		const late = 50
		for i := range late {
			wg.Go(func() { client(n + i) })
		}
		line := tg.expect(t, "shutdown", 70*time.Second)
		tg.cmd.Wait()
		wg.Wait()
		if line != "shutdown <nil>" {
			t.Errorf("Shutdown: %q", line)
		}
		if lost.Load() > 0 {
			t.Errorf("%d requests started and never answered", lost.Load())
		}
		report(t, result{scenario: "shutdown", mode: mode, tried: n + late, survived: int(answered.Load()), lost: int(lost.Load()),
			note: fmt.Sprintf("%d in flight at SIGTERM; %d refused, not started", inFlight, refused.Load())})
	})
}

// Descriptor exhaustion: the server runs with RLIMIT_NOFILE 64 and is
// flooded with 150 connections, each held for a second once answered. It
// logs, backs off rather than spinning (its CPU time is measured while
// it is out of descriptors), and serves every one as descriptors free up.
func TestDescriptorExhaustion(t *testing.T) {
	forEachMode(t, "exhaustion", func(mode string) string {
		switch mode {
		case "sync":
			return "holds one connection: never out of descriptors"
		case "fork":
			return "MaxChildren stops accepting first"
		}
		return ""
	}, func(t *testing.T, mode string) {
		n := scale(150)
		tg := startServer(t, serverConfig{Mode: mode, Network: "tcp"})
		tg.warmUp(t, "tcp")
		pids := processTree(tg.cmd.Process.Pid)
		for _, pid := range pids {
			lim := unix.Rlimit{Cur: 64, Max: 64}
			if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &lim, nil); err != nil {
				t.Fatalf("prlimit %d: %v", pid, err)
			}
		}
		var answered atomic.Int64
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				c, err := clientDialer(i, 10*time.Second).Dial("tcp", tg.addr)
				if err != nil {
					return
				}
				defer c.Close()
				want := fmt.Sprintf("flood-%d", i)
				io.WriteString(c, "echo "+want+"\n")
				if got, err := readLine(c, bufio.NewReader(c), 30*time.Second); err == nil && got == want {
					answered.Add(1)
					time.Sleep(time.Second) // hold the server's descriptor
				}
			})
		}
		// Once the server says it is out of descriptors, measure its CPU
		// for a second.
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(tg.stderr.String(), "too many open files"); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the server never ran out of descriptors:\n%s", tg.stderr.tail())
			}
		}
		cpu0, wall0 := cpuTime(t, pids), time.Now()
		time.Sleep(time.Second)
		cpu := (cpuTime(t, pids) - cpu0).Seconds() / time.Since(wall0).Seconds()
		wg.Wait()
		if cpu > 0.5 {
			t.Errorf("the server used %.0f%% of a CPU while out of descriptors: a busy loop", 100*cpu)
		}
		if int(answered.Load()) != n {
			t.Errorf("%d of %d flood connections answered", answered.Load(), n)
		}
		r := result{scenario: "exhaustion", mode: mode, tried: n, survived: int(answered.Load()), lost: n - int(answered.Load()),
			note: fmt.Sprintf("RLIMIT_NOFILE 64; %.1f%% of a CPU while out of descriptors", 100*cpu)}
		if note := tg.leaks(t); note != "" {
			r.note += "; " + note
		}
		report(t, r)
		tg.stop(t)
	})
}

// processTree returns pid and its descendants.
func processTree(pid int) []int {
	pids := []int{pid}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	for _, f := range tasks {
		b, _ := os.ReadFile(f)
		for _, s := range strings.Fields(string(b)) {
			if child, err := strconv.Atoi(s); err == nil {
				pids = append(pids, processTree(child)...)
			}
		}
	}
	return pids
}

// cpuTime sums the user and system time of the processes.
func cpuTime(t *testing.T, pids []int) time.Duration {
	t.Helper()
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		u, _ := strconv.ParseInt(f[11], 10, 64) // utime, field 14
		s, _ := strconv.ParseInt(f[12], 10, 64) // stime, field 15
		ticks += u + s
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}
