package metrics

import "runtime"

// AddProcessMetrics adds the process's own metrics to r, under the names
// Prometheus's client libraries give them: go_goroutines and, where the
// system tells, process_cpu_seconds_total, process_resident_memory_bytes,
// process_open_fds and process_max_fds.
func (r *Registry) AddProcessMetrics() error {
	err := r.NewGaugeFunc("go_goroutines", "Number of goroutines that currently exist.",
		func() float64 { return float64(runtime.NumGoroutine()) })
	if err != nil {
		return err
	}
	// One entry for the four process_ families, which come and go together.
	return r.add("process_", "", func(t *textWriter) {
		p := readProcess()
		for _, m := range []struct {
			name, help, kind string
			value            float64
		}{
			{"process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter", p.cpu},
			{"process_resident_memory_bytes", "Resident memory size in bytes.", "gauge", p.resident},
			{"process_open_fds", "Number of open file descriptors.", "gauge", p.openFDs},
			{"process_max_fds", "Maximum number of open file descriptors.", "gauge", p.maxFDs},
		} {
			if m.value >= 0 {
				t.header(m.name, m.help, m.kind)
				t.sample(m.name, m.value)
			}
		}
	})
}

// A process is what readProcess learned of this process; -1 where the
// system does not tell.
type process struct {
	cpu      float64 // seconds
	resident float64 // bytes
	openFDs  float64
	maxFDs   float64
}
