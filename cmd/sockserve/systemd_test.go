//go:build linux

package main

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/socketserver-go/socketserver/internal/servetest"
)

// activate runs sockserve under the real systemd-socket-activate, which
// binds the sockets and starts sockserve with them when the first client
// comes, as systemd does with a .socket unit.
func activate(t *testing.T, activateArgs []string, args ...string) *process {
	t.Helper()
	tool := servetest.Need(t, "systemd-socket-activate", "systemd")
	cmd := exec.Command(tool, append(append(activateArgs, binary), args...)...)
	p := &process{cmd: cmd, stderr: new(strings.Builder)}
	cmd.Stderr = p.stderr
	out := new(strings.Builder)
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", out, p.stderr)
		}
	})
	return p
}

// Stream sockets, a TCP one and a Unix one, passed by systemd, and served
// in every mode: in fork and prefork mode the process systemd started owns
// them, and its children or workers serve them.
func TestSystemdActivationStream(t *testing.T) {
	for _, mode := range []string{"goroutine", "fork", "prefork"} {
		t.Run(mode, func(t *testing.T) { systemdActivationStream(t, mode) })
	}
}

func systemdActivationStream(t *testing.T, mode string) {
	tcp := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	unixPath := filepath.Join(shortDir(t), "s")
	p := activate(t, []string{"-l", tcp, "-l", unixPath, "--fdname=web:local"},
		"-service", "pid", "-mode", mode, "-listen", "systemd:")
	servetest.WaitUntil(t, "systemd-socket-activate to listen", func() bool {
		c, err := net.Dial("tcp", tcp)
		if err == nil {
			c.Close() // a connection that says nothing: sockserve starts, serves it, goes on
		}
		return err == nil
	})
	server := p.cmd.Process.Pid
	for _, url := range []string{"tcp://" + tcp, "unix://" + unixPath} {
		pid, got, _ := strings.Cut(ask(t, url, "activated\n"), ": ")
		if got != "activated\n" {
			t.Errorf("%s: %q", url, got)
		}
		if n, _ := strconv.Atoi(pid); mode != "goroutine" && (n == server || !slices.Contains(childrenOf(t, server), n)) {
			t.Errorf("%s: served by %s, not a child of %d", url, pid, server)
		}
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
}

// A socket chosen by its name, and a datagram socket, in every mode.
func TestSystemdActivationNamedAndDatagram(t *testing.T) {
	for _, mode := range []string{"goroutine", "fork", "prefork"} {
		t.Run(mode, func(t *testing.T) { systemdActivationDatagram(t, mode) })
	}
}

func systemdActivationDatagram(t *testing.T, mode string) {
	udp := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p := activate(t, []string{"-d", "-l", udp, "--fdname=logs"},
		"-service", "upper", "-mode", mode, "-listen", "systemd://logs")
	servetest.WaitUntil(t, "systemd-socket-activate to bind", func() bool {
		pc, err := net.ListenPacket("udp", udp)
		if err == nil {
			pc.Close()
		}
		return err != nil // taken: it is bound
	})
	c, err := net.Dial("udp", udp)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	// The first datagram starts sockserve; resend until one is answered,
	// as a UDP client does.
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		c.Write([]byte("datagram\n"))
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, err := c.Read(buf); err == nil {
			got = string(buf[:n])
			break
		}
	}
	if got != "DATAGRAM\n" {
		t.Errorf("udp via systemd://logs: %q", got)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
}

// Without systemd's variables, a systemd: listener is a clear error.
func TestSystemdWithoutActivation(t *testing.T) {
	cmd := exec.Command(binary, "-service", "echo", "-listen", "systemd:")
	out, _ := cmd.CombinedOutput()
	if code := cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(string(out), "no sockets from systemd") {
		t.Errorf("exit %d: %s", code, out)
	}
}
