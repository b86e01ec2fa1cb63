//go:build linux

package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// In fork mode the pid service shows a new process for every connection,
// with spares or without, never the server's.
func TestForkModePIDs(t *testing.T) {
	for _, spares := range []string{"0", "3"} {
		t.Run("spares="+spares, func(t *testing.T) {
			p := startServe(t, 1, "-service", "pid", "-mode", "fork", "-spares", spares, "-listen", "tcp://127.0.0.1:0")
			seen := map[string]bool{strconv.Itoa(p.cmd.Process.Pid): true}
			for i := range 6 {
				pid := servedBy(t, p.urls[0], i)
				if seen[pid] {
					t.Errorf("connection %d served by %s: the server, or a process that served before", i, pid)
				}
				seen[pid] = true
			}
			if code := p.stop(t); code != 0 {
				t.Fatalf("exit status %d; stderr:\n%s", code, p.stderr)
			}
		})
	}
}

// In prefork mode only the workers serve: the PIDs are the server's
// children, never the server.
func TestPreforkModePIDs(t *testing.T) {
	p := startServe(t, 1, "-service", "pid", "-mode", "prefork", "-workers", "3", "-listen", "tcp://127.0.0.1:0")
	server := p.cmd.Process.Pid
	for i := range 12 {
		pid := servedBy(t, p.urls[0], i)
		n, _ := strconv.Atoi(pid)
		if kids := childrenOf(t, server); n == server || !slices.Contains(kids, n) {
			t.Errorf("connection %d served by %s; the workers are %v, the server %d", i, pid, kids, server)
		}
	}
	if code := p.stop(t); code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, p.stderr)
	}
	if kids := childrenOf(t, server); len(kids) > 0 {
		t.Errorf("workers alive after the server exited: %v", kids)
	}
}

func servedBy(t *testing.T, url string, i int) string {
	t.Helper()
	msg := "conn " + strconv.Itoa(i) + "\n"
	got := ask(t, url, msg)
	pid, rest, ok := strings.Cut(got, ": ")
	if !ok || rest != msg {
		t.Fatalf("pid service answered %q", got)
	}
	return pid
}

// childrenOf lists the processes whose parent is ppid, from /proc.
func childrenOf(t testing.TB, ppid int) []int {
	t.Helper()
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	var kids []int
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			pid, _ := strconv.Atoi(strings.Fields(s)[0])
			kids = append(kids, pid)
		}
	}
	return kids
}
