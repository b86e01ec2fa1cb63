package main

import (
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/socketserver-go/socketserver/internal/servetest"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// start serves a new store in mode and returns its port.
func start(t *testing.T, mode string) string {
	t.Helper()
	cfg := defaultConfig()
	cfg.mode, cfg.loops = mode, 2
	return strconv.Itoa(startConfig(t, cfg).(*net.TCPAddr).Port)
}

// startConfig serves a new store as cfg says and returns its address.
func startConfig(t *testing.T, cfg config) net.Addr {
	t.Helper()
	srv, err := newServer(newStore(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv.Addr = "127.0.0.1:0"
	return servetest.Serve(t, srv)
}

// tool returns the path of a Redis program, which .ci/run installs.
func tool(t *testing.T, name string) string {
	return servetest.Need(t, name, "redis-tools")
}

var modes = []string{"event", "goroutine"}

// TestRedisCLI talks to the server with the real redis-cli.
func TestRedisCLI(t *testing.T) {
	cli := tool(t, "redis-cli")
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			port := start(t, mode)
			for _, step := range []struct{ cmd, want string }{
				{cmd: "PING", want: "PONG"},
				{cmd: "SET greeting hello", want: "OK"},
				{cmd: "GET greeting", want: "hello"},
				{cmd: "SET greeting x NX", want: ""},
				{cmd: "SET counter 41 EX 100", want: "OK"},
				{cmd: "INCR counter", want: "42"},
				{cmd: "TTL counter", want: "100"},
				{cmd: "INCR greeting", want: "ERR value is not an integer or out of range"},
				{cmd: "MSET a 1 b 2", want: "OK"},
				{cmd: "MGET a b missing", want: "1\n2\n"},
				{cmd: "EXISTS a b missing", want: "2"},
				{cmd: "EXPIRE a 50", want: "1"},
				{cmd: "TTL a", want: "50"},
				{cmd: "DEL a b", want: "2"},
				{cmd: "TTL a", want: "-2"},
				{cmd: "ECHO hi", want: "hi"},
				{cmd: "GET", want: "ERR wrong number of arguments for 'get' command"},
				{cmd: "FLY me", want: "ERR unknown command 'FLY', with args beginning with: 'me'"},
			} {
				out, err := exec.Command(cli, append([]string{"-h", "127.0.0.1", "-p", port}, strings.Fields(step.cmd)...)...).CombinedOutput()
				if err != nil {
					t.Fatalf("redis-cli %s: %v\n%s", step.cmd, err, out)
				}
				if got := strings.TrimRight(string(out), "\n"); got != strings.TrimRight(step.want, "\n") {
					t.Errorf("redis-cli %s = %q, want %q", step.cmd, got, step.want)
				}
			}

			// Mass insertion: redis-cli --pipe sends every command at once
			// and counts the replies.
			var in strings.Builder
			for i := range 5000 {
				fmt.Fprintf(&in, "SET key:%d value:%d\r\n", i, i)
			}
			pipe := exec.Command(cli, "-h", "127.0.0.1", "-p", port, "--pipe")
			pipe.Stdin = strings.NewReader(in.String())
			out, err := pipe.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "errors: 0, replies: 5000") {
				t.Fatalf("redis-cli --pipe: %v\n%s", err, out)
			}
			got, _ := exec.Command(cli, "-h", "127.0.0.1", "-p", port, "GET", "key:4999").Output()
			if string(got) != "value:4999\n" {
				t.Fatalf("GET key:4999 after --pipe = %q", got)
			}
		})
	}
}

// TestRedisBenchmark runs the real redis-benchmark, pipelined, as a load
// test: it must finish with every reply right.
func TestRedisBenchmark(t *testing.T) {
	bench := tool(t, "redis-benchmark")
	cli := tool(t, "redis-cli")
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			port := start(t, mode)
			out, err := exec.Command(bench, "-h", "127.0.0.1", "-p", port, "-t", "ping,set,get",
				"-P", "16", "-c", "20", "-n", "20000", "-q", "--csv").CombinedOutput()
			if err != nil {
				t.Fatalf("redis-benchmark: %v\n%s", err, out)
			}
			for _, test := range []string{"PING_INLINE", "PING_MBULK", "SET", "GET"} {
				if !strings.Contains(string(out), `"`+test+`","`) {
					t.Errorf("no %s result in:\n%s", test, out)
				}
			}
			if got, _ := exec.Command(cli, "-h", "127.0.0.1", "-p", port, "GET", "key:__rand_int__").Output(); len(got) != len("xxx\n") {
				t.Errorf("the benchmark's key = %q, want its 3-byte value", got)
			}
			t.Logf("%s mode:\n%s", mode, out)
		})
	}
}
