package socketserver_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"

	"github.com/socketserver-go/socketserver"
)

// TestEventTenThousandConnections holds 10,000 connections open at once in
// Event mode. The client is a child process (this test binary), since one
// process may hold only 20,000 descriptors here.
func TestEventTenThousandConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 connections: not in -short")
	}
	const n = 10000
	srv := &socketserver.Server{Addr: "127.0.0.1:0", EventHandler: eventEcho{}, Mode: socketserver.Event{}}
	addr := servetest.Serve(t, srv)

	cmd := exec.Command(os.Args[0], "-test.run=^TestEventClientProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "EVENT_CLIENT_ADDR="+addr.String(), "EVENT_CLIENT_CONNS="+strconv.Itoa(n))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = t.Output()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()

	sc := bufio.NewScanner(stdout)
	ready := false
	for sc.Scan() {
		line := sc.Text()
		if line == fmt.Sprintf("ready %d", n) {
			ready = true
			break
		}
		t.Log("client: " + line)
	}
	if !ready {
		t.Fatalf("the client did not get its %d connections up (%v)", n, sc.Err())
	}
	if st := srv.Stats(); st.ActiveConns != n || st.TotalConns != n || st.BytesOut != n*4 {
		t.Fatalf("with the client's connections up: Stats = %+v", st)
	}
	stdin.Close()
	go io.Copy(io.Discard, stdout)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("client: %v", err)
	}
	servetest.WaitUntil(t, "every connection closed", func() bool { return srv.Stats().ActiveConns == 0 })
}

// TestEventClientProcess is the client of TestEventTenThousandConnections,
// run in a process of its own: it opens the connections, has one echo on
// each, says "ready N", and holds them until its stdin closes.
func TestEventClientProcess(t *testing.T) {
	addr := os.Getenv("EVENT_CLIENT_ADDR")
	n, _ := strconv.Atoi(os.Getenv("EVENT_CLIENT_CONNS"))
	if addr == "" || n == 0 {
		t.Skip("run by TestEventTenThousandConnections")
	}
	conns := make([]net.Conn, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	const dialers = 8
	for w := range dialers {
		wg.Go(func() {
			buf := make([]byte, 4)
			for i := w; i < n; i += dialers {
				c, err := net.DialTimeout("tcp", addr, 10*time.Second)
				if err != nil {
					errs <- err
					return
				}
				conns[i] = c
				c.SetDeadline(time.Now().Add(30 * time.Second))
				if _, err := c.Write([]byte("ping")); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
					errs <- fmt.Errorf("echo %q: %v", buf, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	fmt.Printf("ready %d\n", n)
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
}
