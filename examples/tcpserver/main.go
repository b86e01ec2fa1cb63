// Command tcpserver is the socketserver documentation's TCP example: each
// client sends one line and gets it back upper-cased.
//
//	go run ./examples/tcpserver              # listens on localhost:9999
//	go run ./examples/tcpclient hello world with TCP
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"

	"github.com/socketserver-go/socketserver"
)

func main() {
	addr := flag.String("addr", "localhost:9999", "address to listen on")
	flag.Parse()

	// The handler reads one line from the client and writes it back
	// upper-cased: the documentation's MyTCPHandler.
	handler := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		line, err := r.Reader.ReadBytes('\n')
		if err != nil && err != io.EOF {
			return err
		}
		data := bytes.TrimSpace(line)
		log.Printf("%v wrote: %s", r.RemoteAddr, data)
		_, err = r.Writer.Write(bytes.ToUpper(data))
		return err
	})

	srv := &socketserver.Server{Network: "tcp", Addr: *addr, Handler: handler, Mode: socketserver.Sync{}}
	bound, err := srv.Listen()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("listening on", bound)
	// Serve until interrupted with Ctrl-C.
	log.Fatal(srv.ListenAndServe())
}
