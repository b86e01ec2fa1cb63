//go:build unix

package socketserver_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
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
	forkMarkEnv  = "FORKTEST_MARKS"      // a directory where children note a SIGTERM
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
	case "fork-broken":
		srv.Mode = socketserver.Fork{Spares: 2}
	case "fork-stuck":
		srv.Mode = socketserver.Fork{StartTimeout: 300 * time.Millisecond}
	case "fork-perip":
		// The client says which address it comes from, as behind a proxy:
		// only the child knows it.
		srv.Mode = socketserver.Fork{MaxChildren: 8}
		srv.WrapConn = claimedAddr
		srv.MaxConnsPerIP = 2
	case "prefork", "prefork-crash":
		srv.Mode = socketserver.Prefork{Workers: 2, Grace: 300 * time.Millisecond}
	case "prefork-stuck":
		srv.Mode = socketserver.Prefork{Workers: 1, StartTimeout: 300 * time.Millisecond}
	case "prefork-one":
		srv.Mode = socketserver.Prefork{Workers: 1}
	default:
		panic("unknown fork test mode " + mode)
	}
	return srv
}

// pidHandler serves the fork tests' commands: "echo TEXT", "sleep D"
// (answers "started" first), "hang" (ignores SIGTERM, never answers),
// "panic", "error", "exit N", "kill", "wait" (answers "started", then
// reads until the client is done), "whose" (ChildAddr), "spin" (answers
// "started", then spins for ever).
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
	case "wait":
		reply("started")
		io.Copy(io.Discard, r.Reader) // until the client is done
	case "whose":
		network, addr, ok := socketserver.ChildAddr()
		reply(fmt.Sprintf("%s %s %v", network, addr, ok))
	case "spin":
		reply("started")
		for {
			runtime.Gosched()
		}
	default:
		reply("unknown " + cmd)
	}
	return nil
})

// claimedAddr is a WrapConn whose client names its address on its first
// line ("from 10.1.2.3"), as the PROXY protocol does.
func claimedAddr(c net.Conn) (net.Conn, error) {
	var b [64]byte
	n := 0
	for n < len(b) {
		if _, err := c.Read(b[n : n+1]); err != nil {
			return nil, err
		}
		if b[n] == '\n' {
			break
		}
		n++
	}
	ip, err := netip.ParseAddr(strings.TrimPrefix(string(b[:n]), "from "))
	if err != nil {
		return nil, err
	}
	return &fromConn{Conn: c, remote: net.TCPAddrFromAddrPort(netip.AddrPortFrom(ip, 1))}, nil
}

type fromConn struct {
	net.Conn
	remote net.Addr
}

func (c *fromConn) RemoteAddr() net.Addr { return c.remote }

// forkTestMain is main for the test binary started as a child of a fork
// test's server, or as a stand-alone server process; it does not return.
func forkTestMain() {
	mode, rest, _ := strings.Cut(os.Getenv(forkEnv), " ")
	network, addr, _ := strings.Cut(rest, " ")
	if socketserver.IsChild() {
		switch mode {
		case "prefork-crash", "fork-broken":
			os.Exit(3) // a child that fails before it serves
		case "prefork-stuck", "fork-stuck":
			select {} // one that never gets to its Server
		}
		if dir := os.Getenv(forkMarkEnv); dir != "" {
			// main's own SIGTERM handling: the server never triggers it in
			// a child.
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGTERM)
			go func() {
				<-sig
				os.WriteFile(filepath.Join(dir, strconv.Itoa(os.Getpid())), nil, 0o600)
			}()
		}
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
