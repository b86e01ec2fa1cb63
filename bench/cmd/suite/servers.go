package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
)

// A server is one contender: how to start it on a port, what it needs,
// and which scenarios it can take part in. Adding one to servers (or to
// another section's list) is all a new contender takes; if it is built
// here, add its build step too.
type server struct {
	name string
	// command returns the command line serving network ("tcp" or "udp")
	// on port, for a scenario with conns persistent connections.
	command func(bin, network string, port, conns int) []string
	// needs are the programs it runs, besides what the suite builds: a
	// missing one skips it, with a note in the report.
	needs []string
	udp   bool
	// persistent is false for servers that serve one connection at a
	// time, or a bounded number of processes: they sit out the scenarios
	// that hold many connections open.
	persistent bool
	// forking marks the servers that start a process per connection: the
	// scenarios about that cost are theirs alone.
	forking bool
	// program marks the superservers, which run a program (cat) per
	// connection: they take the superserver scenario only.
	program bool
}

func sockserve(mode string, extra ...string) func(bin, network string, port, conns int) []string {
	return sockserveBuild("sockserve", mode, extra...)
}

// sockserveBuild is sockserve from the binary named program, a build of
// its own (with other build tags).
func sockserveBuild(program, mode string, extra ...string) func(bin, network string, port, conns int) []string {
	return func(bin, network string, port, conns int) []string {
		args := []string{filepath.Join(bin, program), "-service", "echo", "-mode", mode,
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
	// Event mode on the engine other systems use (the Go runtime's
	// netpoller, a goroutine per connection), built with the tag that
	// selects it on Linux.
	{name: "socketserver/event-portable", command: sockserveBuild("sockserve-portable", "event"), udp: true, persistent: true},
	{name: "socketserver/prefork", command: sockserve("prefork", "-workers", "2"), udp: true, persistent: true},
	// The fork contenders are examples/forkecho, a small program like the
	// Python peer's script: each child starts the whole program, so a
	// child of sockserve, with all its flags and packages, costs more.
	{name: "socketserver/fork", command: forkecho(), forking: true},
	{name: "socketserver/fork+spares", command: forkecho("-spares", "8"), forking: true},
	{name: "socketserver/fork+spares+reuse", command: forkecho("-spares", "4", "-requests-per-child", "50"), forking: true},
	// And sockserve's own fork mode, whose children pay for all of it.
	{name: "socketserver/sockserve-fork", command: sockserve("fork"), forking: true},
	{name: "go-net", udp: true, persistent: true, command: func(bin, network string, port, _ int) []string {
		return []string{filepath.Join(bin, "netecho"), "-network", network, "-addr", fmt.Sprintf("127.0.0.1:%d", port)}
	}},
	{name: "gnet", udp: true, persistent: true, command: func(bin, network string, port, _ int) []string {
		return []string{filepath.Join(bin, "gnetecho"), "-addr", fmt.Sprintf("%s://127.0.0.1:%d", network, port)}
	}},
	{name: "nbio", persistent: true, command: func(bin, _ string, port, _ int) []string {
		return []string{filepath.Join(bin, "nbioecho"), "-addr", fmt.Sprintf("127.0.0.1:%d", port)}
	}},
	{name: "python/threading", needs: []string{"python3"}, persistent: true, command: func(bin, _ string, port, _ int) []string {
		return []string{"python3", filepath.Join(bin, "pyecho.py"), "threading", strconv.Itoa(port)}
	}},
	{name: "python/forking", needs: []string{"python3"}, forking: true, command: func(bin, _ string, port, _ int) []string {
		return []string{"python3", filepath.Join(bin, "pyecho.py"), "forking", strconv.Itoa(port)}
	}},
	{name: "python/udp", needs: []string{"python3"}, udp: true, command: func(bin, _ string, port, _ int) []string {
		return []string{"python3", filepath.Join(bin, "pyecho.py"), "udp", strconv.Itoa(port)}
	}},
	// Superservers: a program per connection, here cat, which echoes; at
	// most 40 at once, tcpserver's default, and no DNS or ident lookups.
	// (As cmd/sockserve's BenchmarkSuperserver runs them.)
	{name: "socketserver/superserver", program: true, command: func(bin, _ string, port, _ int) []string {
		return []string{filepath.Join(bin, "sockserve"), "-listen", fmt.Sprintf("tcp://127.0.0.1:%d", port), "-max-children", "40", "--", "/bin/cat"}
	}},
	{name: "tcpserver", needs: []string{"tcpserver"}, program: true, command: func(_, _ string, port, _ int) []string {
		return []string{"tcpserver", "-HRl0", "-c", "40", "127.0.0.1", strconv.Itoa(port), "/bin/cat"}
	}},
	{name: "socat", needs: []string{"socat"}, program: true, command: func(_, _ string, port, _ int) []string {
		return []string{"socat", fmt.Sprintf("TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork,max-children=40,backlog=128", port), "EXEC:/bin/cat"}
	}},
	{name: "ncat", needs: []string{"ncat"}, program: true, command: func(_, _ string, port, _ int) []string {
		return []string{"ncat", "-lk", "--max-conns", "40", "--exec", "/bin/cat", "127.0.0.1", strconv.Itoa(port)}
	}},
	{name: "c-epoll", needs: []string{"gcc"}, udp: true, persistent: true, command: func(bin, network string, port, _ int) []string {
		return []string{filepath.Join(bin, "cecho"), network, strconv.Itoa(port)}
	}},
}

// withBaseline adds, after each contender that runs our sockserve, its
// twin NAME@baseline running the sockserve binary at path instead: a build
// of another revision, measured in the same run, interleaved, for a
// before-and-after comparison.
func withBaseline(list []server, path string) []server {
	var out []server
	for _, srv := range list {
		out = append(out, srv)
		if args := srv.command("", "tcp", 0, 1); len(args) == 0 || args[0] != "sockserve" {
			continue
		}
		twin, command := srv, srv.command
		twin.name += "@baseline"
		twin.command = func(bin, network string, port, conns int) []string {
			args := command(bin, network, port, conns)
			return append([]string{path}, args[1:]...)
		}
		out = append(out, twin)
	}
	return out
}

// A buildStep makes one binary in bin; dir is "root" (the repository)
// or "bench" (its bench module).
type buildStep struct {
	dir   string
	needs []string // programs it runs besides go: skipped if missing
	args  []string
}

// buildSteps build every server and sockbench. Static, as fork mode's
// children start faster without the dynamic loader (see README, "Fork
// and prefork").
func buildSteps(bin string) []buildStep {
	out := func(name string) string { return filepath.Join(bin, name) }
	return []buildStep{
		{dir: "root", args: []string{"env", "CGO_ENABLED=0", "go", "build", "-o", out("sockserve"), "./cmd/sockserve"}},
		{dir: "root", args: []string{"env", "CGO_ENABLED=0", "go", "build", "-tags", "socketserver_portable", "-o", out("sockserve-portable"), "./cmd/sockserve"}},
		{dir: "root", args: []string{"env", "CGO_ENABLED=0", "go", "build", "-o", out("forkecho"), "./examples/forkecho"}},
		{dir: "root", args: []string{"go", "build", "-o", out("sockbench"), "./cmd/sockbench"}},
		{dir: "root", args: []string{"go", "build", "-o", out("respserver"), "./examples/respserver"}},
		{dir: "bench", args: []string{"go", "build", "-o", out("netecho"), "./servers/netecho"}},
		{dir: "bench", args: []string{"go", "build", "-o", out("hostile"), "./cmd/hostile"}},
		{dir: "bench", args: []string{"go", "build", "-o", out("gnetecho"), "./servers/gnetecho"}},
		{dir: "bench", args: []string{"go", "build", "-o", out("nbioecho"), "./servers/nbioecho"}},
		{dir: "bench", needs: []string{"gcc"}, args: []string{"gcc", "-O2", "-Wall", "-o", out("cecho"), "servers/cecho/cecho.c"}},
		{dir: "bench", args: []string{"cp", "servers/pyecho/pyecho.py", out("pyecho.py")}},
	}
}

// build runs the build steps whose programs are there; a step that fails
// is a broken tree, and an error. root is the repository, bench its bench
// module.
func build(root, bench, bin string) error {
	for _, s := range buildSteps(bin) {
		if missing(s.needs) != "" {
			continue // its contenders are skipped, with the reason
		}
		cmd := exec.Command(s.args[0], s.args[1:]...)
		cmd.Dir = root
		if s.dir == "bench" {
			cmd.Dir = bench
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%v: %v\n%s", s.args, err, out)
		}
	}
	return nil
}
