package prom_test

import (
	"fmt"
	"io"
	"log"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/metrics/prom"
)

// A server's metrics in a client_golang registry, next to the program's
// own; metrics.NewAdmin(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
// serves them.
func ExampleInstrument() {
	reg := prometheus.NewRegistry()
	srv := &socketserver.Server{
		Addr: "127.0.0.1:0",
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			_, err := io.Copy(r.Writer, r.Reader)
			return err
		}),
	}
	if err := prom.Instrument(srv, reg, "echo"); err != nil {
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

	families, err := reg.Gather()
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "socketserver_received_bytes_total" {
			fmt.Println(f.GetName(), f.GetMetric()[0].GetCounter().GetValue())
		}
	}
	// Output:
	// socketserver_received_bytes_total 12
}
