//go:build unix

package socketserver_test

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/socketserver-go/socketserver"
)

// The fork and prefork tests run this test binary as the server's
// children. Environment variable forkEnv names the server to build, as
// "mode network addr"; a child builds the same Server in forkTestMain,
// as a program's main would.
const (
	forkEnv      = "FORKTEST_SERVER"
	forkStandEnv = "FORKTEST_STANDALONE" // run a server process
)

// forkTestServer builds the Server a fork test serves with: its handler
// answers each line (or datagram) "command arg" with "pid reply".
func forkTestServer(mode, network, addr string) *socketserver.Server {
	srv := &socketserver.Server{Network: network, Addr: addr, Handler: pidHandler}
	switch mode {
	case "fork":
		srv.Mode = socketserver.Fork{MaxChildren: 4, Grace: 300 * time.Millisecond}
	case "fork-spares":
		srv.Mode = socketserver.Fork{MaxChildren: 6, Spares: 2, Grace: 300 * time.Millisecond}
	case "fork-reuse":
		srv.Mode = socketserver.Fork{MaxChildren: 2, Spares: 1, MaxRequestsPerChild: 3}
	case "fork-burst":
		srv.Mode = socketserver.Fork{} // MaxChildren 40
	case "prefork", "prefork-crash":
		srv.Mode = socketserver.Prefork{Workers: 2, Grace: 300 * time.Millisecond}
	case "prefork-one":
		srv.Mode = socketserver.Prefork{Workers: 1}
	default:
		panic("unknown fork test mode " + mode)
	}
	return srv
}

// pidHandler serves the fork tests' commands: "echo TEXT", "sleep D"
// (answers "started" first), "hang" (ignores SIGTERM, never answers),
// "panic", "error", "exit N", "kill".
var pidHandler = socketserver.HandlerFunc(func(r *socketserver.Request) error {
	line, err := r.Reader.ReadString('\n')
	if err != nil && (!r.Datagram() || line == "") {
		return err
	}
	cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	reply := func(s string) {
		fmt.Fprintf(r.Writer, "%d %s\n", os.Getpid(), s)
		r.Flush()
	}
	switch cmd {
	case "echo":
		reply(strings.ToUpper(arg))
	case "sleep":
		d, _ := time.ParseDuration(arg)
		if !r.Datagram() {
			reply("started")
		}
		time.Sleep(d)
		reply("slept")
	case "hang":
		signal.Ignore(syscall.SIGTERM)
		reply("started")
		select {}
	case "panic":
		panic("asked to")
	case "error":
		return errors.New("asked to fail")
	case "exit":
		n, _ := strconv.Atoi(arg)
		os.Exit(n)
	case "kill":
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	default:
		reply("unknown " + cmd)
	}
	return nil
})

// forkTestMain is main for the test binary started as a child of a fork
// test's server, or as a stand-alone server process; it does not return.
func forkTestMain() {
	mode, rest, _ := strings.Cut(os.Getenv(forkEnv), " ")
	network, addr, _ := strings.Cut(rest, " ")
	if mode == "prefork-crash" && socketserver.IsChild() {
		os.Exit(3) // a worker that fails before it serves
	}
	srv := forkTestServer(mode, network, addr)
	if !socketserver.IsChild() {
		// A stand-alone server: announce the address, serve until killed.
		bound, err := srv.Listen()
		if err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println(bound.Network(), bound.String())
	}
	err := srv.ListenAndServe()
	fmt.Fprintln(os.Stderr, "forkTestMain:", err)
	os.Exit(1)
}
