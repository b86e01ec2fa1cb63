package main

import (
	"fmt"
	"html"
	"math"
	"slices"
	"strings"
	"time"
)

// A report is the result of a run, rendered as Markdown and SVG.
type report struct {
	redis     string // the Redis comparison's section, if it ran
	scenarios []scenario
	results   map[string]map[string][]measurement // scenario → server → rounds
	failures  map[string]map[string]string        // scenario → server → why it failed
	rounds    int
	duration  time.Duration
	pinned    bool
	elapsed   time.Duration
	machine   string
	command   string
}

// failed counts the servers that failed a scenario.
func (r *report) failed() int {
	n := 0
	for _, f := range r.failures {
		n += len(f)
	}
	return n
}

// failureNotes lists the servers that failed a scenario, under its table.
func (r *report) failureNotes(b *strings.Builder, key string) {
	for _, srv := range servers {
		if why := r.failures[key][srv.name]; why != "" {
			fmt.Fprintf(b, "- **%s failed**: %s\n", srv.name, strings.ReplaceAll(why, "\n", " "))
		}
	}
	if len(r.failures[key]) > 0 {
		fmt.Fprintln(b)
	}
}

// spread is the median and range of one figure over the rounds.
type spread struct{ med, lo, hi float64 }

func spreadOf(ms []measurement, f func(measurement) float64) spread {
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
	if s.lo == s.hi {
		return num(s.med)
	}
	return fmt.Sprintf("%s (%s–%s)", num(s.med), num(s.lo), num(s.hi))
}

// num prints a figure with three significant digits, thousands grouped.
func num(v float64) string {
	switch a := math.Abs(v); {
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

// median returns the median of a figure of server in scenario, or NaN.
func (r *report) median(sc, srv string, f func(measurement) float64) float64 {
	ms := r.results[sc][srv]
	if len(ms) == 0 {
		return math.NaN()
	}
	return spreadOf(ms, f).med
}

func throughput(m measurement) float64 { return m.Throughput }
func cpu(m measurement) float64        { return m.CPUPer1k }
func idleKiB(m measurement) float64    { return m.IdleRSS }

func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\n")
	fmt.Fprintf(&b, "socketserver's modes beside a plain Go `net` server, gnet v2.10.0, nbio v1.6.12, CPython's "+
		"socketserver and a minimal single-threaded C epoll server (the floor: the kernel's own cost), "+
		"on the same loads in one run.\n\n")
	fmt.Fprintf(&b, "- Machine: %s.\n", r.machine)
	fmt.Fprintf(&b, "- Command: `%s` (%s in all).\n", strings.TrimSpace(r.command), r.elapsed.Round(time.Second))
	pin := "not pinned (taskset missing or one CPU)"
	if r.pinned {
		pin = "the server on CPU 0, the load generator (`sockbench`) on CPU 1, with `taskset`; so every server has one core"
	}
	fmt.Fprintf(&b, "- Method: each figure is the median of %d rounds (min–max in brackets), the servers interleaved "+
		"round by round; each load runs %v against a freshly started server; %s. Server CPU time comes from "+
		"`/proc/PID/stat` (the whole process group, reaped children included), so a client-bound run still "+
		"compares servers by their cost per request. Every reply is checked byte for byte.\n",
		r.rounds, r.duration, pin)
	fmt.Fprintf(&b, "- Who runs what: `socketserver/sync` and `python/forking` serve one connection at a time or a "+
		"bounded set of processes, so they sit out the loads that hold many connections; `socketserver/pool` is "+
		"sized to the connections of each load.\n\n")
	fmt.Fprintf(&b, "![throughput, CPU per request and latency](benchmarks.svg)\n\n")
	r.headlines(&b)
	for _, sc := range r.scenarios {
		fmt.Fprintf(&b, "## %s\n\n", sc.title)
		if sc.idle > 0 {
			fmt.Fprintf(&b, "| server | RSS per idle connection, KiB | peak RSS, MiB | vs go-net | vs gnet |\n|---|---:|---:|---:|---:|\n")
			for _, srv := range servers {
				ms := r.results[sc.key][srv.name]
				if len(ms) == 0 {
					continue
				}
				kib := r.median(sc.key, srv.name, idleKiB)
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", srv.name, spreadOf(ms, idleKiB),
					spreadOf(ms, func(m measurement) float64 { return m.PeakRSS }).String(),
					ratio(kib, r.median(sc.key, "go-net", idleKiB)), ratio(kib, r.median(sc.key, "gnet", idleKiB)))
			}
			fmt.Fprintf(&b, "\nAt this rate, 1,000,000 idle connections would cost the goroutine mode about %s GiB of server memory, "+
				"the event mode about %s GiB (plus, for either, the kernel's own socket memory).\n\n",
				num(r.median(sc.key, "socketserver/goroutine", idleKiB)*1e6/(1<<20)),
				num(r.median(sc.key, "socketserver/event", idleKiB)*1e6/(1<<20)))
			r.failureNotes(&b, sc.key)
			continue
		}
		fmt.Fprintf(&b, "| server | requests/s | p50 µs | p99 µs | CPU ms / 1,000 req | peak RSS MiB | req/s vs go-net / gnet | CPU vs go-net / gnet | errors |\n")
		fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n")
		for _, srv := range servers {
			ms := r.results[sc.key][srv.name]
			if len(ms) == 0 {
				continue
			}
			tp, c := r.median(sc.key, srv.name, throughput), r.median(sc.key, srv.name, cpu)
			var errs int64
			for _, m := range ms {
				errs += m.Errors
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s / %s | %s / %s | %d |\n", srv.name,
				spreadOf(ms, throughput), num(spreadOf(ms, func(m measurement) float64 { return m.P50 }).med),
				num(spreadOf(ms, func(m measurement) float64 { return m.P99 }).med), spreadOf(ms, cpu),
				num(spreadOf(ms, func(m measurement) float64 { return m.PeakRSS }).med),
				ratio(tp, r.median(sc.key, "go-net", throughput)), ratio(tp, r.median(sc.key, "gnet", throughput)),
				ratio(c, r.median(sc.key, "go-net", cpu)), ratio(c, r.median(sc.key, "gnet", cpu)), errs)
		}
		fmt.Fprintln(&b)
		r.failureNotes(&b, sc.key)
	}
	b.WriteString(r.redis)
	return b.String()
}

// headlines lists the goroutine mode's ratios to the plain net server and
// to gnet, and the C floor's.
func (r *report) headlines(b *strings.Builder) {
	fmt.Fprintf(b, "## Headlines\n\n")
	for _, sc := range r.scenarios {
		if sc.idle > 0 {
			ours := r.median(sc.key, "socketserver/goroutine", idleKiB)
			fmt.Fprintf(b, "- %s: socketserver/goroutine %s KiB per connection (go-net %s, gnet %s).\n", sc.title,
				num(ours), num(r.median(sc.key, "go-net", idleKiB)), num(r.median(sc.key, "gnet", idleKiB)))
			continue
		}
		best := "socketserver/goroutine"
		if !sc.persistent {
			best = "socketserver/sync"
			for _, name := range []string{"socketserver/goroutine", "socketserver/pool"} {
				if r.median(sc.key, name, throughput) > r.median(sc.key, best, throughput) {
					best = name
				}
			}
		}
		tp, c := r.median(sc.key, best, throughput), r.median(sc.key, best, cpu)
		fmt.Fprintf(b, "- %s: %s at %s req/s, %s the requests/s of go-net and %s of gnet, at %s and %s their CPU per request; the C floor uses %s of ours.\n",
			sc.title, best, num(tp), ratio(tp, r.median(sc.key, "go-net", throughput)), ratio(tp, r.median(sc.key, "gnet", throughput)),
			ratio(c, r.median(sc.key, "go-net", cpu)), ratio(c, r.median(sc.key, "gnet", cpu)),
			ratio(r.median(sc.key, "c-epoll", cpu), c))
	}
	fmt.Fprintln(b)
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
	if sc, ok := r.firstLoad(); ok {
		var tp, c []bar
		for _, srv := range servers {
			if len(r.results[sc.key][srv.name]) == 0 {
				continue
			}
			tp = append(tp, bar{srv.name, []float64{r.median(sc.key, srv.name, throughput)}})
			c = append(c, bar{srv.name, []float64{r.median(sc.key, srv.name, cpu)}})
		}
		add(sc.title+": requests per second (higher is better)", nil, tp)
		add(sc.title+": server CPU ms per 1,000 requests (lower is better)", nil, c)
	}
	var lat []bar
	for _, srv := range servers {
		if len(r.results["pingpong"][srv.name]) == 0 {
			continue
		}
		p50 := r.median("pingpong", srv.name, func(m measurement) float64 { return m.P50 })
		p99 := r.median("pingpong", srv.name, func(m measurement) float64 { return m.P99 })
		lat = append(lat, bar{srv.name, []float64{p50, p99}})
	}
	add("Ping-pong latency, µs (lower is better)", []string{"p50", "p99"}, lat)
	return fmt.Sprintf(`<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">`+"\n"+
		`<rect width="100%%" height="100%%" fill="white"/>`+"\n%s</svg>\n", width, y+10, strings.Join(panels, ""))
}

// firstLoad is the first throughput scenario of the run.
func (r *report) firstLoad() (scenario, bool) {
	for _, sc := range r.scenarios {
		if sc.idle == 0 && sc.network == "tcp" && sc.persistent {
			return sc, true
		}
	}
	return scenario{}, false
}
