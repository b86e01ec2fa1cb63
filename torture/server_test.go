//go:build linux

package torture

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/socketserver-go/socketserver"
)

// The suite runs its own test binary as the server under test, so that
// Fork and Prefork can start it again as their children. serverEnv holds
// the serverConfig, in JSON; a child decodes the same one.
const serverEnv = "TORTURE_SERVER"

// serverConfig is the server a scenario runs against.
type serverConfig struct {
	Mode             string // sync, goroutine, pool, event, fork, prefork
	Network, Addr    string
	ReadTimeout      time.Duration
	WriteTimeout     time.Duration
	FirstByteTimeout time.Duration
	ShutdownTimeout  time.Duration // the Shutdown deadline on SIGTERM
	MaxPacketSize    int
}

// A debugState is what the server's debug endpoint reports.
type debugState struct {
	PID        int
	Goroutines int
	FDs        int
	Children   int
	Stats      socketserver.Stats
}

func (c serverConfig) server() *socketserver.Server {
	srv := &socketserver.Server{
		Network: c.Network, Addr: c.Addr,
		Handler:          lineHandler,
		EventHandler:     lineEvents{},
		ReadTimeout:      c.ReadTimeout,
		WriteTimeout:     c.WriteTimeout,
		FirstByteTimeout: c.FirstByteTimeout,
		MaxPacketSize:    c.MaxPacketSize,
		Backlog:          4096,
		Logger:           slog.New(slog.NewTextHandler(os.Stderr, nil)),
	}
	switch c.Mode {
	case "sync":
		srv.Mode = socketserver.Sync{}
	case "goroutine":
		srv.Mode = socketserver.Goroutine{}
	case "pool":
		srv.Mode = socketserver.Pool{Workers: 32, Queue: 1024}
	case "event":
		// Workers bound how many "sleep" requests are in flight at once.
		srv.Mode = socketserver.Event{Workers: 1100}
	case "fork":
		srv.Mode = socketserver.Fork{MaxChildren: 100, Grace: 500 * time.Millisecond}
	case "prefork":
		srv.Mode = socketserver.Prefork{Workers: 2, Grace: 500 * time.Millisecond}
	default:
		panic("torture: unknown mode " + c.Mode)
	}
	return srv
}

// serverMain is main for the test binary run as a server, or as one of
// its Fork or Prefork children. It prints "ready ADDR DEBUGADDR" once
// serving, serves until SIGTERM, prints "draining N" (N: the datagrams
// taken so far), shuts down within
// ShutdownTimeout, prints "stats JSON" (its last Stats) and
// "shutdown ERR", and exits. It does not return.
func serverMain() {
	var cfg serverConfig
	if err := json.Unmarshal([]byte(os.Getenv(serverEnv)), &cfg); err != nil {
		say("error", err)
		os.Exit(2)
	}
	srv := cfg.server()
	bound, err := srv.Listen() // in a child, this serves its job and exits
	if err != nil {
		say("error", err)
		os.Exit(1)
	}
	dl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		say("error", err)
		os.Exit(1)
	}
	go http.Serve(dl, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fds, _ := os.ReadDir("/proc/self/fd")
		json.NewEncoder(w).Encode(debugState{
			PID: os.Getpid(), Goroutines: runtime.NumGoroutine(), FDs: len(fds),
			Children: len(srv.ChildPIDs()), Stats: srv.Stats(),
		})
	}))
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	say("ready", bound.String(), dl.Addr().String())
	select {
	case <-term:
	case err := <-served:
		say("shutdown serve:", err)
		os.Exit(1)
	}
	say("draining", srv.Stats().TotalPackets)
	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(ctx)
	st, _ := json.Marshal(srv.Stats())
	say("stats", string(st))
	say("shutdown", err)
	os.Exit(0)
}

// say prints one line of serverMain's protocol, after this process's
// PID: a Prefork worker runs serverMain too, on the same standard output,
// and the harness must not take a worker's "shutdown" for the server's.
func say(a ...any) {
	fmt.Println(append([]any{os.Getpid()}, a...)...)
}

// lineHandler serves lines (on a stream, until the client ends it) or
// datagrams, each a command:
//
//	echo TEXT   answers TEXT
//	sleep D     answers "started", then "done" after D
//	panic       panics
//	error       fails
//	exit        ends the process (for Fork children)
//	loop        answers "spinning", then spins for ever: only a Shutdown
//	            deadline ends it
var lineHandler = socketserver.HandlerFunc(func(r *socketserver.Request) error {
	for {
		line, err := r.Reader.ReadString('\n')
		if line == "" || err != nil && !r.Datagram() {
			return nil // the client is done
		}
		if err := command(r, strings.TrimSpace(line)); err != nil {
			return err
		}
		if r.Datagram() {
			return nil
		}
	}
})

var errAsked = errors.New("torture: failing as asked")

func command(r *socketserver.Request, line string) error {
	cmd, arg, _ := strings.Cut(line, " ")
	var err error
	switch cmd {
	case "echo":
		_, err = fmt.Fprintf(r.Writer, "%s\n", arg)
	case "sleep":
		d, _ := time.ParseDuration(arg)
		if _, err := fmt.Fprintf(r.Writer, "started\n"); err != nil {
			return err
		}
		if err := r.Flush(); err != nil {
			return err
		}
		time.Sleep(d)
		_, err = fmt.Fprintf(r.Writer, "done\n")
	case "panic":
		panic("torture: panicking as asked")
	case "error":
		return errAsked
	case "exit":
		os.Exit(3)
	case "loop":
		fmt.Fprintf(r.Writer, "spinning\n")
		r.Flush()
		for {
			runtime.Gosched()
		}
	default:
		_, err = fmt.Fprintf(r.Writer, "unknown %q\n", cmd)
	}
	if err != nil {
		return err
	}
	return r.Flush()
}

// lineEvents is lineHandler for Event mode. "sleep" and "loop" run on
// the mode's workers, which Shutdown waits for; "error" closes the
// connection; "exit" is not served.
type lineEvents struct{ socketserver.EventHandlerBase }

func (lineEvents) OnData(c *socketserver.EventConn, in []byte) int {
	if c.Datagram() {
		eventCommand(c, string(bytes.TrimSpace(in)))
		return len(in)
	}
	used := 0
	for {
		i := bytes.IndexByte(in[used:], '\n')
		if i < 0 {
			return used
		}
		eventCommand(c, string(bytes.TrimSpace(in[used:used+i])))
		used += i + 1
	}
}

func eventCommand(c *socketserver.EventConn, line string) {
	cmd, arg, _ := strings.Cut(line, " ")
	switch cmd {
	case "echo":
		c.Write([]byte(arg + "\n"))
	case "sleep":
		d, _ := time.ParseDuration(arg)
		c.Write([]byte("started\n"))
		c.Go(func() {
			time.Sleep(d)
			c.AsyncWrite([]byte("done\n"))
		})
	case "panic":
		panic("torture: panicking as asked")
	case "error":
		c.Close()
	case "loop":
		c.Write([]byte("spinning\n"))
		c.Go(func() {
			for {
				runtime.Gosched()
			}
		})
	default:
		fmt.Fprintf(c, "unknown %q\n", cmd)
	}
}

// readLine reads one line with a deadline.
func readLine(c net.Conn, br *bufio.Reader, d time.Duration) (string, error) {
	c.SetReadDeadline(time.Now().Add(d))
	s, err := br.ReadString('\n')
	return strings.TrimSuffix(s, "\n"), err
}
