// Command forkecho is an echo server that serves each connection in a
// process of its own (Fork mode): the counterpart of CPython's
// ForkingTCPServer, and the fork contender of the benchmark suite.
//
//	forkecho -addr 127.0.0.1:9999 [-spares K] [-requests-per-child N]
//
// A child runs this main too, so it is kept small: what a program imports
// and initialises, every child pays for when it starts.
package main

import (
	"context"
	"flag"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/socketserver-go/socketserver"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9999", "TCP address to serve")
	spares := flag.Int("spares", 0, "children started ahead, waiting for a connection")
	perChild := flag.Int("requests-per-child", 1, "connections a child serves before it exits")
	flag.Parse()

	srv := &socketserver.Server{
		Addr: *addr,
		Mode: socketserver.Fork{Spares: *spares, MaxRequestsPerChild: *perChild},
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			buf := make([]byte, 4096)
			for {
				n, err := r.Reader.Read(buf)
				if n > 0 {
					if _, werr := r.Writer.Write(buf[:n]); werr != nil {
						return werr
					}
				}
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return err
				}
			}
		}),
	}
	if !socketserver.IsChild() {
		go func() {
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
			<-sig
			srv.Shutdown(context.Background())
		}()
	}
	if err := srv.ListenAndServe(); err != socketserver.ErrServerClosed {
		log.Fatal(err)
	}
}
