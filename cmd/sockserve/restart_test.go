//go:build linux

package main

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/socketserver-go/socketserver/internal/servetest"

	"golang.org/x/sys/unix"
)

// Three restarts on SIGUSR2 under a steady load of connections: every
// connection succeeds and every request is answered, byte-exact, and each
// restart leaves a new process serving and the old one gone. In fork and
// prefork mode the process that owns the socket hands it over, and its
// children and workers finish what they took.
func TestZeroDowntimeRestarts(t *testing.T) {
	for _, mode := range []string{"goroutine", "fork", "prefork"} {
		t.Run(mode, func(t *testing.T) { zeroDowntimeRestarts(t, "-mode", mode) })
	}
}

func zeroDowntimeRestarts(t *testing.T, mode ...string) {
	pidFile := filepath.Join(t.TempDir(), "sockserve.pid")
	p := startServe(t, 1, append([]string{"-service", "upper", "-listen", "tcp://127.0.0.1:0", "-restartable", "-pid-file", pidFile}, mode...)...)
	addr := strings.TrimPrefix(p.urls[0], "tcp://")
	readPID := func() int {
		b, _ := os.ReadFile(pidFile)
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return n
	}
	servetest.WaitUntil(t, "the PID file", func() bool { return readPID() == p.cmd.Process.Pid })
	t.Cleanup(func() {
		if pid := readPID(); pid > 0 && pid != p.cmd.Process.Pid {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	load := startLoad(addr, 4)
	seen := map[int]bool{}
	for round := range 3 {
		load.waitMore(t, 200)
		old := readPID()
		seen[old] = true
		pidfd, err := unix.PidfdOpen(old, 0)
		if err != nil {
			t.Fatalf("round %d: pidfd of %d: %v", round, old, err)
		}
		syscall.Kill(old, syscall.SIGUSR2)
		waitExit(t, pidfd, old)
		unix.Close(pidfd)
		if pid := readPID(); pid == old || seen[pid] {
			t.Fatalf("round %d: the PID file says %d after %d exited", round, pid, old)
		}
	}
	load.waitMore(t, 200)
	load.finish(t)
	last := readPID()
	pidfd, err := unix.PidfdOpen(last, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(pidfd)
	syscall.Kill(last, syscall.SIGTERM)
	waitExit(t, pidfd, last)
	for pid := range seen {
		if kids := childrenOf(t, pid); len(kids) > 0 {
			t.Errorf("process %d left children %v", pid, kids)
		}
	}
}

// waitExit waits until the process of pidfd has exited.
func waitExit(t *testing.T, pidfd, pid int) {
	t.Helper()
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 30_000)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n == 0 {
			t.Fatalf("process %d still running after 30s (%v)", pid, err)
		}
		return
	}
}
