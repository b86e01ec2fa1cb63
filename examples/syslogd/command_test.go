package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/socketserver-go/socketserver/internal/servetest"
)

// buildCommand builds syslogd and returns the binary's path.
func buildCommand(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "syslogd")
	if out, err := exec.Command("go", slices.Concat([]string{"build"}, servetest.BuildFlags(), []string{"-o", bin, "."})...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// A proc is syslogd running.
type proc struct {
	cmd    *exec.Cmd
	udp    string    // its UDP address
	stdout io.Reader // its records
	stderr strings.Builder
	rest   chan struct{} // closed once stderr is read to its end
}

// startCommand starts syslogd with args and returns it once it says it is
// listening.
func startCommand(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, append([]string{"-udp", "127.0.0.1:0", "-tcp", "127.0.0.1:0"}, args...)...), rest: make(chan struct{})}
	var err error
	if p.stdout, err = p.cmd.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	stderrPipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.wait()
		}
	})
	sc := bufio.NewScanner(stderrPipe)
	for p.udp == "" || !strings.Contains(p.stderr.String(), "tcp://") {
		if !sc.Scan() {
			t.Fatalf("syslogd ended before listening: %s", p.stderr.String())
		}
		line := sc.Text()
		p.stderr.WriteString(line + "\n")
		if a, ok := strings.CutPrefix(line, "listening on udp://"); ok {
			p.udp = a
		}
	}
	go func() {
		defer close(p.rest)
		for sc.Scan() {
			p.stderr.WriteString(sc.Text() + "\n")
		}
	}()
	return p
}

// wait reads what is left of the output, waits for the process to end,
// and returns how it ended and what it wrote on stderr.
func (p *proc) wait() (stderr string, err error) {
	io.Copy(io.Discard, p.stdout)
	<-p.rest
	err = p.cmd.Wait()
	return p.stderr.String(), err
}

// TestCommandOutput: syslogd's stdout carries records only, its messages
// go to stderr, and SIGTERM ends it with status 0 and its summary.
func TestCommandOutput(t *testing.T) {
	bin := buildCommand(t)
	p := startCommand(t, bin)
	host, port, _ := strings.Cut(p.udp, ":")
	logger(t, "--rfc5424", "-n", host, "-P", port, "-d", "-t", "cmd", "to stdout")
	lines := bufio.NewScanner(p.stdout)
	if !lines.Scan() {
		t.Fatal("no record on stdout")
	}
	all := []string{lines.Text()}
	p.cmd.Process.Signal(syscall.SIGTERM)
	for lines.Scan() {
		all = append(all, lines.Text())
	}
	stderr, err := p.wait()
	if err != nil {
		t.Fatalf("exit: %v; stderr:\n%s", err, stderr)
	}
	for _, line := range all {
		var rec record
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Received == "" {
			t.Errorf("stdout line %q is not a record: %v", line, err)
		}
	}
	if len(all) != 1 || !strings.Contains(all[0], `"message":"to stdout"`) {
		t.Errorf("stdout: %q", all)
	}
	if !strings.Contains(stderr, "syslogd: 1 messages written") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// TestCommandWriteErrors: with -out /dev/full, syslogd reports the write
// error at once and in its summary, and exits 1.
func TestCommandWriteErrors(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	bin := buildCommand(t)
	p := startCommand(t, bin, "-out", "/dev/full")
	host, port, _ := strings.Cut(p.udp, ":")
	for range 3 {
		logger(t, "--rfc5424", "-n", host, "-P", port, "-d", "-t", "cmd", "into /dev/full")
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	stderr, err := p.wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1; stderr:\n%s", err, stderr)
	}
	for _, want := range []string{"syslogd: writing records: write /dev/full: no space left on device",
		"syslogd: 0 messages written", "3 dropped", "3 lost to write errors"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
}
