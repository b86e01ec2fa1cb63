package metrics_test

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net"
	"net/http/httptest"
	"strings"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/metrics"
)

// A server's counters, exported for Prometheus, and the admin endpoint
// that serves them.
func ExampleInstrument() {
	reg := metrics.NewRegistry()
	srv := &socketserver.Server{
		Addr: "127.0.0.1:0",
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			_, err := io.Copy(r.Writer, r.Reader)
			return err
		}),
	}
	if err := metrics.Instrument(srv, reg, "echo"); err != nil {
		log.Fatal(err)
	}
	addr, err := srv.Listen()
	if err != nil {
		log.Fatal(err)
	}
	go srv.ListenAndServe()
	defer srv.Close()

	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Fprint(c, "twelve bytes")
	c.(*net.TCPConn).CloseWrite()
	io.ReadAll(c)
	c.Close()

	// What a scrape of /metrics gets (here without a network listener).
	admin := metrics.NewAdmin(reg)
	rec := httptest.NewRecorder()
	admin.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "socketserver_connections_total") ||
			strings.HasPrefix(sc.Text(), "socketserver_received_bytes_total") {
			fmt.Println(sc.Text())
		}
	}
	// Output:
	// socketserver_connections_total{server="echo"} 1
	// socketserver_received_bytes_total{server="echo"} 12
}

// /readyz turns 503 when a program begins to shut down, so that load
// balancers stop sending before the servers drain.
func ExampleAdmin_SetReady() {
	admin := metrics.NewAdmin(metrics.NewRegistry())
	ready := func() {
		rec := httptest.NewRecorder()
		admin.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		fmt.Printf("%d %s", rec.Code, rec.Body)
	}
	ready()
	admin.SetReady(false)
	ready()
	// Output:
	// 200 ready
	// 503 shutting down
}
