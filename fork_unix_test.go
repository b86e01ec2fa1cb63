//go:build linux

package socketserver_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"

	"golang.org/x/sys/unix"

	"github.com/socketserver-go/socketserver"
)

// A forkServer is a Fork or Prefork server a test runs, with the errors it
// reported.
type forkServer struct {
	*socketserver.Server
	addr   net.Addr
	served <-chan error
	errs   chan error
}

// startFork serves a fork test server (see forkTestServer) on network,
// with this test binary as its children's program. At the end of the test
// it closes the server and checks no child is left.
func startFork(t *testing.T, mode, network string) *forkServer {
	t.Helper()
	addr := servetest.LocalAddr(t, network)
	t.Setenv(forkEnv, mode+" "+network+" "+addr)
	srv := forkTestServer(mode, network, addr)
	fs := &forkServer{Server: srv, errs: make(chan error, 1000)}
	srv.Logger = servetest.Logger(t)
	srv.HandleError = func(remote net.Addr, err error) { fs.errs <- err }
	fs.addr, fs.served = servetest.Background(t, srv)
	t.Cleanup(func() {
		srv.Close()
		if err := <-fs.served; !errors.Is(err, socketserver.ErrServerClosed) {
			t.Errorf("serve = %v, want ErrServerClosed", err)
		}
		if pids := srv.ChildPIDs(); len(pids) > 0 {
			t.Errorf("ChildPIDs after Close = %v", pids)
		}
		if kids := children(t); len(kids) > 0 {
			t.Errorf("child processes left after Close: %v", kids)
		}
	})
	return fs
}

// ask sends one command and returns the replying PID and the reply.
func ask(t *testing.T, addr net.Addr, line string) (int, string) {
	t.Helper()
	c := servetest.Dial(t, addr)
	defer c.Close()
	return askOn(t, c, line)
}

func askOn(t *testing.T, c net.Conn, line string) (int, string) {
	t.Helper()
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		t.Fatalf("write %q: %v", line, err)
	}
	var got string
	if servetest.IsDatagram(c.LocalAddr().Network()) {
		buf := make([]byte, 512)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("read reply to %q: %v", line, err)
		}
		got = string(buf[:n])
	} else {
		l, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			t.Fatalf("read reply to %q: %v (got %q)", line, err, l)
		}
		got = l
	}
	return parseReply(t, got)
}

func parseReply(t *testing.T, s string) (int, string) {
	t.Helper()
	p, text, _ := strings.Cut(strings.TrimSpace(s), " ")
	pid, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("malformed reply %q", s)
	}
	return pid, text
}

// A proc is a child process of this test process, as /proc shows it.
type proc struct {
	pid   int
	state string // R, S, Z...
}

// children lists this process's child processes from /proc.
func children(t testing.TB) []proc {
	t.Helper()
	paths, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		t.Fatal(err)
	}
	self := os.Getpid()
	var kids []proc
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone meanwhile
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 2 {
			continue
		}
		if ppid, _ := strconv.Atoi(f[1]); ppid == self {
			pid, _ := strconv.Atoi(strings.Fields(s)[0])
			kids = append(kids, proc{pid, f[0]})
		}
	}
	return kids
}

var forkTransports = []string{"tcp", "unix", "unixpacket", "udp", "unixgram"}

// Every request is served by a process other than the server, a fresh one
// each time, on stream and datagram transports, with and without spares.
func TestForkServesEachRequestInAChild(t *testing.T) {
	for _, mode := range []string{"fork", "fork-spares"} {
		for _, network := range forkTransports {
			t.Run(mode+"/"+network, func(t *testing.T) {
				fs := startFork(t, mode, network)
				seen := map[int]bool{os.Getpid(): true}
				for i := range 4 {
					pid, text := ask(t, fs.addr, fmt.Sprintf("echo hello%d", i))
					if want := fmt.Sprintf("HELLO%d", i); text != want {
						t.Errorf("reply %q, want %q", text, want)
					}
					if seen[pid] {
						t.Errorf("request %d served by PID %d, which is the server or served before", i, pid)
					}
					seen[pid] = true
				}
				if st := fs.Stats(); st.TotalConns+st.TotalPackets != 4 {
					t.Errorf("Stats = %+v, want 4 requests", st)
				}
				if mode == "fork-spares" {
					// Two spares stand ready, and are retired on Close.
					servetest.WaitUntil(t, "two spares are started", func() bool { return len(fs.ChildPIDs()) == 2 })
				}
			})
		}
	}
}

// With MaxRequestsPerChild, a child serves several requests in turn.
func TestForkMaxRequestsPerChild(t *testing.T) {
	fs := startFork(t, "fork-reuse", "tcp")
	count := map[int]int{}
	for i := range 9 {
		pid, _ := ask(t, fs.addr, fmt.Sprintf("echo %d", i))
		count[pid]++
	}
	for pid, n := range count {
		if n > 3 || pid == os.Getpid() {
			t.Errorf("PID %d served %d requests, want at most 3 and not the server", pid, n)
		}
	}
	if len(count) < 3 {
		t.Errorf("9 requests served by %d processes, want at least 3", len(count))
	}
}

// 500 clients connect at once: never more than MaxChildren (40) children
// are alive, as /proc shows while the server runs, and every client is
// answered.
func TestForkMaxChildrenUnderBurst(t *testing.T) {
	fs := startFork(t, "fork-burst", "tcp")
	const clients = 500
	var most atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			n := int64(len(children(t)))
			if n > most.Load() {
				most.Store(n)
			}
			select {
			case <-stop:
				return
			default:
			}
		}
	}()
	var wg sync.WaitGroup
	var answered atomic.Int64
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", fs.addr.String(), 10*time.Second)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(2 * time.Minute))
			fmt.Fprintf(c, "sleep 500ms\n")
			r := bufio.NewReader(c)
			for _, want := range []string{"started", "slept"} {
				l, err := r.ReadString('\n')
				if err != nil || !strings.HasSuffix(l, " "+want+"\n") {
					errs <- fmt.Errorf("client %d: read %q, %v", i, l, err)
					return
				}
			}
			answered.Add(1)
		})
	}
	wg.Wait()
	close(stop)
	<-sampled
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if answered.Load() != clients {
		t.Errorf("%d of %d clients answered", answered.Load(), clients)
	}
	t.Logf("most children alive at once: %d", most.Load())
	if m := most.Load(); m > 40 {
		t.Errorf("%d children alive at once, MaxChildren is 40", m)
	}
	if most.Load() < 20 {
		t.Errorf("at most %d children alive: the burst did not press on the bound", most.Load())
	}
}

// A child that fails is reported to HandleError with its PID and status,
// and the server goes on serving.
func TestForkChildFailuresAreReported(t *testing.T) {
	fs := startFork(t, "fork", "tcp")
	check := func(cmd string, ok func(ce *socketserver.ChildError) bool) {
		t.Helper()
		c := servetest.Dial(t, fs.addr)
		fmt.Fprintf(c, "%s\n", cmd)
		var ce *socketserver.ChildError
		select {
		case err := <-fs.errs:
			if !errors.As(err, &ce) || ce.PID == os.Getpid() || !ok(ce) {
				t.Errorf("%s: reported %v (%#v)", cmd, err, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: nothing reported", cmd)
		}
		c.Close()
	}
	check("panic", func(ce *socketserver.ChildError) bool {
		var pe *socketserver.PanicError
		return errors.As(ce, &pe) && pe.Value == "asked to" && strings.Contains(string(pe.Stack), "forkmain_test.go")
	})
	check("error", func(ce *socketserver.ChildError) bool {
		return ce.Err != nil && ce.Err.Error() == "asked to fail"
	})
	check("exit 3", func(ce *socketserver.ChildError) bool {
		return ce.State != nil && ce.State.ExitCode() == 3
	})
	check("kill", func(ce *socketserver.ChildError) bool {
		sig, ok := ce.Signaled()
		return ok && sig == syscall.SIGKILL && strings.Contains(ce.Error(), "killed")
	})
	if _, text := ask(t, fs.addr, "echo still"); text != "STILL" {
		t.Errorf("after the failures: %q", text)
	}
}

// Shutdown waits for a child serving a request; the reply arrives whole.
func TestForkShutdownWaitsForChildren(t *testing.T) {
	for _, mode := range []string{"fork", "fork-spares"} {
		t.Run(mode, func(t *testing.T) { shutdownMidRequest(t, startFork(t, mode, "tcp")) })
	}
}

// shutdownMidRequest calls Shutdown while a request sleeps in a child or
// worker, and checks that the reply arrives whole, Serve returns, and no
// child is left.
func shutdownMidRequest(t *testing.T, fs *forkServer) {
	t.Helper()
	c := servetest.Dial(t, fs.addr)
	fmt.Fprintf(c, "sleep 300ms\n")
	r := bufio.NewReader(c)
	if l, err := r.ReadString('\n'); err != nil || !strings.HasSuffix(l, "started\n") {
		t.Fatalf("read %q, %v", l, err)
	}
	if err := fs.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown = %v", err)
	}
	if l, err := r.ReadString('\n'); err != nil || !strings.HasSuffix(l, "slept\n") {
		t.Errorf("after Shutdown, read %q, %v", l, err)
	}
	if err := <-fs.served; !errors.Is(err, socketserver.ErrServerClosed) {
		t.Errorf("serve = %v", err)
	}
	fs.served = closedErr()
	if kids := children(t); len(kids) > 0 {
		t.Errorf("children after Shutdown: %v", kids)
	}
}

func closedErr() <-chan error {
	c := make(chan error, 1)
	c <- socketserver.ErrServerClosed
	return c
}

// Past Shutdown's deadline a child gets SIGTERM, and SIGKILL after Grace
// if it ignores it; Serve returns once it is reaped.
func TestForkShutdownForcesAtDeadline(t *testing.T) {
	fs := startFork(t, "fork", "unix")
	c := servetest.Dial(t, fs.addr)
	fmt.Fprintf(c, "hang\n")
	pid, text := askOn(t, c, "")
	if text != "started" {
		t.Fatalf("read %q", text)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := fs.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if err := <-fs.served; !errors.Is(err, socketserver.ErrServerClosed) {
		t.Errorf("serve = %v", err)
	}
	fs.served = closedErr()
	var ce *socketserver.ChildError
	if err := <-fs.errs; !errors.As(err, &ce) || ce.PID != pid {
		t.Fatalf("reported %v, want child %d's death", err, pid)
	}
	if sig, _ := ce.Signaled(); sig != syscall.SIGKILL {
		t.Errorf("child died of %v, want SIGKILL (it ignores SIGTERM)", ce)
	}
	if kids := children(t); len(kids) > 0 {
		t.Errorf("children after Serve returned: %v", kids)
	}
}

// The server waits only for the processes it started: another child of
// the same process is left for its owner to reap (CPython issue 1540386).
func TestForkReapsOnlyItsOwnChildren(t *testing.T) {
	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Skip("no sleep program:", err)
	}
	fs := startFork(t, "fork", "tcp")
	for range 5 {
		ask(t, fs.addr, "echo x")
	}
	fs.Close()
	if err := <-fs.served; !errors.Is(err, socketserver.ErrServerClosed) {
		t.Errorf("serve = %v", err)
	}
	fs.served = closedErr()
	other.Process.Kill()
	err := other.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("the unrelated child's Wait = %v: someone else reaped it", err)
	}
}

// When the server's process dies, its children die too: no orphan is left
// serving.
func TestForkChildDiesWithServer(t *testing.T) {
	server, addr := standaloneServer(t, "fork", "tcp")
	c := servetest.Dial(t, addr)
	fmt.Fprintf(c, "sleep 1h\n")
	pid, text := askOn(t, c, "")
	if text != "started" {
		t.Fatalf("read %q", text)
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	defer unix.Close(pidfd)
	server.Process.Kill()
	server.Wait()
	// The pidfd turns readable when the child exits.
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, 10_000)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil || n == 0 {
			t.Fatalf("child %d still alive 10s after its server was killed (%v)", pid, err)
		}
		break
	}
}

// standaloneServer runs this test binary as a server process in mode and
// returns it with its address.
func standaloneServer(t *testing.T, mode, network string) (*exec.Cmd, net.Addr) {
	t.Helper()
	addr := servetest.LocalAddr(t, network)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), forkStandEnv+"=1", forkEnv+"="+mode+" "+network+" "+addr)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("server process: %v", err)
	}
	f := strings.Fields(line)
	if len(f) != 2 || f[0] != network {
		t.Fatalf("server process said %q", line)
	}
	return cmd, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: mustPort(t, f[1])}
}

func mustPort(t *testing.T, hostport string) int {
	_, p, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// Prefork workers serve every request, on stream and datagram sockets;
// the supervisor never does.
func TestPreforkServesInWorkers(t *testing.T) {
	for _, network := range forkTransports {
		t.Run(network, func(t *testing.T) {
			fs := startFork(t, "prefork", network)
			servetest.WaitUntil(t, "two workers run", func() bool { return len(fs.ChildPIDs()) == 2 })
			workers := fs.ChildPIDs()
			for i := range 20 {
				pid, text := ask(t, fs.addr, fmt.Sprintf("echo w%d", i))
				if !slices.Contains(workers, pid) {
					t.Errorf("served by PID %d, not a worker %v (server %d)", pid, workers, os.Getpid())
				}
				if text != fmt.Sprintf("W%d", i) {
					t.Errorf("reply %q", text)
				}
			}
		})
	}
}

// A worker killed with SIGKILL is reported and replaced, and serving
// resumes; requests that came meanwhile wait in the socket's queue.
func TestPreforkReplacesKilledWorker(t *testing.T) {
	fs := startFork(t, "prefork-one", "tcp")
	first, _ := ask(t, fs.addr, "echo a")
	if pids := fs.ChildPIDs(); !slices.Equal(pids, []int{first}) {
		t.Fatalf("ChildPIDs = %v, served by %d", pids, first)
	}
	syscall.Kill(first, syscall.SIGKILL)
	var ce *socketserver.ChildError
	if err := <-fs.errs; !errors.As(err, &ce) || ce.PID != first {
		t.Fatalf("reported %v, want worker %d's death", err, first)
	}
	second, text := ask(t, fs.addr, "echo b")
	if second == first || second == os.Getpid() || text != "B" {
		t.Errorf("after the kill: PID %d (first %d) replied %q", second, first, text)
	}
	if pids := fs.ChildPIDs(); !slices.Equal(pids, []int{second}) {
		t.Errorf("ChildPIDs = %v, want [%d]", pids, second)
	}
}

// Workers that fail at start are restarted after pauses that grow: no
// restart storm.
func TestPreforkBacksOffFailingWorkers(t *testing.T) {
	fs := startFork(t, "prefork-crash", "tcp")
	var at []time.Time
	for len(at) < 8 { // 4 failures of each of the 2 workers
		select {
		case err := <-fs.errs:
			var ce *socketserver.ChildError
			if !errors.As(err, &ce) || ce.State == nil || ce.State.ExitCode() != 3 {
				t.Fatalf("reported %v", err)
			}
			at = append(at, time.Now())
		case <-time.After(30 * time.Second):
			t.Fatalf("only %d failures reported", len(at))
		}
	}
	// Failures 7 and 8 come after pauses of at least 100+200+400ms per
	// worker since the first two.
	if d := at[7].Sub(at[0]); d < 700*time.Millisecond {
		t.Errorf("8 failed starts within %v: the restarts do not back off", d)
	}
}

// A graceful Shutdown reaches the workers: a request in flight is
// answered, then the workers exit and Serve returns.
func TestPreforkShutdownDrainsWorkers(t *testing.T) {
	fs := startFork(t, "prefork", "tcp")
	shutdownMidRequest(t, fs)
	select {
	case err := <-fs.errs:
		t.Errorf("reported during a clean shutdown: %v", err)
	default:
	}
}

// A Fork server's Stats include what its children count: the bytes they
// read and wrote; its own count connections and their durations.
func TestForkStatsIncludeChildren(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		t.Run(network, func(t *testing.T) {
			fs := startFork(t, "fork", network)
			for i := range 5 {
				ask(t, fs.addr, fmt.Sprintf("echo stats%d", i))
			}
			// "echo statsN\n" in (12 bytes), "PID STATSN\n" out.
			servetest.WaitUntil(t, "the children's counts", func() bool {
				st := fs.Stats()
				return st.BytesIn == 5*12 && st.BytesOut >= 5*9 && st.Durations.Count() == 5
			})
			st := fs.Stats()
			if st.TotalConns+st.TotalPackets != 5 || st.ActiveConns+st.ActivePackets != 0 || st.Errors != 0 {
				t.Errorf("Stats = %+v", st)
			}
		})
	}
}

// A Prefork supervisor's Stats add up its workers', those of a worker
// that died included.
func TestPreforkStatsIncludeWorkers(t *testing.T) {
	fs := startFork(t, "prefork", "tcp")
	servetest.WaitUntil(t, "two workers run", func() bool { return len(fs.ChildPIDs()) == 2 })
	pids := map[int]bool{}
	for i := range 20 {
		pid, _ := ask(t, fs.addr, fmt.Sprintf("echo w%d", i))
		pids[pid] = true
	}
	servetest.WaitUntil(t, "the workers' counts", func() bool {
		st := fs.Stats()
		return st.TotalConns == 20 && st.Durations.Count() == 20 && st.BytesIn == 20*8+10*1
	})
	for pid := range pids {
		syscall.Kill(pid, syscall.SIGKILL)
		break
	}
	if err := <-fs.errs; err == nil {
		t.Fatal("no report of the killed worker")
	}
	servetest.WaitUntil(t, "a worker in its place", func() bool { return len(fs.ChildPIDs()) == 2 })
	ask(t, fs.addr, "echo after")
	servetest.WaitUntil(t, "the counts kept", func() bool { return fs.Stats().TotalConns == 21 })
	if st := fs.Stats(); st.BytesIn < 20*8+10 || st.ActiveConns != 0 {
		t.Errorf("after a worker died: %+v", st)
	}
}

// MaxConnsPerIP holds across all the children of a Fork server, for the
// client address only the child knows (after WrapConn).
func TestForkMaxConnsPerIPAcrossChildren(t *testing.T) {
	fs := startFork(t, "fork-perip", "tcp")
	hold := func(from string) (net.Conn, *bufio.Reader) {
		c := servetest.Dial(t, fs.addr)
		fmt.Fprintf(c, "from %s\nwait\n", from)
		return c, bufio.NewReader(c)
	}
	var held []net.Conn
	for range 2 {
		c, r := hold("10.1.2.3")
		if l, err := r.ReadString('\n'); err != nil || !strings.HasSuffix(l, "started\n") {
			t.Fatalf("connection from 10.1.2.3: %q, %v", l, err)
		}
		held = append(held, c)
	}
	c, r := hold("10.1.2.3")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if l, err := r.ReadString('\n'); err == nil {
		t.Errorf("a third connection from 10.1.2.3 was served: %q", l)
	}
	if st := fs.Stats(); st.OverIPLimit != 1 {
		t.Errorf("OverIPLimit = %d, want 1", st.OverIPLimit)
	}
	other, r := hold("10.9.9.9")
	if l, err := r.ReadString('\n'); err != nil || !strings.HasSuffix(l, "started\n") {
		t.Errorf("another address: %q, %v", l, err)
	}
	other.Close()
	// A slot is freed with its connection's end.
	held[0].Close()
	servetest.WaitUntil(t, "the slot freed", func() bool { return fs.Stats().ActiveConns == 1 })
	again, r := hold("10.1.2.3")
	defer again.Close()
	if l, err := r.ReadString('\n'); err != nil || !strings.HasSuffix(l, "started\n") {
		t.Errorf("after one ended: %q, %v", l, err)
	}
	held[1].Close()
}

// Children that fail before they serve are reported, with the reason,
// and restarted only after a growing pause: no busy loop.
func TestForkChildrenFailingToStart(t *testing.T) {
	fs := startFork(t, "fork-broken", "tcp")
	start := time.Now()
	var reported int
	for time.Since(start) < 2*time.Second {
		select {
		case err := <-fs.errs:
			var ce *socketserver.ChildError
			if !errors.As(err, &ce) || !errors.Is(err, socketserver.ErrChildStart) || ce.State == nil || ce.State.ExitCode() != 3 ||
				!strings.Contains(err.Error(), "before it was ready") {
				t.Fatalf("reported %v", err)
			}
			reported++
		case <-time.After(100 * time.Millisecond):
		}
	}
	// Pauses of 5ms, 10ms, … 1s: a dozen failures in 2s, not hundreds.
	if reported < 3 || reported > 30 {
		t.Errorf("%d failed starts reported in 2s", reported)
	}
}

// A child that never gets to its Server is killed after StartTimeout and
// reported; so is a worker.
func TestChildStartTimeout(t *testing.T) {
	for _, mode := range []string{"fork-stuck", "prefork-stuck"} {
		t.Run(mode, func(t *testing.T) {
			fs := startFork(t, mode, "tcp")
			if mode == "fork-stuck" {
				c := servetest.Dial(t, fs.addr)
				defer c.Close()
				fmt.Fprintf(c, "echo never\n")
			}
			select {
			case err := <-fs.errs:
				var ce *socketserver.ChildError
				if !errors.As(err, &ce) || !errors.Is(err, socketserver.ErrChildStart) || !strings.Contains(err.Error(), "not ready within 300ms") {
					t.Fatalf("reported %v", err)
				}
				if sig, ok := ce.Signaled(); !ok || sig != syscall.SIGKILL {
					t.Errorf("%v: not killed", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("nothing reported")
			}
		})
	}
}

// In a child, ChildAddr names the Server to build: the server's Network
// and Addr fields.
func TestChildAddr(t *testing.T) {
	if _, _, ok := socketserver.ChildAddr(); ok {
		t.Error("ChildAddr in the test process")
	}
	for _, mode := range []string{"fork", "prefork"} {
		t.Run(mode, func(t *testing.T) {
			fs := startFork(t, mode, "unix")
			_, text := ask(t, fs.addr, "whose")
			if want := "unix " + fs.Addr + " true"; text != want {
				t.Errorf("%q, want %q", text, want)
			}
		})
	}
}

// The server stops its children and workers over their control sockets:
// main's own SIGTERM handler never runs in them. Shutdown with a handler
// that spins holds until its deadline.
func TestStopNeverSignalsChildren(t *testing.T) {
	for _, mode := range []string{"fork", "prefork"} {
		t.Run(mode, func(t *testing.T) {
			marks := t.TempDir()
			t.Setenv(forkMarkEnv, marks)
			fs := startFork(t, mode, "tcp")
			for range 4 {
				ask(t, fs.addr, "echo x")
			}
			spinning := servetest.Dial(t, fs.addr)
			defer spinning.Close()
			fmt.Fprintf(spinning, "spin\n")
			if _, text := askOn(t, spinning, ""); text != "started" {
				t.Fatalf("spin: %q", text)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			if err := fs.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Shutdown with a spinning handler = %v, want DeadlineExceeded", err)
			}
			if err := <-fs.served; !errors.Is(err, socketserver.ErrServerClosed) {
				t.Errorf("serve = %v", err)
			}
			fs.served = closedErr()
			if ents, _ := os.ReadDir(marks); len(ents) > 0 {
				t.Errorf("%d children ran main's SIGTERM handler", len(ents))
			}
		})
	}
}
