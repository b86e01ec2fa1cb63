package metrics_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/internal/servetest"
	"github.com/socketserver-go/socketserver/metrics"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The admin endpoint exports the server's counters, request durations and
// errors by kind, and /readyz turns 503 when told.
func TestInstrumentAndAdmin(t *testing.T) {
	var logged []error
	srv := &socketserver.Server{
		Addr: "127.0.0.1:0",
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			line, _ := io.ReadAll(r.Reader)
			if string(line) == "panic" {
				panic("asked to")
			}
			_, err := r.Writer.Write(line)
			return err
		}),
		MaxConnsPerIP: 100,
		HandleError:   func(_ net.Addr, err error) { logged = append(logged, err) },
	}
	reg := metrics.NewRegistry()
	if err := metrics.Instrument(srv, reg, "echo"); err != nil {
		t.Fatal(err)
	}
	addr := servetest.Serve(t, srv)
	for _, msg := range []string{"a", "bb", "panic"} {
		c := servetest.Dial(t, addr)
		io.WriteString(c, msg)
		c.(*net.TCPConn).CloseWrite()
		io.ReadAll(c)
		c.Close()
	}
	admin := metrics.NewAdmin(reg)
	web := httptest.NewServer(admin)
	defer web.Close()
	// The last request's end is counted after its reply.
	servetest.WaitUntil(t, "three requests ended", func() bool {
		st := srv.Stats()
		return st.Durations.Count() == 3 && st.ActiveConns == 0
	})
	_, body := get(t, web.URL+"/metrics")
	for _, want := range []string{
		`socketserver_connections_total{server="echo"} 3`,
		`socketserver_connections_active{server="echo"} 0`,
		`socketserver_received_bytes_total{server="echo"} 8`,
		`socketserver_sent_bytes_total{server="echo"} 3`,
		`socketserver_errors_total{kind="panic",server="echo"} 1`,
		`socketserver_connections_rejected_total{reason="max_conns_per_ip",server="echo"} 0`,
		`socketserver_request_duration_seconds_count{server="echo"} 3`,
		`socketserver_children{server="echo"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	var pe *socketserver.PanicError
	if len(logged) != 1 || !errors.As(logged[0], &pe) {
		t.Errorf("the hook set before Instrument got %v", logged)
	}
	if code, _ := get(t, web.URL+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d", code)
	}
	if code, _ := get(t, web.URL+"/readyz"); code != 200 {
		t.Errorf("/readyz = %d while ready", code)
	}
	admin.SetReady(false)
	if code, _ := get(t, web.URL+"/readyz"); code != 503 {
		t.Errorf("/readyz = %d while draining, want 503", code)
	}
}

// A registry of two servers and metrics of the program's own writes each
// family once, in a text that Prometheus's own parser reads; a second
// server or metric of the same name is refused.
func TestRegistryFormat(t *testing.T) {
	reg := metrics.NewRegistry()
	for _, name := range []string{"one", "two"} {
		srv := &socketserver.Server{Addr: "127.0.0.1:0", Handler: socketserver.HandlerFunc(func(*socketserver.Request) error { return nil })}
		if err := metrics.Instrument(srv, reg, name); err != nil {
			t.Fatal(err)
		}
	}
	if err := metrics.Instrument(&socketserver.Server{}, reg, "one"); err == nil {
		t.Error("a second server named one was instrumented")
	}
	exits, err := reg.NewCounterVec("program_exits_total", "Runs by result.", "result")
	if err != nil {
		t.Fatal(err)
	}
	exits.Inc("success")
	exits.Inc("success")
	exits.Inc(`odd "value"`)
	if err := reg.NewGaugeFunc("programs_running", "Running.\nNow.", func() float64 { return 2 }); err != nil {
		t.Fatal(err)
	}
	if err := reg.NewGaugeFunc("programs_running", "Again.", func() float64 { return 0 }); err == nil {
		t.Error("a second metric named programs_running was added")
	}
	for _, bad := range []string{"", "9lives", "has space", "__reserved", "socketserver_connections_total"} {
		if err := reg.NewGaugeFunc(bad, "Bad.", func() float64 { return 0 }); err == nil {
			t.Errorf("a metric named %q was added", bad)
		}
	}
	if _, err := reg.NewCounterVec("bad_label_total", "Bad.", "le-bound"); err == nil {
		t.Error("a label named le-bound was accepted")
	}
	if err := reg.AddProcessMetrics(); err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	if _, err := reg.WriteTo(&text); err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(text.String()))
	if err != nil {
		t.Fatalf("Prometheus cannot parse it: %v\n%s", err, text.String())
	}
	if n := len(fams["socketserver_connections_total"].GetMetric()); n != 2 {
		t.Errorf("connections_total has %d samples, want one per server", n)
	}
	for _, m := range fams["program_exits_total"].GetMetric() {
		if v := m.GetLabel()[0].GetValue(); v == "success" && m.GetCounter().GetValue() != 2 || v == `odd "value"` && m.GetCounter().GetValue() != 1 {
			t.Errorf("program_exits_total{result=%q} = %v", v, m.GetCounter().GetValue())
		}
	}
	if g := fams["programs_running"]; g.GetHelp() != "Running.\nNow." || g.GetMetric()[0].GetGauge().GetValue() != 2 {
		t.Errorf("programs_running = %v", g)
	}
	want := []string{"go_goroutines"}
	if runtime.GOOS == "linux" {
		want = append(want, "process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds", "process_max_fds")
	}
	for _, name := range want {
		if len(fams[name].GetMetric()) != 1 {
			t.Errorf("no %s", name)
		}
	}
	if v := fams["process_resident_memory_bytes"].GetMetric(); runtime.GOOS == "linux" && v[0].GetGauge().GetValue() < 1<<20 {
		t.Errorf("resident memory %v bytes", v[0].GetGauge().GetValue())
	}
}
