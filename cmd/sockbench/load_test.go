package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver"
)

// Every mode, over every transport it supports, completes exactly -n
// verified requests against an echo server.
func TestLoadCountsVerifiedRequests(t *testing.T) {
	for _, tc := range []struct {
		network string
		args    []string
	}{
		{network: "tcp", args: []string{"-c", "4"}},
		{network: "tcp", args: []string{"-c", "3", "-pipeline", "16", "-size", "1024"}},
		{network: "tcp", args: []string{"-c", "4", "-mode", "churn"}},
		{network: "tcp", args: []string{"-c", "2", "-rate", "20000"}},
		{network: "unix", args: []string{"-c", "4"}},
		{network: "unix", args: []string{"-c", "4", "-mode", "churn"}},
		{network: "udp", args: []string{"-c", "4"}},
		{network: "udp", args: []string{"-c", "2", "-pipeline", "4"}},
		{network: "unixgram", args: []string{"-c", "4", "-size", "512"}},
	} {
		name := tc.network + " " + strings.Join(tc.args, " ")
		t.Run(name, func(t *testing.T) {
			url := serveURL(t, tc.network, echo)
			cfg := mustParse(t, append([]string{url, "-n", "2000"}, tc.args...)...)
			res, err := run(context.Background(), cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != 2000 || res.Errors != 0 || res.Mismatches != 0 {
				t.Fatalf("requests %d, errors %d (%s), mismatches %d; want 2000, 0, 0",
					res.Requests, res.Errors, res.FirstError, res.Mismatches)
			}
			if res.LatencyUS == nil || res.LatencyUS.P50 <= 0 || res.LatencyUS.P50 > res.LatencyUS.P99 || res.LatencyUS.P99 > res.LatencyUS.Max {
				t.Fatalf("latency summary out of order: %+v", res.LatencyUS)
			}
			if want := float64(2000*cfg.size) / res.Seconds; res.SentPerSec != want || res.RecvPerSec != want {
				t.Fatalf("bytes/s sent %.0f, received %.0f; want %.0f each way", res.SentPerSec, res.RecvPerSec, want)
			}
		})
	}
}

// A server that answers wrongly is caught: every reply is compared with
// its request, and the first wrong one is shown.
func TestMismatchesAreErrors(t *testing.T) {
	wrong := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		data, _ := io.ReadAll(r.Reader)
		if len(data) > 0 {
			data[len(data)/2] ^= 1 // one flipped bit
		}
		_, err := r.Writer.Write(data)
		return err
	})
	for _, network := range []string{"udp", "unixgram"} {
		url := serveURL(t, network, wrong)
		res, err := run(context.Background(), mustParse(t, url, "-n", "100", "-c", "2"), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if res.Mismatches != 100 || res.Requests != 0 || res.FirstMismatch == "" {
			t.Fatalf("%s: mismatches %d, requests %d, first %q; want 100, 0 and the first shown", network, res.Mismatches, res.Requests, res.FirstMismatch)
		}
		if err := res.failure(); err == nil || !strings.Contains(err.Error(), "no request answered right: 100 wrong replies") {
			t.Fatalf("%s: failure() = %v", network, err)
		}
	}
	short := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		buf := make([]byte, 64)
		io.ReadFull(r.Reader, buf)
		_, err := r.Writer.Write(bytes.ToUpper(buf))
		return err
	})
	url := serveURL(t, "tcp", short)
	res, err := run(context.Background(), mustParse(t, url, "-n", "50", "-c", "1", "-mode", "churn"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Mismatches+res.Errors != 50 || res.Requests != 0 {
		t.Fatalf("churn against a wrong server: mismatches %d, errors %d, requests %d", res.Mismatches, res.Errors, res.Requests)
	}
}

// With -rate, latency is measured from the intended send time: a server
// stall shows in every request scheduled during it, not just the one it
// held (coordinated omission).
func TestOpenLoopSeesStalls(t *testing.T) {
	var first atomic.Bool
	stalling := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		buf := make([]byte, 64)
		for {
			if _, err := io.ReadFull(r.Reader, buf); err != nil {
				return nil
			}
			if first.CompareAndSwap(false, true) {
				time.Sleep(100 * time.Millisecond) // the stall under test
			}
			if _, err := r.Writer.Write(buf); err != nil {
				return err
			}
		}
	})
	url := serveURL(t, "tcp", stalling)
	// 1000 requests/s on one connection: about 100 are due during the
	// stall. Closed loop, only one request would see it.
	res, err := run(context.Background(), mustParse(t, url, "-n", "400", "-c", "1", "-rate", "1000"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 400 || res.LatencyUS.P90 < 1000 {
		t.Fatalf("open loop: %d requests, p90 %.0fµs; want 400 and a p90 showing the 100ms stall", res.Requests, res.LatencyUS.P90)
	}
}

// Idle mode holds its connections, over several processes, until its
// time is up.
func TestIdleHoldsConnections(t *testing.T) {
	held := make(chan struct{})
	var open atomic.Int32
	hold := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		if open.Add(1) == 300 {
			close(held)
		}
		io.Copy(io.Discard, r.Reader) // until the client closes
		return nil
	})
	url := serveURL(t, "tcp", hold)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *result, 1)
	go func() {
		res, err := run(ctx, mustParse(t, url, "-mode", "idle", "-c", "300", "-procs", "3", "-d", "1m"), io.Discard)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	<-held // the server has all 300
	cancel()
	res := <-done
	if res == nil || res.Held != 300 || res.Errors != 0 || res.failure() != nil {
		t.Fatalf("idle: %+v; want 300 held, no errors", res)
	}
}

// A server that is not there fails at once with a clear error.
func TestUnreachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = run(context.Background(), mustParse(t, "tcp://"+addr, "-d", "1s"), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "cannot reach") {
		t.Fatalf("run against nothing = %v", err)
	}
}

// silentListener accepts connections and reads them, never answering,
// until the test ends. It returns the listener's URL.
func silentListener(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { io.Copy(io.Discard, c) })
		}
	})
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return "tcp://" + l.Addr().String()
}

// Against a server that never answers, with a -timeout longer than the
// run, every request in flight at the end counts as a timeout, the run
// ends on time (-d and the drain, not -timeout), and it is a failure.
func TestSilentServerTimesOut(t *testing.T) {
	url := silentListener(t)
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	for _, tc := range []struct {
		args     []string
		timeouts int64
	}{
		{args: []string{url, "-c", "3"}, timeouts: 3},
		{args: []string{url, "-c", "2", "-pipeline", "8"}, timeouts: 16},
		{args: []string{url, "-c", "3", "-mode", "churn"}, timeouts: 3},
		{args: []string{url, "-c", "2", "-rate", "1000"}, timeouts: 2},
		{args: []string{url, "-c", "2", "-n", "1000", "-d", "300ms"}, timeouts: 2},
		{args: []string{"udp://" + udp.LocalAddr().String(), "-c", "2", "-pipeline", "3"}, timeouts: 6},
	} {
		t.Run(strings.Join(tc.args[1:], " "), func(t *testing.T) {
			args := append([]string{"-timeout", "1m"}, tc.args...)
			if !strings.Contains(strings.Join(args, " "), "-d ") {
				args = append(args, "-d", "300ms")
			}
			start := time.Now()
			res, err := run(context.Background(), mustParse(t, args...), io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("a 300ms run took %v", took)
			}
			if res.Requests != 0 || res.Timeouts != tc.timeouts || res.Errors != tc.timeouts {
				t.Errorf("requests %d, timeouts %d, errors %d; want 0, %d, %d", res.Requests, res.Timeouts, res.Errors, tc.timeouts, tc.timeouts)
			}
			if !strings.Contains(res.FirstError, "no reply by the end of the run") {
				t.Errorf("first error %q", res.FirstError)
			}
			if err := res.failure(); err == nil || !strings.Contains(err.Error(), "no request answered") {
				t.Errorf("failure() = %v", err)
			}
		})
	}
}

// A request that outlives -timeout, within the run, is a timeout too, and
// its connection is made anew.
func TestTimeoutWithinRun(t *testing.T) {
	url := silentListener(t)
	res, err := run(context.Background(), mustParse(t, url, "-c", "1", "-timeout", "50ms", "-d", "400ms"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Timeouts < 3 || res.Timeouts != res.Errors || !strings.Contains(res.FirstError, "no reply within -timeout 50ms") {
		t.Errorf("timeouts %d, errors %d, first %q; want several timeouts, each an error", res.Timeouts, res.Errors, res.FirstError)
	}
}

// A signal (ctx cancelled) ends the run at once, whatever the deadlines,
// and what it cut short is not counted against the server.
func TestInterruptEndsAtOnce(t *testing.T) {
	url := silentListener(t)
	for _, mode := range []string{"echo", "churn"} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan *result, 1)
		go func() {
			res, err := run(ctx, mustParse(t, url, "-mode", mode, "-c", "4", "-d", "1h", "-timeout", "1h"), io.Discard)
			if err != nil {
				t.Error(err)
			}
			done <- res
		}()
		time.AfterFunc(100*time.Millisecond, cancel)
		select {
		case res := <-done:
			if res != nil && (res.Errors != 0 || res.Timeouts != 0) {
				t.Errorf("%s: interrupted run counted errors %d, timeouts %d", mode, res.Errors, res.Timeouts)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the run did not end on cancel", mode)
		}
	}
}

// Churn to loopback comes from many source addresses, as from many
// clients: the ports of one address would run out in TIME_WAIT.
func TestChurnSpreadsSources(t *testing.T) {
	if !loopbackIs8 {
		t.Skip("only 127.0.0.1 is local here")
	}
	var mu sync.Mutex
	sources := map[string]bool{}
	from := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		host, _, _ := net.SplitHostPort(r.RemoteAddr.String())
		mu.Lock()
		sources[host] = true
		mu.Unlock()
		_, err := io.Copy(r.Writer, r.Reader)
		return err
	})
	url := serveURL(t, "tcp", from)
	res, err := run(context.Background(), mustParse(t, url, "-mode", "churn", "-c", "2", "-n", "300"), io.Discard)
	if err != nil || res.Requests != 300 {
		t.Fatalf("churn: %v, %+v", err, res)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(sources) != 200 || sources["127.0.0.1"] {
		t.Fatalf("churn came from %d source addresses, want all 200 of 127.0.0.2–201", len(sources))
	}
}

// Attacks on the client: a server that never reads (the client's writes
// block), and one that resets each connection halfway through its reply.
// Either way the run ends on time and every lost request is counted.
func TestHostileServers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	held := make(chan net.Conn, 16)
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held <- c // never read
		}
	})
	defer func() {
		l.Close()
		wg.Wait()
		close(held)
		for c := range held {
			c.Close()
		}
	}()
	start := time.Now()
	res := mustRun(t, "tcp://"+l.Addr().String(), "-c", "2", "-size", "1048576", "-pipeline", "16", "-d", "300ms", "-timeout", "1m")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("against a server that never reads, a 300ms run took %v", took)
	}
	if res.Requests != 0 || res.Timeouts != 32 || res.Errors != 32 {
		t.Errorf("never reading: requests %d, timeouts %d, errors %d; want 0, 32, 32", res.Requests, res.Timeouts, res.Errors)
	}

	halfway := socketserver.HandlerFunc(func(r *socketserver.Request) error {
		buf := make([]byte, 64)
		if _, err := io.ReadFull(r.Reader, buf); err != nil {
			return nil
		}
		r.Writer.Write(buf[:32])
		lc, ok := r.Conn.(interface{ SetLinger(int) error })
		if !ok {
			t.Errorf("the connection (%T) cannot close with a reset", r.Conn)
			return nil
		}
		lc.SetLinger(0) // the close resets
		return nil
	})
	url := serveURL(t, "tcp", halfway)
	start = time.Now()
	res = mustRun(t, url, "-c", "2", "-n", "100", "-timeout", "1m")
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("100 requests against a resetting server took %v", took)
	}
	if res.Requests != 0 || res.Errors != 100 || res.Timeouts != 0 || res.Mismatches != 0 {
		t.Errorf("reset halfway: requests %d, errors %d, timeouts %d, mismatches %d; want 0, 100, 0, 0", res.Requests, res.Errors, res.Timeouts, res.Mismatches)
	}
}
