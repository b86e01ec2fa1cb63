package socketserver_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/socketserver-go/socketserver"
)

// upper reads one line, or one datagram, and writes it back upper-cased:
// the documentation's MyTCPHandler and MyUDPHandler in one handler.
var upper = socketserver.HandlerFunc(func(r *socketserver.Request) error {
	line, err := r.Reader.ReadBytes('\n')
	if err != nil && err != io.EOF {
		return err
	}
	_, err = r.Writer.Write(bytes.ToUpper(line))
	return err
})

// The same handler serves a TCP and a UDP server.
func Example() {
	for _, network := range []string{"tcp", "udp"} {
		srv := &socketserver.Server{Network: network, Addr: "127.0.0.1:0", Handler: upper}
		addr, err := srv.Listen() // binds now: addr has the kernel's port
		if err != nil {
			log.Fatal(err)
		}
		go srv.ListenAndServe()

		c, err := net.Dial(network, addr.String())
		if err != nil {
			log.Fatal(err)
		}
		fmt.Fprintf(c, "hello over %s\n", network)
		reply := make([]byte, 64)
		n, _ := c.Read(reply)
		fmt.Printf("%s", reply[:n])
		c.Close()
		srv.Close()
	}
	// Output:
	// HELLO OVER TCP
	// HELLO OVER UDP
}

// A server with a bounded pool of workers, that admits loopback clients
// only.
func ExampleServer() {
	srv := &socketserver.Server{
		Network:       "tcp",
		Addr:          "127.0.0.1:0",
		Handler:       upper,
		Mode:          socketserver.Pool{Workers: 8},
		VerifyRequest: socketserver.AllowNetworks(netipLoopback...),
		IdleTimeout:   time.Minute,
	}
	addr, err := srv.Listen()
	if err != nil {
		log.Fatal(err)
	}
	go srv.ListenAndServe()
	defer srv.Close()

	c, _ := net.Dial("tcp", addr.String())
	fmt.Fprintln(c, "pooled")
	reply, _ := io.ReadAll(c)
	fmt.Printf("%s", reply)
	// Output: POOLED
}

// Shutdown on SIGINT or SIGTERM: stop taking requests, let those in
// flight finish for up to ten seconds, then exit.
func ExampleServer_Shutdown() {
	srv := &socketserver.Server{Network: "tcp", Addr: "127.0.0.1:0", Handler: upper}
	if _, err := srv.Listen(); err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		grace, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(grace); err != nil {
			log.Printf("forced shutdown: %v", err)
		}
	}()

	stop() // in this example, as if a signal had come at once
	err := srv.ListenAndServe()
	fmt.Println(err)
	// Output: socketserver: Server closed
}

// HandleRequest serves exactly one request, or calls HandleTimeout if
// none arrives in time, as Python's handle_request.
func ExampleServer_HandleRequest() {
	srv := &socketserver.Server{
		Network:       "udp",
		Addr:          "127.0.0.1:0",
		Handler:       upper,
		Timeout:       10 * time.Millisecond,
		HandleTimeout: func() { fmt.Println("no request in time") },
	}
	defer srv.Close()
	addr, err := srv.Listen()
	if err != nil {
		log.Fatal(err)
	}
	srv.HandleRequest(context.Background())

	c, _ := net.Dial("udp", addr.String())
	c.Write([]byte("one datagram"))
	srv.HandleRequest(context.Background())
	reply := make([]byte, 64)
	n, _ := c.Read(reply)
	fmt.Printf("%s\n", reply[:n])
	// Output:
	// no request in time
	// ONE DATAGRAM
}

// Each datagram is a request. SendTo sends several replies to one.
func ExampleRequest_SendTo() {
	countdown := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		for i := 3; i > 0; i-- {
			if err := r.SendTo(fmt.Appendf(nil, "%s %d", r.Packet, i), r.RemoteAddr); err != nil {
				return err
			}
		}
		return nil
	})
	srv := &socketserver.Server{Network: "udp", Addr: "127.0.0.1:0", Handler: countdown, Mode: socketserver.Sync{}}
	addr, _ := srv.Listen()
	go srv.ListenAndServe()
	defer srv.Close()

	c, _ := net.Dial("udp", addr.String())
	c.Write([]byte("T-"))
	buf := make([]byte, 16)
	for range 3 {
		n, _ := c.Read(buf)
		fmt.Println(string(buf[:n]))
	}
	// Output:
	// T- 3
	// T- 2
	// T- 1
}

var netipLoopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
