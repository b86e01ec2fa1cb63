package socketserver_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/socketserver-go/socketserver"
)

// hits counts requests, and shows that handler state is per process: in
// Fork mode every request runs in a fresh process, where hits starts at
// zero again, and nothing a handler changes reaches the server or the next
// request.
var hits int

// A server that serves each connection in a child process of its own,
// at most 40 at once, with 4 started ahead to take requests without the
// wait for a program to start. This is main: each child runs it too, and
// there ListenAndServe serves the child's one request and exits the
// process.
func ExampleFork() {
	srv := &socketserver.Server{
		Addr: "127.0.0.1:9999",
		Mode: socketserver.Fork{Spares: 4},
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			hits++ // always 1: this process serves one request
			_, err := fmt.Fprintf(r.Writer, "pid %d, hit %d\n", os.Getpid(), hits)
			return err
		}),
	}
	if !socketserver.IsChild() {
		// Work the children need not do: they serve, nothing else.
		log.Printf("serving on %s", srv.Addr)
		go func() {
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
			<-sig
			srv.Shutdown(context.Background()) // waits for the children
		}()
	}
	if err := srv.ListenAndServe(); err != socketserver.ErrServerClosed {
		log.Fatal(err)
	}
}

// Prefork: two long-lived worker processes share the socket, each serving
// many connections with a goroutine per request. The supervisor restarts
// a worker that dies; SIGTERM to it (or Shutdown) drains every worker.
func ExamplePrefork() {
	srv := &socketserver.Server{
		Addr:    "127.0.0.1:9999",
		Mode:    socketserver.Prefork{Workers: 2},
		Handler: upper,
	}
	if !socketserver.IsChild() {
		log.Printf("supervisor %d: srv.ChildPIDs() lists the workers", os.Getpid())
	}
	if err := srv.ListenAndServe(); err != socketserver.ErrServerClosed {
		log.Fatal(err)
	}
}
