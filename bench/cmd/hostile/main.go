// Command hostile puts an example application beside the real server it
// stands for, under the same load in the same run, and prints how each
// held: examples/syslogd beside rsyslog's imudp, on the same burst from
// logger. (examples/respserver meets redis-server under the same attacks
// in its tests: go test -run 'Amplification|PartialValues' -v
// ./examples/respserver.)
//
//	cd bench && go run ./cmd/hostile [-n 100000] [-rounds 3]
//
// Each burst starts the receivers afresh. Numbers are reported, never
// asserted. A receiver whose program is missing is left out, with a note.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	syslogBin := flag.String("syslogd", "", "syslogd binary (default: build examples/syslogd)")
	n := flag.Int("n", 100000, "messages in each burst")
	rounds := flag.Int("rounds", 3, "rounds of the burst, interleaved")
	flag.Parse()
	if *syslogBin == "" {
		bin, err := os.MkdirTemp("", "hostile")
		if err != nil {
			fail(err)
		}
		defer os.RemoveAll(bin)
		*syslogBin = filepath.Join(bin, "syslogd")
		if err := build("examples/syslogd", *syslogBin); err != nil {
			fail(err)
		}
	}
	fmt.Print(syslogReport(*syslogBin, *n, *rounds))
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "hostile: %v\n", err)
	os.Exit(1)
}

// build builds the package in dir of the repository (above the bench
// module) into out.
func build(dir, out string) error {
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return err
	}
	root := filepath.Dir(filepath.Dir(strings.TrimSpace(string(gomod))))
	cmd := exec.Command("go", "build", "-o", out, "./"+dir)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./%s: %v\n%s", dir, err, b)
	}
	return nil
}

// A proc is a server process.
type proc struct {
	cmd *exec.Cmd
}

// startProc starts args and waits, up to 10s, until ready succeeds.
func startProc(args []string, ready func() error) (*proc, error) {
	p := &proc{cmd: exec.Command(args[0], args[1:]...)}
	var stderr strings.Builder
	p.cmd.Stderr = &stderr
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		err := ready()
		if err == nil {
			return p, nil
		}
		if time.Now().After(deadline) {
			p.kill()
			return nil, fmt.Errorf("%s did not start: %v\n%s", args[0], err, stderr.String())
		}
	}
}

// stop ends the process with SIGTERM, or SIGKILL after 10s.
func (p *proc) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.kill()
	}
}

func (p *proc) kill() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// freeUDPPort returns a UDP port that was free on 127.0.0.1 a moment
// ago.
func freeUDPPort() (int, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer pc.Close()
	return pc.LocalAddr().(*net.UDPAddr).Port, nil
}

// need reports why a program is missing, or nil.
func need(program, debianPackage string) error {
	if _, err := exec.LookPath(program); err != nil {
		return errors.New(program + " is not installed (Debian's " + debianPackage + ")")
	}
	return nil
}

// logw is where progress goes.
var logw = os.Stderr
