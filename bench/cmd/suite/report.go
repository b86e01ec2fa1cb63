package main

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
	"time"
)

// A report is the result of a run, rendered as Markdown and SVG. It can
// be rendered at any point of the run: the sections not yet run are left
// out.
type report struct {
	b        *bench
	outcomes []*outcome
	started  time.Time
	machine  string
	command  string
}

// failed counts the contenders and sections that failed.
func (r *report) failed() int {
	n := 0
	for _, o := range r.outcomes {
		n += len(o.failures)
		if o.failed != "" {
			n++
		}
	}
	return n
}

// notes are the lines under a section's table: the contenders that did
// not run, those that failed, and the section's own failure.
func (o *outcome) notes() []string {
	notes := slices.Clone(o.absent)
	for _, srv := range o.sec.servers {
		if why := o.failures[srv.name]; why != "" {
			notes = append(notes, fmt.Sprintf("**%s failed**: %s", srv.name, oneLine(why)))
		}
	}
	if o.failed != "" {
		notes = append(notes, "**The section failed**: "+oneLine(o.failed))
	}
	return notes
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ") }

// spread is the median and range of one figure over the rounds.
type spread struct{ med, lo, hi float64 }

func spreadOf(ms []measurement, f func(measurement) float64) spread {
	if len(ms) == 0 {
		return spread{med: math.NaN(), lo: math.NaN(), hi: math.NaN()}
	}
	v := make([]float64, len(ms))
	for i, m := range ms {
		v[i] = f(m)
	}
	slices.Sort(v)
	med := v[len(v)/2]
	if len(v)%2 == 0 {
		med = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return spread{med: med, lo: v[0], hi: v[len(v)-1]}
}

func (s spread) String() string {
	if s.lo == s.hi || math.IsNaN(s.med) {
		return num(s.med)
	}
	return fmt.Sprintf("%s (%s–%s)", num(s.med), num(s.lo), num(s.hi))
}

// num prints a figure with three significant digits, thousands grouped.
func num(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "–"
	case a >= 1000:
		s := fmt.Sprintf("%.0f", v)
		var b strings.Builder
		for i, c := range s {
			if i > 0 && (len(s)-i)%3 == 0 && c != '-' {
				b.WriteByte(',')
			}
			b.WriteRune(c)
		}
		return b.String()
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// ratio is a/b as "1.02×", or "–" when either is missing.
func ratio(a, b float64) string {
	if a == 0 || b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// vs is server's figure against ref's in a load section: the median of
// the rounds' ratios, each round's servers having run side by side, or
// "–". (A ratio of the two medians would set one round's figure against
// another's: on a shared machine the rounds drift more than the servers
// differ.)
func (b *bench) vs(sc, srv, ref string, f func(measurement) float64) string {
	return pairedRatio(b.results[sc][srv], b.results[sc][ref], f)
}

// pairedRatio is the median of f(a[i]) / f(b[i]) over the rounds both
// ran (a contender that fails sits out the rounds after), as "1.02×".
func pairedRatio(a, b []measurement, f func(measurement) float64) string {
	var rs []float64
	for i := range min(len(a), len(b)) {
		x, y := f(a[i]), f(b[i])
		if x == 0 || y == 0 || math.IsNaN(x) || math.IsNaN(y) {
			continue
		}
		rs = append(rs, x/y)
	}
	if len(rs) == 0 {
		return "–"
	}
	slices.Sort(rs)
	med := rs[len(rs)/2]
	if len(rs)%2 == 0 {
		med = (rs[len(rs)/2-1] + rs[len(rs)/2]) / 2
	}
	return fmt.Sprintf("%.2f×", med)
}

// median returns the median of a figure of server in a load section, or
// NaN.
func (b *bench) median(sc, srv string, f func(measurement) float64) float64 {
	return spreadOf(b.results[sc][srv], f).med
}

func throughput(m measurement) float64 { return m.Throughput }
func cpu(m measurement) float64        { return m.CPUPer1k }
func idleKiB(m measurement) float64    { return m.IdleKiB }
func peakMiB(m measurement) float64    { return m.PeakMiB }
func p50(m measurement) float64        { return m.P50 }
func p99(m measurement) float64        { return m.P99 }

func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "socketserver's modes beside a plain Go `net` server, gnet v2.10.0, nbio v1.6.12, CPython's "+
		"socketserver and a minimal single-threaded C epoll server (the floor: the kernel's own cost), "+
		"on the same loads in one run.\n\n")
	fmt.Fprintf(&b, "- Machine: %s.\n", r.machine)
	fmt.Fprintf(&b, "- Command: `%s` (%s in all).\n", strings.TrimSpace(r.command), time.Since(r.started).Round(time.Second))
	pin := "not pinned (taskset missing or one CPU)"
	if r.b.pin {
		pin = "the server on CPU 0, the load generator (`sockbench`) on CPU 1, with `taskset`; so every server has one core"
	}
	fmt.Fprintf(&b, "- Method: each figure is the median of %d rounds (min–max in brackets), the servers interleaved "+
		"round by round; a ratio between two servers is the median of the rounds' ratios, each round's servers "+
		"having run side by side; each load runs %v against a freshly started server; %s. A server's CPU time and memory are "+
		"those of its whole process tree (the process started and all its descendants, such as prefork's workers "+
		"and forked children): CPU from `/proc/PID/stat` of each, reaped children included, so a client-bound run "+
		"still compares servers by their cost per request; memory as the sum of their proportional set sizes "+
		"(PSS, `/proc/PID/smaps_rollup`), so that pages processes share count once; peak memory is sampled every "+
		"200 ms; the memory an idle connection costs is the growth of the anonymous part (heap and stacks; file pages "+
		"do not grow with connections, and their share moves with unrelated processes). Every reply is checked byte for byte. Churn clients connect from 127.0.0.2–201, as from many "+
		"machines, so that TIME_WAIT does not run the client out of ports.\n",
		r.b.rounds, r.b.duration, pin)
	fmt.Fprintf(&b, "- Who runs what: `socketserver/sync` and `python/forking` serve one connection at a time or a "+
		"bounded set of processes, so they sit out the loads that hold many connections; `socketserver/pool` is "+
		"sized to the connections of each load.\n\n")
	fmt.Fprintf(&b, "![throughput, CPU per request and latency](benchmarks.svg)\n\n")
	r.headlines(&b)
	for _, o := range r.outcomes {
		switch {
		case o.skipped != "":
			fmt.Fprintf(&b, "## %s\n\nNot run: %s.\n\n", o.sec.title, o.skipped)
			continue
		case o.markdown == "" && o.failed == "":
			continue // not run yet
		}
		b.WriteString(o.markdown)
		if o.markdown == "" {
			fmt.Fprintf(&b, "## %s\n\n", o.sec.title)
		}
		if notes := o.notes(); len(notes) > 0 {
			fmt.Fprintf(&b, "- %s\n\n", strings.Join(notes, "\n- "))
		}
	}
	return b.String()
}

// loadMarkdown is a load section: its table, its failures, and the
// kernel counters that moved during its loads.
func loadMarkdown(bn *bench, sc scenario, contenders []server, results map[string][]measurement) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", sc.title)
	if sc.idle > 0 {
		fmt.Fprintf(&b, "| server | KiB per idle connection | memory with all held, MiB | vs go-net | vs gnet |\n|---|---:|---:|---:|---:|\n")
		for _, srv := range contenders {
			ms := results[srv.name]
			if len(ms) == 0 {
				continue
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", srv.name, spreadOf(ms, idleKiB), spreadOf(ms, peakMiB),
				bn.vs(sc.key, srv.name, "go-net", idleKiB), bn.vs(sc.key, srv.name, "gnet", idleKiB))
		}
		fmt.Fprintln(&b)
		goroutine, event := bn.median(sc.key, "socketserver/goroutine", idleKiB), bn.median(sc.key, "socketserver/event", idleKiB)
		if !math.IsNaN(goroutine) && !math.IsNaN(event) {
			fmt.Fprintf(&b, "At this rate, 1,000,000 idle connections would cost the goroutine mode about %s GiB of server memory, "+
				"the event mode about %s GiB (plus, for either, the kernel's own socket memory).\n\n",
				num(goroutine*1e6/(1<<20)), num(event*1e6/(1<<20)))
		}
		return b.String()
	}
	ref1, ref2 := sc.refs()
	fmt.Fprintf(&b, "| server | requests/s | p50 µs | p99 µs | CPU ms / 1,000 req | peak memory MiB | req/s vs %s / %s | CPU vs %s / %s | errors |\n", ref1, ref2, ref1, ref2)
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	kernel := map[string]int64{}
	for _, srv := range contenders {
		ms := results[srv.name]
		if len(ms) == 0 {
			continue
		}
		var errs int64
		for _, m := range ms {
			errs += m.Errors
			for k, v := range m.Kernel {
				kernel[k] += v
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s / %s | %s / %s | %d |\n", srv.name,
			spreadOf(ms, throughput), num(spreadOf(ms, p50).med), num(spreadOf(ms, p99).med), spreadOf(ms, cpu),
			num(spreadOf(ms, peakMiB).med),
			bn.vs(sc.key, srv.name, ref1, throughput), bn.vs(sc.key, srv.name, ref2, throughput),
			bn.vs(sc.key, srv.name, ref1, cpu), bn.vs(sc.key, srv.name, ref2, cpu), errs)
	}
	fmt.Fprintln(&b)
	if note := counterNote(kernel); note != "" {
		fmt.Fprintf(&b, "Kernel TCP counters that moved during these loads (the whole machine's, other programs included): %s.\n\n", note)
	}
	return b.String()
}

// headlines lists the goroutine mode's ratios to the plain net server and
// to gnet, and the C floor's, for the load sections that ran.
func (r *report) headlines(b *strings.Builder) {
	var lines []string
	for _, o := range r.outcomes {
		sc, ok := scenarioOf(o.sec.key)
		if !ok || len(r.b.results[sc.key]) == 0 {
			continue
		}
		bn := r.b
		if sc.idle > 0 {
			if math.IsNaN(bn.median(sc.key, "socketserver/goroutine", idleKiB)) {
				continue
			}
			lines = append(lines, fmt.Sprintf("- %s: socketserver/goroutine %s KiB per connection (go-net %s, gnet %s).", sc.title,
				num(bn.median(sc.key, "socketserver/goroutine", idleKiB)), num(bn.median(sc.key, "go-net", idleKiB)), num(bn.median(sc.key, "gnet", idleKiB))))
			continue
		}
		best := "socketserver/goroutine"
		if !sc.persistent {
			best = "socketserver/sync"
			for _, name := range []string{"socketserver/goroutine", "socketserver/pool"} {
				if bn.median(sc.key, name, throughput) > bn.median(sc.key, best, throughput) || math.IsNaN(bn.median(sc.key, best, throughput)) {
					best = name
				}
			}
		}
		tp := bn.median(sc.key, best, throughput)
		if math.IsNaN(tp) {
			continue // none of ours ran
		}
		line := fmt.Sprintf("- %s: %s at %s req/s, %s the requests/s of go-net and %s of gnet, at %s and %s their CPU per request; the C floor uses %s of ours.",
			sc.title, best, num(tp), bn.vs(sc.key, best, "go-net", throughput), bn.vs(sc.key, best, "gnet", throughput),
			bn.vs(sc.key, best, "go-net", cpu), bn.vs(sc.key, best, "gnet", cpu),
			bn.vs(sc.key, "c-epoll", best, cpu))
		if ev := "socketserver/event"; !math.IsNaN(bn.median(sc.key, ev, throughput)) {
			line += fmt.Sprintf(" Event mode: %s gnet's requests/s at %s its CPU per request, %s the C floor's.",
				bn.vs(sc.key, ev, "gnet", throughput), bn.vs(sc.key, ev, "gnet", cpu), bn.vs(sc.key, ev, "c-epoll", cpu))
		}
		lines = append(lines, line)
	}
	if len(lines) == 0 {
		return
	}
	fmt.Fprintf(b, "## Headlines\n\n%s\n\n", strings.Join(lines, "\n"))
}

// scenarioOf finds the scenario of a load section.
func scenarioOf(key string) (scenario, bool) {
	for _, sc := range append(slices.Clone(scenarios), quickScenarios...) {
		if sc.key == key {
			return sc, true
		}
	}
	return scenario{}, false
}

// A bar is one labelled row of a panel, with one or two values.
type bar struct {
	label  string
	values []float64
}

// svg draws three panels: throughput and CPU per request of the first
// echo load, and ping-pong latency.
func (r *report) svg() string {
	const width, labelW, rowH, top = 920, 210, 20, 34
	var panels []string
	var y int
	add := func(title string, series []string, bars []bar) {
		if len(bars) == 0 {
			return
		}
		maxV := 0.0
		for _, b := range bars {
			for _, v := range b.values {
				maxV = max(maxV, v)
			}
		}
		var p strings.Builder
		fmt.Fprintf(&p, `<text x="10" y="%d" font-size="15" font-weight="bold">%s</text>`+"\n", y+20, html.EscapeString(title))
		colors := []string{"#3366cc", "#dc7633"}
		for i, s := range series {
			fmt.Fprintf(&p, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/><text x="%d" y="%d" font-size="12">%s</text>`+"\n",
				width-260+i*130, y+9, colors[i], width-243+i*130, y+20, html.EscapeString(s))
		}
		row := y + top
		for _, b := range bars {
			fmt.Fprintf(&p, `<text x="%d" y="%d" font-size="12" text-anchor="end">%s</text>`+"\n", labelW-8, row+14, html.EscapeString(b.label))
			h := (rowH - 4) / len(b.values)
			for i, v := range b.values {
				w := 0.0
				if maxV > 0 {
					w = v / maxV * float64(width-labelW-110)
				}
				fmt.Fprintf(&p, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/><text x="%.1f" y="%d" font-size="11">%s</text>`+"\n",
					labelW, row+2+i*h, w, h-1, colors[i], float64(labelW)+w+4, row+2+i*h+h-2, num(v))
			}
			row += rowH
		}
		panels = append(panels, p.String())
		y = row + 16
	}
	bn := r.b
	if sc, ok := r.firstLoad(); ok {
		var tp, c []bar
		for _, srv := range servers {
			if len(bn.results[sc.key][srv.name]) == 0 {
				continue
			}
			tp = append(tp, bar{srv.name, []float64{bn.median(sc.key, srv.name, throughput)}})
			c = append(c, bar{srv.name, []float64{bn.median(sc.key, srv.name, cpu)}})
		}
		add(sc.title+": requests per second (higher is better)", nil, tp)
		add(sc.title+": server CPU ms per 1,000 requests (lower is better)", nil, c)
	}
	var lat []bar
	for _, srv := range servers {
		if len(bn.results["pingpong"][srv.name]) == 0 {
			continue
		}
		lat = append(lat, bar{srv.name, []float64{bn.median("pingpong", srv.name, p50), bn.median("pingpong", srv.name, p99)}})
	}
	add("Ping-pong latency, µs (lower is better)", []string{"p50", "p99"}, lat)
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">`+"\n"+
		`<rect width="100%%" height="100%%" fill="white"/>`+"\n%s</svg>\n", width, y+10, strings.Join(panels, ""))
}

// firstLoad is the first throughput scenario of the run with results.
func (r *report) firstLoad() (scenario, bool) {
	for _, o := range r.outcomes {
		sc, ok := scenarioOf(o.sec.key)
		if ok && sc.idle == 0 && sc.network == "tcp" && sc.persistent && len(r.b.results[sc.key]) > 0 {
			return sc, true
		}
	}
	return scenario{}, false
}
