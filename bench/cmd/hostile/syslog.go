package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A syslogServer receives a burst on a UDP port and writes one line per
// message to a file.
type syslogServer struct {
	name    string
	command func(dir string, port int) ([]string, error)
	missing error
}

func syslogServers(syslogdBin string) []syslogServer {
	return []syslogServer{
		{name: "syslogd", command: func(dir string, port int) ([]string, error) {
			return []string{syslogdBin, "-udp", fmt.Sprintf("127.0.0.1:%d", port), "-tcp", "", "-out", filepath.Join(dir, "out")}, nil
		}},
		rsyslog("rsyslogd, %msg% (the text only)", "%msg%"),
		rsyslog("rsyslogd, %jsonmesg% (every field, as JSON)", "%jsonmesg%"),
	}
}

// rsyslog is rsyslogd with imudp, writing each message with template to
// a file, with omfile.
func rsyslog(name, template string) syslogServer {
	return syslogServer{name: name, missing: need("rsyslogd", "rsyslog"), command: func(dir string, port int) ([]string, error) {
		conf := fmt.Sprintf(`global(workDirectory=%q)
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="%d" rcvbufSize="%d")
template(name="out" type="string" string="%s\n")
action(type="omfile" file=%q template="out")
`, dir, port, rcvbufOf(), template, filepath.Join(dir, "out"))
		path := filepath.Join(dir, "rsyslog.conf")
		if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
			return nil, err
		}
		return []string{"rsyslogd", "-n", "-f", path, "-i", filepath.Join(dir, "pid")}, nil
	}}
}

// rcvbufOf is the socket receive buffer syslogd gets: as much as the
// system allows (net.core.rmem_max), which rsyslog is given too.
func rcvbufOf() int {
	if b, err := os.ReadFile("/proc/sys/net/core/rmem_max"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return n
		}
	}
	return 4 << 20
}

// A burstResult is one server's figures for one burst.
type burstResult struct {
	rate          float64 // messages written per second, from the first sent to the last written
	written, lost int
	kernelDrops   int64
	err           error
}

// syslogReport sends the same burst from logger to each server, in
// rounds, and returns the table.
func syslogReport(syslogdBin string, n, rounds int) string {
	rcvbuf := rcvbufOf()
	servers := syslogServers(syslogdBin)
	var b strings.Builder
	fmt.Fprintf(&b, "## syslogd beside rsyslog, a burst of %d messages from logger over UDP\n\n", n)
	fmt.Fprintf(&b, "`logger --rfc5424 -d`, one message per line of its input, to 127.0.0.1; each receiver parses each message "+
		"and writes a line per message to a file (syslogd: its JSON record), with a %d-byte socket receive buffer (net.core.rmem_max). "+
		"Median of %d interleaved rounds (min–max)%s.\n\n", rcvbuf, rounds, pinNote())
	if err := need("logger", "bsdutils"); err != nil {
		return b.String() + "Not run: " + err.Error() + "\n\n"
	}
	results := map[string][]burstResult{}
	for round := range rounds {
		for _, s := range servers {
			if s.missing != nil {
				continue
			}
			r := burst(s, n)
			fmt.Fprintf(logw, "hostile: syslog round %d %-45s %8.0f msg/s, written %d, lost %d (kernel %d) %v\n",
				round+1, s.name, r.rate, r.written, r.lost, r.kernelDrops, r.err)
			results[s.name] = append(results[s.name], r)
		}
	}
	fmt.Fprintf(&b, "| receiver | messages/s | written | lost | of which the kernel dropped |\n|---|---:|---:|---:|---:|\n")
	for _, s := range servers {
		if s.missing != nil {
			fmt.Fprintf(&b, "| %s | not run: %v | | | |\n", s.name, s.missing)
			continue
		}
		rs := results[s.name]
		var errs []string
		for _, r := range rs {
			if r.err != nil {
				errs = append(errs, r.err.Error())
			}
		}
		if len(errs) > 0 {
			fmt.Fprintf(&b, "| %s | failed: %s | | | |\n", s.name, errs[0])
			continue
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", s.name,
			spread(rs, func(r burstResult) float64 { return r.rate }),
			spread(rs, func(r burstResult) float64 { return float64(r.written) }),
			spread(rs, func(r burstResult) float64 { return float64(r.lost) }),
			spread(rs, func(r burstResult) float64 { return float64(r.kernelDrops) }))
	}
	return b.String() + "\n"
}

// burst starts s afresh, sends n messages, waits until its output stops
// growing, stops it, and counts.
func burst(s syslogServer, n int) burstResult {
	dir, err := os.MkdirTemp("", "hostile-syslog")
	if err != nil {
		return burstResult{err: err}
	}
	defer os.RemoveAll(dir)
	port, err := freeUDPPort()
	if err != nil {
		return burstResult{err: err}
	}
	args, err := s.command(dir, port)
	if err != nil {
		return burstResult{err: err}
	}
	p, err := startProc(pinned(0, args), func() error {
		if _, ok := udpDrops(port); !ok {
			return fmt.Errorf("no UDP socket on port %d", port)
		}
		return nil
	})
	if err != nil {
		return burstResult{err: err}
	}
	defer p.stop()
	var in bytes.Buffer
	for i := range n {
		fmt.Fprintf(&in, "burst message %d\n", i)
	}
	out := filepath.Join(dir, "out")
	logger := pinned(1, []string{"logger", "--rfc5424", "-n", "127.0.0.1", "-P", strconv.Itoa(port), "-d", "-t", "burst"})
	cmd := exec.Command(logger[0], logger[1:]...)
	cmd.Stdin = &in
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		return burstResult{err: fmt.Errorf("logger: %v %s", err, b)}
	}
	// Until the output has not grown for a second, or is whole.
	count, last := 0, time.Now()
	for time.Since(last) < time.Second && count < n {
		time.Sleep(10 * time.Millisecond)
		if c := lines(out); c > count {
			count, last = c, time.Now()
		}
	}
	drops, _ := udpDrops(port)
	p.stop()
	r := burstResult{written: lines(out), kernelDrops: drops}
	r.lost = n - r.written
	r.rate = float64(count) / last.Sub(start).Seconds()
	return r
}

// lines counts the lines in a file.
func lines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		n++
	}
	return n
}

// udpDrops returns the kernel's drop count for the UDP socket on port,
// and whether there is one.
func udpDrops(port int) (int64, bool) {
	data, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return 0, false
	}
	suffix := fmt.Sprintf(":%04X", port)
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 13 && strings.HasSuffix(f[1], suffix) {
			d, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
			return d, true
		}
	}
	return 0, false
}

// pinned runs args on one CPU, when taskset is there and there are two.
func pinned(cpu int, args []string) []string {
	if _, err := exec.LookPath("taskset"); err != nil || runtime.NumCPU() < 2 {
		return args
	}
	return append([]string{"taskset", "-c", strconv.Itoa(cpu)}, args...)
}

func pinNote() string {
	if len(pinned(0, nil)) == 0 {
		return ", not pinned"
	}
	return "; the receiver on CPU 0, logger on CPU 1"
}

// spread is "median (min–max)" of f over rs.
func spread(rs []burstResult, f func(burstResult) float64) string {
	vs := make([]float64, len(rs))
	for i, r := range rs {
		vs[i] = f(r)
	}
	slices.Sort(vs)
	if len(vs) == 0 {
		return ""
	}
	return fmt.Sprintf("%.0f (%.0f–%.0f)", vs[len(vs)/2], vs[0], vs[len(vs)-1])
}
