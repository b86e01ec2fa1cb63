package main

import (
	"fmt"
	"os"
	"slices"
)

// A section is one part of the report: one load, the contenders that take
// it, and how to measure and present them. Adding one is local:
//
//   - A new contender for the echo loads is one entry in servers (with
//     its needs, and a build step if the suite builds it), e.g. event
//     mode's portable engine, a build of its own: {name:
//     "socketserver/event-portable", command:
//     sockserveBuild("sockserve-portable", "event"), udp: true,
//     persistent: true}.
//   - A sockbench load against other contenders is a scenario and a list
//     of servers, appended in sections as loadSection(sc, list): e.g. a
//     superserver section, churn against forking servers such as
//     {name: "tcpserver", needs: []string{"tcpserver"}, forking: true,
//     command: …"tcpserver", "-HRl0", "127.0.0.1", port, "cat"…}.
//   - A load of another tool is a section with a run function of its own,
//     measuring one round of one contender inside b.interleave, as
//     redisSection is for redis-benchmark (an rsyslog section would send
//     with logger and count what arrives).
//
// Whatever a section or contender lists in needs is checked before the
// run; if missing, it is skipped with a note naming the Debian package
// (debianPackages).
type section struct {
	key, title string
	// needs are the programs the load itself needs (redis-benchmark): a
	// missing one skips the section, with a note in the report.
	needs []string
	// servers are the contenders, in the order of the table.
	servers []server
	// run measures the contenders that are there, over the rounds,
	// interleaved, and returns the section's Markdown (its heading and
	// table) and the contenders that failed, with why: a contender that
	// fails sits out the later rounds. An error means the section as a
	// whole failed.
	run func(b *bench, contenders []server) (markdown string, failures map[string]string, err error)
}

// sections are the report's parts, in order: the sockbench loads against
// servers, then the Redis comparison.
func sections(quick bool, servers []server) []*section {
	list := scenarios
	if quick {
		list = quickScenarios
	}
	var out []*section
	for _, sc := range list {
		out = append(out, loadSection(sc, servers))
	}
	out = append(out, redisSection())
	if !quick {
		out = append(out, syslogSection())
	}
	return out
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
	{key: "superserver", title: "A program per connection (cat): churn, 8 clients, 64 B", network: "tcp", conns: 8, program: true,
		peers: [2]string{"tcpserver", "socat"}, load: []string{"-mode", "churn", "-c", "8", "-size", "64"}},
	{key: "idle-10k", title: "Idle memory, 10,000 connections", network: "tcp", conns: 10000, idle: 10000, persistent: true},
	{key: "idle-18k", title: "Idle memory, 18,000 connections", network: "tcp", conns: 18000, idle: 18000, persistent: true},
}

// quickScenarios are the loads of a smoke run.
var quickScenarios = []scenario{
	scenarios[0], scenarios[2], scenarios[4], scenarios[5],
	{key: "idle-1k", title: "Idle memory, 1,000 connections", network: "tcp", conns: 1000, idle: 1000, persistent: true},
}

// takes reports whether srv takes part in sc.
func (sc scenario) takes(srv server) bool {
	if sc.program || srv.program {
		return sc.program && srv.program // superservers run their own scenario only
	}
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

// loadSection is a sockbench load against each of servers that takes it:
// a throughput table, or an idle-memory table.
func loadSection(sc scenario, servers []server) *section {
	var takers []server
	for _, srv := range servers {
		if sc.takes(srv) {
			takers = append(takers, srv)
		}
	}
	return &section{key: sc.key, title: sc.title, servers: takers,
		run: func(b *bench, contenders []server) (string, map[string]string, error) {
			results := map[string][]measurement{}
			b.results[sc.key] = results
			failures := b.interleave(sc.key, contenders, func(srv server) (string, error) {
				m, err := b.measure(srv, sc)
				if err != nil {
					return "", err
				}
				results[srv.name] = append(results[srv.name], m)
				return m.summary(sc), nil
			})
			return loadMarkdown(b, sc, contenders, results), failures, nil
		}}
}

// interleave measures every contender once per round (A B C A B C …), so
// that a slow moment of a shared machine spreads over all of them, and
// prints each round's summary. A contender that fails sits out the later
// rounds; the failures are returned, contender → why.
func (b *bench) interleave(key string, contenders []server, measure func(server) (summary string, err error)) map[string]string {
	failures := map[string]string{}
	for round := range b.rounds {
		for _, srv := range contenders {
			if failures[srv.name] != "" {
				continue
			}
			summary, err := measure(srv)
			if err != nil {
				failures[srv.name] = err.Error()
				summary = "FAILED: " + err.Error()
			}
			fmt.Fprintf(os.Stderr, "suite: %-13s round %d  %-24s %s\n", key, round+1, srv.name, summary)
		}
	}
	return failures
}

func (m measurement) summary(sc scenario) string {
	if sc.idle > 0 {
		return fmt.Sprintf("%.2f KiB per idle connection", m.IdleKiB)
	}
	s := fmt.Sprintf("%9.0f req/s  p50 %7.1fµs  p99 %8.1fµs  CPU %6.2f ms/1k req  errors %d",
		m.Throughput, m.P50, m.P99, m.CPUPer1k, m.Errors)
	if note := counterNote(m.Kernel); note != "" {
		s += "  kernel: " + note
	}
	return s
}

// An outcome is what became of a section in a run.
type outcome struct {
	sec      *section
	markdown string            // what it measured
	failures map[string]string // contender → why it failed
	skipped  string            // why it did not run at all
	failed   string            // why it stopped
	absent   []string          // contenders that did not run, and why
}

// plan checks every section's and contender's programs before anything
// runs, and returns the outcomes to fill: a section whose load is missing
// a program is skipped, and so is a contender missing one.
func plan(list []*section, only, onlyServers []string) ([]*outcome, map[*section][]server) {
	var outs []*outcome
	contenders := map[*section][]server{}
	for _, sec := range list {
		if len(only) > 0 && !slices.Contains(only, sec.key) {
			continue
		}
		o := &outcome{sec: sec}
		outs = append(outs, o)
		if why := missing(sec.needs); why != "" {
			o.skipped = why
			continue
		}
		for _, srv := range sec.servers {
			if len(onlyServers) > 0 && !slices.Contains(onlyServers, srv.name) {
				continue
			}
			if why := missing(srv.needs); why != "" {
				o.absent = append(o.absent, fmt.Sprintf("**%s** did not run: %s.", srv.name, why))
				continue
			}
			contenders[sec] = append(contenders[sec], srv)
		}
		if len(contenders[sec]) == 0 {
			o.skipped = "no contender is selected, or installed"
		}
	}
	return outs, contenders
}
