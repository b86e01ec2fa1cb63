package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// A server's cost is that of its whole process tree: the process the
// suite started and every descendant (the workers of prefork, the
// children of forking servers), whatever their process group. The
// kernel here may lack /proc/PID/task/TID/children (CONFIG_PROC_CHILDREN),
// so the tree is found from the parent PIDs in /proc/PID/stat.

// procTree returns root and its live descendants (zombies included),
// root first.
func procTree(root int) []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return []int{root}
	}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == root {
			continue
		}
		if f, ok := statFields(pid); ok {
			ppid, _ := strconv.Atoi(f[1]) // field 4
			children[ppid] = append(children[ppid], pid)
		}
	}
	tree := []int{root}
	for i := 0; i < len(tree); i++ { // breadth first; a PID appears once
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}

// treeCPU is the CPU time, in seconds, of root's process tree: user and
// system time of every live process in it, and of the children each has
// reaped (cutime and cstime, which include their own reaped children).
// Between two calls, a child that exits and is reaped moves its time
// from its own fields to its parent's, so the difference counts it once.
func treeCPU(root int, clkTck float64) (float64, error) {
	var ticks float64
	for i, pid := range procTree(root) {
		f, ok := statFields(pid)
		if !ok {
			if i == 0 {
				return 0, fmt.Errorf("process %d is gone", root)
			}
			continue // exited since the tree was read
		}
		for _, field := range []int{11, 12, 13, 14} { // utime, stime, cutime, cstime
			v, _ := strconv.ParseFloat(f[field], 64)
			ticks += v
		}
	}
	return ticks / clkTck, nil
}

// memory is what a process tree holds, in KiB.
type memory struct {
	// pss is the sum of each process's proportional set size, so that the
	// pages forked processes share (text, copy-on-write data) count once,
	// not once per process.
	pss int64
	// anon is the anonymous part of pss: heap and stacks, what a
	// connection adds. File pages do not grow with connections, and their
	// share moves as unrelated processes map the same libraries.
	anon int64
}

// treeMemory is the memory of root's process tree. Without smaps_rollup
// (Linux before 4.14) it sums RSS instead, and RssAnon.
func treeMemory(root int) memory {
	var m memory
	for _, pid := range procTree(root) {
		rollup := fmt.Sprintf("/proc/%d/smaps_rollup", pid)
		if v, ok := kibField(rollup, "Pss"); ok {
			m.pss += v
			a, _ := kibField(rollup, "Pss_Anon")
			m.anon += a
			continue
		}
		status := fmt.Sprintf("/proc/%d/status", pid)
		v, _ := kibField(status, "VmRSS")
		a, _ := kibField(status, "RssAnon")
		m.pss, m.anon = m.pss+v, m.anon+a
	}
	return m
}

// settledMemory waits until the tree's memory stops growing (unchanged
// within 0.5% for a second), for at most limit.
func settledMemory(root int, limit time.Duration) memory {
	deadline := time.Now().Add(limit)
	last := treeMemory(root)
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		cur := treeMemory(root)
		if cur.pss-last.pss <= last.pss/200 {
			return cur
		}
		last = cur
	}
	return last
}

// A peakSampler follows the memory of a process tree while a load runs.
type peakSampler struct {
	stop chan struct{}
	done chan int64
}

// samplePeak samples the tree's memory every 200ms until stopped.
func samplePeak(root int) *peakSampler {
	p := &peakSampler{stop: make(chan struct{}), done: make(chan int64, 1)}
	go func() {
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		peak := treeMemory(root).pss
		for {
			select {
			case <-p.stop:
				p.done <- max(peak, treeMemory(root).pss)
				return
			case <-tick.C:
				peak = max(peak, treeMemory(root).pss)
			}
		}
	}()
	return p
}

// peak stops the sampler and returns the highest PSS seen, in KiB.
func (p *peakSampler) peak() int64 {
	close(p.stop)
	return <-p.done
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
	f := strings.Fields(s[i+1:])
	return f, len(f) > 14
}

// kibField reads a "Key:  N kB" line of a /proc file.
func kibField(path, key string) (int64, bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, key+":"); ok {
			v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}
