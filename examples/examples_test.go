// Package examples holds the seed documentation's examples as programs;
// this test builds and runs them against each other.
package examples

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// build compiles the example in dir and returns the binary's path.
func build(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), dir)
	if out, err := exec.Command("go", "build", "-o", bin, "./"+dir).CombinedOutput(); err != nil {
		t.Fatalf("go build ./%s: %v\n%s", dir, err, out)
	}
	return bin
}

// startServer runs a server example on a free port and returns the
// address it printed.
func startServer(t *testing.T, dir string) string {
	t.Helper()
	cmd := exec.Command(build(t, dir), "-addr", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("%s printed %q, %v", dir, line, err)
	}
	return addr
}

func TestClientServerPairs(t *testing.T) {
	for _, pair := range []struct{ server, client string }{
		{server: "tcpserver", client: "tcpclient"},
		{server: "udpserver", client: "udpclient"},
	} {
		t.Run(pair.server, func(t *testing.T) {
			addr := startServer(t, pair.server)
			client := build(t, pair.client)
			for _, words := range [][]string{{"hello", "world", "with", "sockets"}, {"go", "is", "nice"}} {
				out, err := exec.Command(client, append([]string{"-addr", addr}, words...)...).CombinedOutput()
				sent := strings.Join(words, " ")
				want := "Sent:     " + sent + "\nReceived: " + strings.ToUpper(sent) + "\n"
				if err != nil || string(out) != want {
					t.Errorf("%s %s: %v\n%s\nwant:\n%s", pair.client, sent, err, out, want)
				}
			}
		})
	}
}

func TestThreaded(t *testing.T) {
	out, err := exec.Command(build(t, "threaded")).CombinedOutput()
	want := "Server loop running\n" +
		"Received: request 1: Hello World 1\n" +
		"Received: request 2: Hello World 2\n" +
		"Received: request 3: Hello World 3\n"
	if err != nil || string(out) != want {
		t.Fatalf("threaded: %v\n%s\nwant:\n%s", err, out, want)
	}
}
