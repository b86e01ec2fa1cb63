// Command suite runs socketserver's modes and their peers side by side on
// the same loads, interleaved round by round, and writes BENCHMARKS.md and
// benchmarks.svg. Run it through bench/run:
//
//	bench/run            # the full suite, about 25 minutes
//	bench/run -quick     # a smoke run in under 2 minutes; prints, writes nothing
//
// Each measurement starts the server afresh, pinned to CPU 0 (the load
// generator, sockbench, to CPU 1), and reads the CPU time and memory of
// the server's whole process tree from /proc. Numbers are reported, never
// asserted: the suite fails only if a server or the tool breaks. What a
// section or a contender needs is checked first: a missing program skips
// it, with a note in the report (see sections.go to add either).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

func main() {
	quick := flag.Bool("quick", false, "smoke run: short loads, one round, results printed only")
	rounds := flag.Int("rounds", 3, "rounds of every measurement (interleaved)")
	duration := flag.Duration("d", 5*time.Second, "duration of each load")
	only := flag.String("only", "", "comma-separated section keys to run (default all), e.g. churn,redis")
	out := flag.String("out", "", "directory to write BENCHMARKS.md and benchmarks.svg (default: the repository)")
	onlyServers := flag.String("servers", "", "comma-separated servers to run (default all), e.g. socketserver/event,gnet")
	baseline := flag.String("baseline", "", "a sockserve binary built from another revision: each of our modes runs from it too, as NAME@baseline, interleaved (before and after in one run)")
	flag.Parse()
	list := servers
	if *baseline != "" {
		path, err := filepath.Abs(*baseline)
		if err != nil {
			fmt.Fprintf(os.Stderr, "suite: %v\n", err)
			os.Exit(2)
		}
		list = withBaseline(servers, path)
	}
	if err := run(*quick, *rounds, *duration, split(*only), split(*onlyServers), *out, list); err != nil {
		fmt.Fprintf(os.Stderr, "suite: %v\n", err)
		os.Exit(1)
	}
}

func split(list string) []string {
	if list == "" {
		return nil
	}
	return strings.Split(list, ",")
}

// run checks what every section and contender needs, builds, then runs
// the sections in turn. After each, the report is written again (a full
// run) so that what was measured is kept whatever happens later; a
// section that fails is noted and the next one runs.
func run(quick bool, rounds int, duration time.Duration, only, onlyServers []string, out string, servers []server) error {
	ctx := context.Background()
	root, err := repoRoot()
	if err != nil {
		return err
	}
	if quick {
		rounds, duration = 1, time.Second
	}
	outcomes, contenders := plan(sections(quick, servers), only, onlyServers)
	if len(outcomes) == 0 {
		return fmt.Errorf("no section matches -only %q", strings.Join(only, ","))
	}
	for _, o := range outcomes {
		if o.skipped != "" {
			fmt.Fprintf(os.Stderr, "suite: skipping %s: %s\n", o.sec.key, o.skipped)
		}
		for _, a := range o.absent {
			fmt.Fprintf(os.Stderr, "suite: in %s, %s\n", o.sec.key, strings.ReplaceAll(a, "**", ""))
		}
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
	_, tasksetErr := exec.LookPath("taskset")
	b := &bench{bin: bin, duration: duration, rounds: rounds, quick: quick, pin: tasksetErr == nil && runtime.NumCPU() >= 2,
		clkTck: clockTicks(ctx), results: map[string]map[string][]measurement{}}
	rep := &report{b: b, outcomes: outcomes, started: time.Now(), machine: describeMachine(ctx),
		command: "bench/run " + strings.Join(os.Args[1:], " ")}
	if out == "" {
		out = root
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	save := func() error { return rep.write(out) }
	if quick {
		save = func() error { return nil }
	}
	if err := rep.runSections(contenders, save); err != nil {
		return err
	}
	if quick {
		fmt.Print(rep.markdown())
	}
	if n := rep.failed(); n > 0 {
		return fmt.Errorf("%d measurements failed (listed in the report)", n)
	}
	return nil
}

// runSections runs the sections that are not skipped, in turn, and saves
// the report after each. A section that fails is noted, and the next one
// runs.
func (r *report) runSections(contenders map[*section][]server, save func() error) error {
	for _, o := range r.outcomes {
		if o.skipped != "" {
			continue
		}
		md, failures, err := o.sec.run(r.b, contenders[o.sec])
		o.markdown, o.failures = md, failures
		if err != nil {
			o.failed = err.Error()
			fmt.Fprintf(os.Stderr, "suite: section %s FAILED: %v\n", o.sec.key, err)
		}
		if err := save(); err != nil {
			return err
		}
	}
	return nil
}

// write writes BENCHMARKS.md and benchmarks.svg into dir.
func (r *report) write(dir string) error {
	if err := os.WriteFile(filepath.Join(dir, "BENCHMARKS.md"), []byte(r.markdown()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "benchmarks.svg"), []byte(r.svg()), 0o644)
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
	parts := []string{cpu, fmt.Sprintf("%d cores", runtime.NumCPU()), "Linux " + strings.TrimSpace(string(kernel)), strings.TrimSpace(string(gover))}
	if py := strings.TrimSpace(string(py)); py != "" {
		parts = append(parts, py)
	}
	return strings.Join(parts, ", ")
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
