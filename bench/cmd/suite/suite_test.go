package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/socketserver-go/socketserver/internal/servetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const absent = "suite-test-no-such-program"

// What a section or a contender needs is checked before anything runs:
// a section missing a program is skipped, a contender missing one is
// left out, each with the reason.
func TestPlanSkipsWhatIsMissing(t *testing.T) {
	needy := &section{key: "needy", title: "Needs a program", needs: []string{absent}}
	mixed := &section{key: "mixed", title: "Some contenders", servers: []server{
		{name: "there"}, {name: "not-there", needs: []string{"sh", absent}}, {name: "other"},
	}}
	outs, contenders := plan([]*section{needy, mixed}, nil, nil)
	if len(outs) != 2 || outs[0].skipped != absent+" is not installed" {
		t.Fatalf("needy section: %+v", outs[0])
	}
	if want := "**not-there** did not run: " + absent + " is not installed."; !slices.Equal(outs[1].absent, []string{want}) {
		t.Fatalf("absent contenders %q, want %q", outs[1].absent, want)
	}
	if got := contenders[mixed]; len(got) != 2 || got[0].name != "there" || got[1].name != "other" {
		t.Fatalf("contenders %v", got)
	}
	// -only and -servers narrow the plan; a section left with no
	// contender is skipped.
	outs, contenders = plan([]*section{needy, mixed}, []string{"mixed"}, []string{"other"})
	if len(outs) != 1 || len(contenders[mixed]) != 1 || contenders[mixed][0].name != "other" {
		t.Fatalf("-only mixed -servers other: %d sections, contenders %v", len(outs), contenders[mixed])
	}
	outs, _ = plan([]*section{mixed}, nil, []string{"nobody"})
	if outs[0].skipped == "" {
		t.Fatalf("a section without contenders ran: %+v", outs[0])
	}
	if got := missing([]string{absent, "sh", absent + "2"}); got != absent+" and "+absent+"2 are not installed" {
		t.Fatalf("missing = %q", got)
	}
}

// A section that fails does not stop the run: the next one runs, the
// report is saved after each section, and it notes the failures.
func TestRunSectionsKeepsGoing(t *testing.T) {
	dir := t.TempDir()
	fake := func(key string, run func() (string, map[string]string, error)) *section {
		return &section{key: key, title: "Section " + key, servers: []server{{name: "a"}, {name: "z"}},
			run: func(*bench, []server) (string, map[string]string, error) { return run() }}
	}
	var savedBefore string
	list := []*section{
		fake("one", func() (string, map[string]string, error) { return "## Section one\n\nfirst table\n\n", nil, nil }),
		fake("two", func() (string, map[string]string, error) {
			data, _ := os.ReadFile(filepath.Join(dir, "BENCHMARKS.md"))
			savedBefore = string(data)
			return "", nil, errors.New("redis-benchmark vanished")
		}),
		fake("three", func() (string, map[string]string, error) {
			return "## Section three\n\nthird table\n\n", map[string]string{"z": "did not start"}, nil
		}),
		{key: "four", title: "Section four", needs: []string{absent}},
	}
	outs, contenders := plan(list, nil, nil)
	rep := &report{b: &bench{rounds: 1, results: map[string]map[string][]measurement{}}, outcomes: outs}
	if err := rep.runSections(contenders, func() error { return rep.write(dir) }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(savedBefore, "first table") {
		t.Errorf("the report was not saved after the first section:\n%s", savedBefore)
	}
	data, err := os.ReadFile(filepath.Join(dir, "BENCHMARKS.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"first table",
		"## Section two\n\n- **The section failed**: redis-benchmark vanished\n",
		"third table\n\n- **z failed**: did not start\n",
		"## Section four\n\nNot run: " + absent + " is not installed.\n",
	} {
		if !strings.Contains(string(data), want) {
			t.Errorf("report lacks %q:\n%s", want, data)
		}
	}
	if n := rep.failed(); n != 2 {
		t.Errorf("failed() = %d, want 2", n)
	}
}

// A server's CPU and memory are those of its whole process tree: live
// descendants at any depth, and the children it has reaped.
func TestProcessTree(t *testing.T) {
	// The root burns CPU in a child it reaps, then holds a child that
	// holds a grandchild.
	cmd := exec.Command("sh", "-c", `(i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done); sh -c "sleep 60; :" & wait`)
	if err := ownGroup(cmd); err != nil {
		t.Skip(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killGroup(cmd.Process); cmd.Wait() })
	root := cmd.Process.Pid
	var tree []int
	servetest.WaitUntil(t, "the root has a child and a grandchild", func() bool {
		tree = procTree(root)
		return len(tree) == 3 && comm(tree[2]) == "sleep"
	})
	own, ok := statFields(root)
	if !ok {
		t.Fatal("no /proc stat for the root")
	}
	clk := clockTicks(t.Context())
	var ownCPU float64
	for _, i := range []int{11, 12} {
		var v float64
		fmt.Sscan(own[i], &v)
		ownCPU += v / clk
	}
	cpu, err := treeCPU(root, clk)
	if err != nil {
		t.Fatal(err)
	}
	if cpu-ownCPU < 0.05 {
		t.Errorf("tree CPU %.3fs, the root's own %.3fs: the reaped child's busy loop is missing", cpu, ownCPU)
	}
	rootPSS, _ := kibField(fmt.Sprintf("/proc/%d/smaps_rollup", root), "Pss")
	if m := treeMemory(root); m.pss <= rootPSS || m.anon <= 0 || m.anon > m.pss {
		t.Errorf("tree memory %+v, the root's PSS %d KiB: want more than the root's, anon a part", m, rootPSS)
	}
	if _, err := treeCPU(1<<30, clk); err == nil {
		t.Error("treeCPU of no process succeeded")
	}
}

func comm(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(data))
}

// The watched kernel counters are read, and a delta lists those that
// moved.
func TestCounters(t *testing.T) {
	if c := tcpCounters(); len(c) != len(watchedCounters) {
		t.Fatalf("tcpCounters() = %v, want all of %v", c, watchedCounters)
	}
	d := counterDelta(map[string]int64{"TWRecycled": 5, "ListenDrops": 1}, map[string]int64{"TWRecycled": 14005, "ListenDrops": 1, "TCPSynRetrans": 3})
	if got := counterNote(d); got != "TCPSynRetrans 3, TWRecycled 14,000" {
		t.Fatalf("counterNote = %q", got)
	}
}

// A ratio between two servers pairs their rounds: a machine that drifts
// between rounds moves both figures of a round, not the ratio.
func TestPairedRatio(t *testing.T) {
	ms := func(v ...float64) []measurement {
		var out []measurement
		for _, x := range v {
			out = append(out, measurement{CPUPer1k: x})
		}
		return out
	}
	// Round by round ours is 0.83×, 0.91×, 1.11× theirs: 0.91×. The
	// medians' ratio would say 20/18 = 1.11×.
	if got := pairedRatio(ms(10, 40, 20), ms(12, 44, 18), cpu); got != "0.91×" {
		t.Errorf("paired ratio %s, want 0.91×", got)
	}
	// A contender that failed after two rounds is compared on those two.
	if got := pairedRatio(ms(10, 20), ms(20, 40, 1), cpu); got != "0.50×" {
		t.Errorf("paired ratio %s, want 0.50×", got)
	}
	if got := pairedRatio(nil, ms(1), cpu); got != "–" {
		t.Errorf("with no rounds: %s", got)
	}
}
