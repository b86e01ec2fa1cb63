// Command hostile attacks the example applications and the real servers
// they stand beside, with the same attacks in the same run, and prints
// what each held: examples/respserver beside redis-server, and
// examples/syslogd beside rsyslog's imudp on a burst from logger.
//
//	cd bench && go run ./cmd/hostile [-only resp,syslog] [-n 100000] [-rounds 3]
//
// Each attack starts the server afresh and reads its memory from /proc.
// Numbers are reported, never asserted. A server whose program is missing
// is left out, with a note.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	only := flag.String("only", "resp,syslog", "comma-separated: resp (respserver and redis-server), syslog (syslogd and rsyslog)")
	respBin := flag.String("respserver", "", "respserver binary to attack (default: build examples/respserver)")
	syslogBin := flag.String("syslogd", "", "syslogd binary (default: build examples/syslogd)")
	n := flag.Int("n", 100000, "messages in each syslog burst")
	rounds := flag.Int("rounds", 3, "rounds of the syslog burst, interleaved")
	flag.Parse()
	parts := strings.Split(*only, ",")
	bin, err := os.MkdirTemp("", "hostile")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(bin)
	if slices.Contains(parts, "resp") {
		if *respBin == "" {
			*respBin = filepath.Join(bin, "respserver")
			if err := build("examples/respserver", *respBin); err != nil {
				fail(err)
			}
		}
		fmt.Print(respReport(*respBin))
	}
	if slices.Contains(parts, "syslog") {
		if *syslogBin == "" {
			*syslogBin = filepath.Join(bin, "syslogd")
			if err := build("examples/syslogd", *syslogBin); err != nil {
				fail(err)
			}
		}
		fmt.Print(syslogReport(*syslogBin, *n, *rounds))
	}
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

// memory returns the process's resident memory now and at its peak.
func (p *proc) memory() (rss, peak int64) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kib, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			rss = kib << 10
		case "VmHWM:":
			peak = kib << 10
		}
	}
	return rss, peak
}

// freePort returns a port that was free on 127.0.0.1 a moment ago.
func freePort(network string) (int, error) {
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer pc.Close()
		return pc.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func mib(n int64) string { return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20)) }

// need reports why a program is missing, or nil.
func need(program, debianPackage string) error {
	if _, err := exec.LookPath(program); err != nil {
		return errors.New(program + " is not installed (Debian's " + debianPackage + ")")
	}
	return nil
}

// logw is where progress goes.
var logw = os.Stderr
