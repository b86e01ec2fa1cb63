package main

import (
	"encoding/csv"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The Redis-protocol comparison: the real redis-benchmark against the real
// redis-server and examples/respserver, in the same run.

// redisTests are redis-benchmark's names for what -t ping,set,get runs.
var redisTests = []string{"PING_INLINE", "PING_MBULK", "SET", "GET"}

var redisServers = []server{
	{name: "redis-server", needs: []string{"redis-server"}, command: func(_, _ string, port, _ int) []string {
		return []string{"redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "no", "--protected-mode", "no", "--loglevel", "warning", "--daemonize", "no"}
	}},
	{name: "respserver/event", command: func(bin, _ string, port, _ int) []string {
		return []string{filepath.Join(bin, "respserver"), "-mode", "event", "-addr", fmt.Sprintf("127.0.0.1:%d", port)}
	}},
	{name: "respserver/goroutine", command: func(bin, _ string, port, _ int) []string {
		return []string{filepath.Join(bin, "respserver"), "-mode", "goroutine", "-addr", fmt.Sprintf("127.0.0.1:%d", port)}
	}},
}

// A redisRound is one server's figures for one round.
type redisRound struct {
	rps      map[string]float64 // test → requests per second
	cpuPer1k float64            // server CPU ms per 1,000 requests, all tests
}

// redisArgs are the load: the issue's -P 16 -c 50, with -n sized so that
// each test runs for about a second or more here.
func redisArgs(port int, requests int) []string {
	return []string{"redis-benchmark", "-h", "127.0.0.1", "-p", strconv.Itoa(port), "-t", "ping,set,get",
		"-P", "16", "-c", "50", "-n", strconv.Itoa(requests), "-q", "--csv"}
}

// redisSection is the real redis-benchmark against the real redis-server
// and examples/respserver.
func redisSection() *section {
	return &section{key: "redis", title: "Redis protocol: redis-benchmark against redis-server",
		needs: []string{"redis-benchmark"}, servers: redisServers,
		run: func(b *bench, contenders []server) (string, map[string]string, error) {
			requests := 1_000_000
			if b.quick {
				requests = 100_000
			}
			started := time.Now()
			results := map[string][]redisRound{}
			failures := b.interleave("redis", contenders, func(srv server) (string, error) {
				rr, err := b.redisRound(srv, requests)
				if err != nil {
					return "", err
				}
				results[srv.name] = append(results[srv.name], rr)
				return fmt.Sprintf("PING %s  SET %s  GET %s req/s  CPU %.2f ms/1k req",
					num(rr.rps["PING_MBULK"]), num(rr.rps["SET"]), num(rr.rps["GET"]), rr.cpuPer1k), nil
			})
			return redisMarkdown(contenders, results, requests, time.Since(started)), failures, nil
		}}
}

// redisRound measures one round of redis-benchmark against srv.
func (b *bench) redisRound(srv server, requests int) (redisRound, error) {
	r, port, err := b.start(srv, "tcp", 50)
	if err != nil {
		return redisRound{}, err
	}
	defer r.stop()
	cpu0, err := treeCPU(r.pid(), b.clkTck)
	if err != nil {
		return redisRound{}, err
	}
	args := b.pinned(1, redisArgs(port, requests))
	out, err := exec.Command(args[0], args[1:]...).Output()
	if err != nil {
		return redisRound{}, fmt.Errorf("redis-benchmark: %v %s", err, stderrOf(err))
	}
	cpu1, err := treeCPU(r.pid(), b.clkTck)
	if err != nil {
		return redisRound{}, err
	}
	rr := redisRound{rps: map[string]float64{}, cpuPer1k: (cpu1 - cpu0) * 1000 / float64(len(redisTests)*requests) * 1000}
	recs, err := csv.NewReader(strings.NewReader(string(out))).ReadAll()
	if err != nil || len(recs) == 0 {
		return redisRound{}, fmt.Errorf("redis-benchmark output %q: %v", out, err)
	}
	for _, rec := range recs[1:] {
		if len(rec) < 2 {
			continue
		}
		if v, err := strconv.ParseFloat(rec[1], 64); err == nil {
			rr.rps[rec[0]] = v
		}
	}
	for _, t := range redisTests {
		if rr.rps[t] == 0 {
			return redisRound{}, fmt.Errorf("no %s result in %q", t, out)
		}
	}
	return rr, nil
}

// redisMarkdown is the report's section for the Redis comparison.
func redisMarkdown(contenders []server, res map[string][]redisRound, requests int, elapsed time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## Redis protocol: redis-benchmark against redis-server\n\n")
	fmt.Fprintf(&b, "`%s` (each server pinned like the others; %s in all): "+
		"Debian's redis-server 7 (persistence off) beside `examples/respserver` in its two modes. "+
		"Requests per second as redis-benchmark reports them, median of the rounds (min–max).\n\n",
		strings.Replace(strings.Join(redisArgs(0, requests), " "), "-p 0", "-p PORT", 1), elapsed.Round(time.Second))
	fmt.Fprintf(&b, "| server |")
	for _, t := range redisTests {
		fmt.Fprintf(&b, " %s |", t)
	}
	fmt.Fprintf(&b, " CPU ms / 1,000 req | vs redis-server (PING_MBULK / SET / GET) |\n|---|")
	for range redisTests {
		fmt.Fprintf(&b, "---:|")
	}
	fmt.Fprintf(&b, "---:|---:|\n")
	med := func(name, test string) spread {
		ms := make([]measurement, len(res[name]))
		for i, rr := range res[name] {
			ms[i] = measurement{Throughput: rr.rps[test]}
		}
		return spreadOf(ms, throughput)
	}
	for _, srv := range contenders {
		if len(res[srv.name]) == 0 {
			continue
		}
		fmt.Fprintf(&b, "| %s |", srv.name)
		for _, t := range redisTests {
			fmt.Fprintf(&b, " %s |", med(srv.name, t))
		}
		ms := make([]measurement, len(res[srv.name]))
		for i, rr := range res[srv.name] {
			ms[i] = measurement{CPUPer1k: rr.cpuPer1k}
		}
		var ratios []string
		for _, t := range []string{"PING_MBULK", "SET", "GET"} {
			ratios = append(ratios, ratio(med(srv.name, t).med, med("redis-server", t).med))
		}
		fmt.Fprintf(&b, " %s | %s |\n", spreadOf(ms, cpu), strings.Join(ratios, " / "))
	}
	fmt.Fprintln(&b)
	return b.String()
}
