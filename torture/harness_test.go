//go:build linux

package torture

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"text/tabwriter"
	"time"

	"go.uber.org/goleak"
)

var soak = flag.Bool("soak", false, "run every scenario with five times the counts")

// scale returns n, or five times n with -soak.
func scale(n int) int {
	if *soak {
		return 5 * n
	}
	return n
}

func TestMain(m *testing.M) {
	if os.Getenv(serverEnv) != "" {
		serverMain()
	}
	code := m.Run()
	printTable()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// modes are the concurrency modes every scenario runs in, where it
// applies.
var modes = []string{"sync", "goroutine", "pool", "event", "fork", "prefork"}

// A result is one scenario's summary in one mode.
type result struct {
	scenario, mode        string
	tried, survived, lost int
	note                  string
}

var (
	resultsMu sync.Mutex
	results   []result
)

// report records and prints a scenario's summary line.
func report(t *testing.T, r result) {
	t.Helper()
	line := fmt.Sprintf("%-12s %-9s tried %6d  survived %6d  lost %d", r.scenario, r.mode, r.tried, r.survived, r.lost)
	if r.note != "" {
		line += "  (" + r.note + ")"
	}
	t.Log(line)
	resultsMu.Lock()
	results = append(results, r)
	resultsMu.Unlock()
}

func printTable() {
	resultsMu.Lock()
	defer resultsMu.Unlock()
	if len(results) == 0 {
		return
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "scenario\tmode\ttried\tsurvived\tlost\t\tnote")
	for _, r := range results {
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t\t%s\n", r.scenario, r.mode, r.tried, r.survived, r.lost, r.note)
	}
	w.Flush()
}

// knownGaps are the rows, "scenario/mode", that a scenario is known to
// fail, each with its reason, until the code that owes them is fixed.
// Such a row is reported with its reason instead of failing the run; a
// run in which a gap that shows every time passes fails, so that its
// entry is removed.
var knownGaps = map[string]gap{}

// A gap is a known failure of one row.
type gap struct {
	why       string
	sometimes bool // it shows only in some runs, or at some counts
}

// verdict fails the test with the scenario's problems, unless its row is
// a known gap, in which case it notes the gap in r instead.
func verdict(t *testing.T, r *result, problems []string) {
	t.Helper()
	g, known := knownGaps[r.scenario+"/"+r.mode]
	switch {
	case known && len(problems) > 0:
		t.Logf("known gap: %s: %s", g.why, strings.Join(problems, "; "))
		r.note = "known gap: " + g.why + "; " + r.note
	case known && !g.sometimes:
		t.Errorf("%s/%s passes: remove it from knownGaps", r.scenario, r.mode)
	default:
		for _, p := range problems {
			t.Error(p)
		}
	}
}

// A target is a server process under test.
type target struct {
	cfg       serverConfig
	cmd       *exec.Cmd
	addr      string // what clients dial
	debugAddr string
	lines     chan string // its standard output, line by line
	stderr    *lockedBuffer
	base      debugState // after the warm-up, before the load
}

// startServer starts the test binary as a server for cfg, and waits for it
// to be ready. Unless the test stopped it, it is killed when the test ends.
func startServer(t *testing.T, cfg serverConfig) *target {
	t.Helper()
	if cfg.Addr == "" {
		switch cfg.Network {
		case "unix", "unixgram":
			cfg.Addr = filepath.Join(t.TempDir(), "sock")
		default:
			cfg.Addr = "127.0.0.1:0"
		}
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 20 * time.Second
	}
	env, _ := json.Marshal(cfg)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), serverEnv+"="+string(env))
	// Its children must not outlive it (they share its output): Wait
	// says so, rather than waiting for them.
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{cfg: cfg, cmd: cmd, lines: make(chan string, 16), stderr: &lockedBuffer{}}
	cmd.Stderr = tg.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		// Only the server's own lines: its Prefork workers print theirs
		// on the same output, after their own PIDs.
		own := strconv.Itoa(cmd.Process.Pid) + " "
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), own); ok {
				tg.lines <- line
			}
		}
		close(tg.lines)
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		for range tg.lines {
		}
	})
	line := tg.expect(t, "ready", 20*time.Second)
	f := strings.Fields(line)
	tg.addr, tg.debugAddr = f[1], f[2]
	return tg
}

// expect waits for an output line starting with prefix, and returns it.
func (tg *target) expect(t *testing.T, prefix string, d time.Duration) string {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case line, ok := <-tg.lines:
			if !ok {
				t.Fatalf("server exited before %q: %s", prefix, tg.stderr.tail())
			}
			if strings.HasPrefix(line, prefix) {
				return line
			}
			if strings.HasPrefix(line, "error") {
				t.Fatalf("server: %s", line)
			}
		case <-timeout:
			t.Fatalf("no %q from the server in %v: %s", prefix, d, tg.stderr.tail())
		}
	}
}

var debugClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}

// state asks the server for its debug state.
func (tg *target) state(t *testing.T) debugState {
	t.Helper()
	resp, err := debugClient.Get("http://" + tg.debugAddr + "/")
	if err != nil {
		t.Fatalf("debug endpoint: %v", err)
	}
	defer resp.Body.Close()
	var st debugState
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatalf("debug endpoint: %v", err)
	}
	return st
}

// stateWhen asks the server for its debug state until ok accepts it, for
// up to 10 seconds (Prefork's workers send their counters to the
// supervisor every 200ms), and returns the last one.
func (tg *target) stateWhen(t *testing.T, ok func(debugState) bool) debugState {
	t.Helper()
	st := tg.state(t)
	for deadline := time.Now().Add(10 * time.Second); !ok(st) && time.Now().Before(deadline); st = tg.state(t) {
		time.Sleep(20 * time.Millisecond)
	}
	return st
}

// warmUp serves one request of each kind the scenario uses, so that
// lazily started workers are in the baseline, and takes the baseline.
func (tg *target) warmUp(t *testing.T, network string) {
	t.Helper()
	if network == "udp" || network == "unixgram" {
		c := dialPacket(t, tg)
		exchangePacket(t, c, "echo warm")
		c.Close()
	} else {
		c, err := net.Dial(network, tg.addr)
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		fmt.Fprintf(c, "sleep 1ms\necho warm\n")
		for range 3 {
			if _, err := readLine(c, br, 10*time.Second); err != nil {
				t.Fatalf("warm-up: %v", err)
			}
		}
		c.Close()
	}
	tg.base = tg.settle(t, debugState{Goroutines: 1 << 30, FDs: 1 << 30})
}

// settle waits, for up to 10s, until the server holds no more goroutines
// and descriptors than in base and has no children (Fork), and returns its
// state then. The debug request itself may hold one of each.
func (tg *target) settle(t *testing.T, base debugState) debugState {
	t.Helper()
	var st debugState
	var last debugState
	for deadline := time.Now().Add(10 * time.Second); ; {
		st = tg.state(t)
		settled := st.Goroutines <= base.Goroutines && st.FDs <= base.FDs && (tg.cfg.Mode != "fork" || st.Children == 0)
		if base.Goroutines == 1<<30 { // taking a baseline: wait until it stops moving
			settled = st.Goroutines == last.Goroutines && st.FDs == last.FDs && st.Children == last.Children
		}
		if settled || time.Now().After(deadline) {
			return st
		}
		last = st
		time.Sleep(20 * time.Millisecond) // polling a count no event announces
	}
}

// leaks reports what the server holds beyond its baseline once the load
// is over, as a note ("" if nothing), failing the test if anything.
func (tg *target) leaks(t *testing.T) string {
	t.Helper()
	st := tg.settle(t, tg.base)
	var out []string
	if d := st.Goroutines - tg.base.Goroutines; d > 0 {
		out = append(out, fmt.Sprintf("%d goroutines", d))
	}
	if d := st.FDs - tg.base.FDs; d > 0 {
		out = append(out, fmt.Sprintf("%d descriptors", d))
	}
	if tg.cfg.Mode == "fork" && st.Children > 0 {
		out = append(out, fmt.Sprintf("%d children", st.Children))
	}
	if len(out) > 0 {
		t.Errorf("after the load the server still holds %s more than before", strings.Join(out, ", "))
		return "leaked " + strings.Join(out, ", ")
	}
	return ""
}

// stop sends SIGTERM and waits for the graceful shutdown to end; it
// returns the "shutdown" line.
func (tg *target) stop(t *testing.T) string {
	t.Helper()
	tg.cmd.Process.Signal(syscall.SIGTERM)
	line := tg.expect(t, "shutdown", tg.cfg.ShutdownTimeout+10*time.Second)
	if err := tg.cmd.Wait(); errors.Is(err, exec.ErrWaitDelay) {
		t.Errorf("processes the server started still hold its output %v after it exited", tg.cmd.WaitDelay)
	}
	return line
}

// ownFDs counts the test process's open descriptors.
func ownFDs() int {
	fds, _ := os.ReadDir("/proc/self/fd")
	return len(fds)
}

// checkOwnFDs fails the test if the test process holds more descriptors
// than before, once its clients are closed.
func checkOwnFDs(t *testing.T, before int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ownFDs() > before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Errorf("the clients left %d descriptors open", ownFDs()-before)
			return
		}
	}
}

// clientAddr spreads client connections over 127.0.0.2-33, so that
// connection storms do not run out of ephemeral ports to one address.
func clientDialer(i int, timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%32))}}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tail returns the end of the server's log, for a failure message.
func (l *lockedBuffer) tail() string {
	s := l.String()
	return s[max(0, len(s)-2000):]
}
