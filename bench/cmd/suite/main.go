// Command suite runs socketserver's modes and their peers side by side on
// the same loads, interleaved round by round, and writes BENCHMARKS.md and
// benchmarks.svg. Run it through bench/run:
//
//	bench/run            # the full suite, about 25 minutes
//	bench/run -quick     # a smoke run in under 2 minutes; prints, writes nothing
//
// Each measurement starts the server afresh, pinned to CPU 0 (the load
// generator, sockbench, to CPU 1), and reads the server's CPU time and
// memory from /proc. Numbers are reported, never asserted: the suite fails
// only if a server or the tool breaks.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

func main() {
	quick := flag.Bool("quick", false, "smoke run: short loads, one round, results printed only")
	rounds := flag.Int("rounds", 3, "rounds of every measurement (interleaved)")
	duration := flag.Duration("d", 5*time.Second, "duration of each load")
	only := flag.String("only", "", "comma-separated scenario keys to run (default all)")
	out := flag.String("out", "", "directory to write BENCHMARKS.md and benchmarks.svg (default: the repository)")
	onlyServers := flag.String("servers", "", "comma-separated servers to run (default all), e.g. socketserver/event,gnet")
	flag.Parse()
	if *onlyServers != "" {
		names := strings.Split(*onlyServers, ",")
		servers = slices.DeleteFunc(servers, func(s server) bool { return !slices.Contains(names, s.name) })
	}
	if err := run(*quick, *rounds, *duration, *only, *out); err != nil {
		fmt.Fprintf(os.Stderr, "suite: %v\n", err)
		os.Exit(1)
	}
}

// scenarios are the loads of the full run.
var scenarios = []scenario{
	{key: "echo-64x50", title: "Echo, 64 B × 50 connections", network: "tcp", conns: 50, persistent: true,
		load: []string{"-c", "50", "-size", "64"}},
	{key: "echo-1k-x1000", title: "Echo, 1 KiB × 1,000 connections", network: "tcp", conns: 1000, persistent: true,
		load: []string{"-c", "1000", "-size", "1024", "-timeout", "30s"}},
	{key: "pingpong", title: "Ping-pong, 1 connection, 64 B", network: "tcp", conns: 1,
		load: []string{"-c", "1", "-size", "64"}},
	{key: "pipelined", title: "Pipelined echo, depth 16, 8 connections, 64 B", network: "tcp", conns: 8, persistent: true,
		load: []string{"-c", "8", "-pipeline", "16", "-size", "64"}},
	{key: "churn", title: "Churn: connect, one 64 B request, close; 8 clients", network: "tcp", conns: 8,
		load: []string{"-mode", "churn", "-c", "8", "-size", "64"}},
	{key: "udp", title: "UDP echo, 64 B, 8 clients", network: "udp", conns: 8,
		load: []string{"-c", "8", "-size", "64"}},
	{key: "fork-latency", title: "A process per connection: churn at 40 connections/s, 4 clients", network: "tcp", conns: 4, forking: true,
		load: []string{"-mode", "churn", "-c", "4", "-rate", "40", "-size", "64"}},
	{key: "idle-10k", title: "Idle memory, 10,000 connections", network: "tcp", conns: 10000, idle: 10000, persistent: true},
	{key: "idle-18k", title: "Idle memory, 18,000 connections", network: "tcp", conns: 18000, idle: 18000, persistent: true},
}

// quickScenarios are the loads of a smoke run.
var quickScenarios = []scenario{
	scenarios[0], scenarios[2], scenarios[4], scenarios[5],
	{key: "idle-1k", title: "Idle memory, 1,000 connections", network: "tcp", conns: 1000, idle: 1000, persistent: true},
}

func (sc scenario) takes(srv server) bool {
	if sc.forking != srv.forking && (sc.forking || sc.key != "churn") {
		return false // forking servers run the churn scenarios only
	}
	if sc.network == "udp" {
		return srv.udp
	}
	if srv.name == "python/udp" {
		return false
	}
	return srv.persistent || !sc.persistent
}

func run(quick bool, rounds int, duration time.Duration, only, out string) error {
	ctx := context.Background()
	root, err := repoRoot()
	if err != nil {
		return err
	}
	bin, err := os.MkdirTemp("", "socketserver-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	fmt.Fprintln(os.Stderr, "suite: building servers and sockbench")
	if err := build(root, filepath.Join(root, "bench"), bin); err != nil {
		return err
	}

	list := scenarios
	if quick {
		list, rounds, duration = quickScenarios, 1, time.Second
	}
	withRedis := true
	if only != "" {
		keys := strings.Split(only, ",")
		list = slices.DeleteFunc(slices.Clone(list), func(sc scenario) bool { return !slices.Contains(keys, sc.key) })
		withRedis = slices.Contains(keys, "redis")
		if len(list) == 0 && !withRedis {
			return fmt.Errorf("no scenario matches -only %q", only)
		}
	}
	_, tasksetErr := exec.LookPath("taskset")
	b := &bench{bin: bin, duration: duration, pin: tasksetErr == nil && runtime.NumCPU() >= 2, clkTck: clockTicks(ctx)}

	results := map[string]map[string][]measurement{}
	failures := map[string]map[string]string{} // scenario → server → first failure
	started := time.Now()
	for _, sc := range list {
		results[sc.key] = map[string][]measurement{}
		failures[sc.key] = map[string]string{}
		// Interleave: every server once per round (A B C A B C …), so that
		// a slow moment of a shared machine spreads over all of them. A
		// server that fails is reported, and sits out the later rounds.
		for round := range rounds {
			for _, srv := range servers {
				if !sc.takes(srv) || failures[sc.key][srv.name] != "" {
					continue
				}
				m, err := b.measure(srv, sc)
				if err != nil {
					failures[sc.key][srv.name] = err.Error()
					fmt.Fprintf(os.Stderr, "suite: %-13s round %d  %-24s FAILED: %v\n", sc.key, round+1, srv.name, err)
					continue
				}
				results[sc.key][srv.name] = append(results[sc.key][srv.name], m)
				fmt.Fprintf(os.Stderr, "suite: %-13s round %d  %-24s %s\n", sc.key, round+1, srv.name, m.summary(sc))
			}
		}
	}
	var redisSection string
	if withRedis {
		requests := 1_000_000
		if quick {
			requests = 100_000
		}
		redisStarted := time.Now()
		res, err := b.runRedis(rounds, requests)
		if err != nil {
			return err
		}
		redisSection = redisMarkdown(res, requests, time.Since(redisStarted))
	}
	rep := &report{redis: redisSection, scenarios: list, results: results, failures: failures, rounds: rounds, duration: duration, pinned: b.pin,
		elapsed: time.Since(started), machine: describeMachine(ctx), command: "bench/run " + strings.Join(os.Args[1:], " ")}
	if quick {
		fmt.Print(rep.markdown())
	} else {
		if out == "" {
			out = root
		}
		if err := os.WriteFile(filepath.Join(out, "BENCHMARKS.md"), []byte(rep.markdown()), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(out, "benchmarks.svg"), []byte(rep.svg()), 0o644); err != nil {
			return err
		}
	}
	if n := rep.failed(); n > 0 {
		return fmt.Errorf("%d measurements failed (listed in the report)", n)
	}
	return nil
}

func (m measurement) summary(sc scenario) string {
	if sc.idle > 0 {
		return fmt.Sprintf("%.2f KiB per idle connection", m.IdleRSS)
	}
	return fmt.Sprintf("%9.0f req/s  p50 %7.1fµs  p99 %8.1fµs  CPU %6.2f ms/1k req  errors %d",
		m.Throughput, m.P50, m.P99, m.CPUPer1k, m.Errors)
}

// repoRoot finds the repository: the directory above the bench module.
func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", err
	}
	gomod := strings.TrimSpace(string(out))
	if filepath.Base(filepath.Dir(gomod)) != "bench" {
		return "", fmt.Errorf("run the suite from the bench module (bench/run), not %s", gomod)
	}
	return filepath.Dir(filepath.Dir(gomod)), nil
}

// describeMachine names the CPU, cores, kernel and Go version.
func describeMachine(ctx context.Context) string {
	cpu := "unknown CPU"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(data), "\n") {
			if name, ok := strings.CutPrefix(line, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), ":"))
				break
			}
		}
	}
	kernel, _ := exec.CommandContext(ctx, "uname", "-r").Output()
	gover, _ := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output()
	py, _ := exec.CommandContext(ctx, "python3", "--version").Output()
	return fmt.Sprintf("%s, %d cores, Linux %s, %s, %s", cpu, runtime.NumCPU(),
		strings.TrimSpace(string(kernel)), strings.TrimSpace(string(gover)), strings.TrimSpace(string(py)))
}
