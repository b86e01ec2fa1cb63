// Command udpserver is the socketserver documentation's UDP example: each
// datagram is answered with its contents upper-cased.
//
//	go run ./examples/udpserver              # listens on localhost:9999
//	go run ./examples/udpclient hello world with UDP
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"

	"github.com/socketserver-go/socketserver"
)

func main() {
	addr := flag.String("addr", "localhost:9999", "address to listen on")
	flag.Parse()

	// The documentation's MyUDPHandler: the request is one datagram, and
	// the reply goes back to the client's address with SendTo.
	handler := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		data := bytes.TrimSpace(r.Packet)
		log.Printf("%v wrote: %s", r.RemoteAddr, data)
		return r.SendTo(bytes.ToUpper(data), r.RemoteAddr)
	})

	srv := &socketserver.Server{Network: "udp", Addr: *addr, Handler: handler, Mode: socketserver.Sync{}}
	bound, err := srv.Listen()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening on", bound)
	log.Fatal(srv.ListenAndServe())
}
