package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
)

// A server is one contender: how to start it on a port, and which
// scenarios it can take part in.
type server struct {
	name string
	// command returns the command line serving network ("tcp" or "udp")
	// on port, for a scenario with conns persistent connections.
	command func(bin, network string, port, conns int) []string
	udp     bool
	// persistent is false for servers that serve one connection at a
	// time, or a bounded number of processes: they sit out the scenarios
	// that hold many connections open.
	persistent bool
	// forking marks the servers that start a process per connection: the
	// scenarios about that cost are theirs alone.
	forking bool
}

func sockserve(mode string, extra ...string) func(bin, network string, port, conns int) []string {
	return func(bin, network string, port, conns int) []string {
		args := []string{filepath.Join(bin, "sockserve"), "-service", "echo", "-mode", mode,
			"-listen", fmt.Sprintf("%s://127.0.0.1:%d", network, port)}
		args = append(args, extra...)
		if mode == "pool" {
			// A pool serves one connection per worker: size it to the
			// connections of the scenario (and at least 8, for churn).
			args = append(args, "-workers", strconv.Itoa(max(conns, 8)))
		}
		return args
	}
}

func forkecho(extra ...string) func(bin, network string, port, conns int) []string {
	return func(bin, _ string, port, _ int) []string {
		return append([]string{filepath.Join(bin, "forkecho"), "-addr", fmt.Sprintf("127.0.0.1:%d", port)}, extra...)
	}
}

// servers are the contenders, ours first, then the peers, the C floor last.
var servers = []server{
	{name: "socketserver/sync", command: sockserve("sync"), udp: true},
	{name: "socketserver/goroutine", command: sockserve("goroutine"), udp: true, persistent: true},
	{name: "socketserver/pool", command: sockserve("pool"), udp: true, persistent: true},
	{name: "socketserver/event", command: sockserve("event"), udp: true, persistent: true},
	{name: "socketserver/prefork", command: sockserve("prefork", "-workers", "2"), udp: true, persistent: true},
	// The fork contenders are examples/forkecho, a small program like the
	// Python peer's script: each child starts the whole program, so a
	// child of sockserve, with all its flags and packages, costs more.
	{name: "socketserver/fork", command: forkecho(), forking: true},
	{name: "socketserver/fork+spares", command: forkecho("-spares", "8"), forking: true},
	{name: "socketserver/fork+spares+reuse", command: forkecho("-spares", "4", "-requests-per-child", "50"), forking: true},
	{name: "go-net", udp: true, persistent: true, command: func(bin, network string, port, _ int) []string {
		return []string{filepath.Join(bin, "netecho"), "-network", network, "-addr", fmt.Sprintf("127.0.0.1:%d", port)}
	}},
	{name: "gnet", udp: true, persistent: true, command: func(bin, network string, port, _ int) []string {
		return []string{filepath.Join(bin, "gnetecho"), "-addr", fmt.Sprintf("%s://127.0.0.1:%d", network, port)}
	}},
	{name: "nbio", persistent: true, command: func(bin, _ string, port, _ int) []string {
		return []string{filepath.Join(bin, "nbioecho"), "-addr", fmt.Sprintf("127.0.0.1:%d", port)}
	}},
	{name: "python/threading", persistent: true, command: func(bin, _ string, port, _ int) []string {
		return []string{"python3", filepath.Join(bin, "pyecho.py"), "threading", strconv.Itoa(port)}
	}},
	{name: "python/forking", forking: true, command: func(bin, _ string, port, _ int) []string {
		return []string{"python3", filepath.Join(bin, "pyecho.py"), "forking", strconv.Itoa(port)}
	}},
	{name: "python/udp", udp: true, command: func(bin, _ string, port, _ int) []string {
		return []string{"python3", filepath.Join(bin, "pyecho.py"), "udp", strconv.Itoa(port)}
	}},
	{name: "c-epoll", udp: true, persistent: true, command: func(bin, network string, port, _ int) []string {
		return []string{filepath.Join(bin, "cecho"), network, strconv.Itoa(port)}
	}},
}

// build compiles every server and sockbench into bin. root is the
// repository, bench its bench module.
func build(root, bench, bin string) error {
	steps := [][]string{
		// Static, as fork mode's children start faster without the dynamic
		// loader (see README, "Fork and prefork").
		{root, "env", "CGO_ENABLED=0", "go", "build", "-o", filepath.Join(bin, "sockserve"), "./cmd/sockserve"},
		{root, "env", "CGO_ENABLED=0", "go", "build", "-o", filepath.Join(bin, "forkecho"), "./examples/forkecho"},
		{root, "go", "build", "-o", filepath.Join(bin, "sockbench"), "./cmd/sockbench"},
		{root, "go", "build", "-o", filepath.Join(bin, "respserver"), "./examples/respserver"},
		{bench, "go", "build", "-o", filepath.Join(bin, "netecho"), "./servers/netecho"},
		{bench, "go", "build", "-o", filepath.Join(bin, "gnetecho"), "./servers/gnetecho"},
		{bench, "go", "build", "-o", filepath.Join(bin, "nbioecho"), "./servers/nbioecho"},
		{bench, "gcc", "-O2", "-Wall", "-o", filepath.Join(bin, "cecho"), "servers/cecho/cecho.c"},
		{bench, "cp", "servers/pyecho/pyecho.py", filepath.Join(bin, "pyecho.py")},
	}
	for _, s := range steps {
		cmd := exec.Command(s[1], s[2:]...)
		cmd.Dir = s[0]
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %v\n%s", s[1:], err, out)
		}
	}
	return nil
}
