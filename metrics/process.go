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
		if p.cpu >= 0 {
			t.header("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", "counter")
			t.sample("process_cpu_seconds_total", p.cpu)
		}
		if p.resident >= 0 {
			t.header("process_resident_memory_bytes", "Resident memory size in bytes.", "gauge")
			t.sample("process_resident_memory_bytes", p.resident)
		}
		if p.openFDs >= 0 {
			t.header("process_open_fds", "Number of open file descriptors.", "gauge")
			t.sample("process_open_fds", p.openFDs)
		}
		if p.maxFDs >= 0 {
			t.header("process_max_fds", "Maximum number of open file descriptors.", "gauge")
			t.sample("process_max_fds", p.maxFDs)
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
