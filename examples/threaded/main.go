// Command threaded is the socketserver documentation's ThreadingMixIn
// example: a server that serves each request on a goroutine of its own,
// and three clients.
package main

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"

	"github.com/socketserver-go/socketserver"
)

func main() {
	// Each request is served on its own goroutine. Go's goroutines have no
	// names, so the reply names the request instead of the thread.
	handler := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		data := make([]byte, 1024)
		n, err := r.Reader.Read(data)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(r.Writer, "request %d: %s", r.ID, data[:n])
		return err
	})

	// Port 0 means to select an arbitrary unused port.
	srv := &socketserver.Server{Network: "tcp", Addr: "localhost:0", Handler: handler, Mode: socketserver.Goroutine{}}
	addr, err := srv.Listen()
	if err != nil {
		log.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	fmt.Println("Server loop running")

	client(addr.String(), "Hello World 1")
	client(addr.String(), "Hello World 2")
	client(addr.String(), "Hello World 3")

	if err := srv.Shutdown(context.Background()); err != nil {
		log.Fatal(err)
	}
	<-served
}

func client(addr, message string) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, message); err != nil {
		log.Fatal(err)
	}
	response, err := io.ReadAll(conn)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Received: %s\n", response)
}
