package proxy_test

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/proxy"
)

// A server behind a load balancer on 127.0.0.1 sees each client's own
// address, which the balancer sends in a PROXY protocol header.
func ExampleProtocol_Wrap() {
	p := &proxy.Protocol{Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	srv := &socketserver.Server{
		Addr:     "127.0.0.1:0",
		WrapConn: p.Wrap,
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			_, err := fmt.Fprintf(r.Writer, "hello, %v; you came to %v\n", r.RemoteAddr, r.LocalAddr)
			return err
		}),
	}
	addr, err := srv.Listen()
	if err != nil {
		log.Fatal(err)
	}
	go srv.ListenAndServe()
	defer srv.Close()

	// What HAProxy with send-proxy sends before the client's bytes.
	balancer, err := net.Dial("tcp", addr.String())
	if err != nil {
		log.Fatal(err)
	}
	defer balancer.Close()
	fmt.Fprint(balancer, "PROXY TCP4 203.0.113.7 192.0.2.1 51234 443\r\n")
	reply, _ := io.ReadAll(balancer)
	fmt.Printf("%s", reply)
	// Output: hello, 203.0.113.7:51234; you came to 192.0.2.1:443
}

// A connection from an upstream that is not trusted is refused, whatever
// header it sends: otherwise any client could claim any address.
func ExampleProtocol_Wrap_untrusted() {
	p := &proxy.Protocol{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	refused := make(chan error, 1)
	srv := &socketserver.Server{
		Addr:        "127.0.0.1:0",
		WrapConn:    p.Wrap,
		Handler:     socketserver.HandlerFunc(func(*socketserver.Request) error { return nil }),
		HandleError: func(_ net.Addr, err error) { refused <- err },
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
	defer c.Close()
	fmt.Fprint(c, "PROXY TCP4 198.51.100.1 192.0.2.1 1234 443\r\n")
	err = <-refused
	fmt.Println(errors.Is(err, proxy.ErrUntrusted))
	// Output: true
}
