package metrics_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
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
	reg := prometheus.NewRegistry()
	if err := metrics.Instrument(srv, reg, "echo"); err != nil {
		t.Fatal(err)
	}
	addr := servetest.Serve(t, srv)
	for _, msg := range []string{"a", "bb", "panic"} {
		c, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, msg)
		c.(*net.TCPConn).CloseWrite()
		io.ReadAll(c)
		c.Close()
	}
	admin := metrics.NewAdmin(reg)
	web := httptest.NewServer(admin)
	defer web.Close()
	deadline := time.Now().Add(10 * time.Second)
	var body string
	for time.Now().Before(deadline) { // the last request's end is counted after its reply
		_, body = get(t, web.URL+"/metrics")
		if strings.Contains(body, `socketserver_request_duration_seconds_count{server="echo"} 3`) {
			break
		}
	}
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
