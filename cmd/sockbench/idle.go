package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"
)

// idleChildEnv marks a sockbench process started by idle mode to hold a
// share of the connections: network|address|first|count|timeout.
const idleChildEnv = "SOCKBENCH_IDLE_CHILD"

// runIdle opens -c connections, spread over -procs processes, holds them
// for -d (or until ctx is cancelled) and reports how many were held.
func runIdle(ctx context.Context, cfg *config, progress io.Writer) (*result, error) {
	start := time.Now()
	var o idleOutcome
	if cfg.procs == 1 {
		var conns []net.Conn
		conns, o = openIdle(cfg.network, cfg.address, 0, cfg.conns, cfg.timeout)
		defer closeAll(conns)
	} else {
		children, co, err := startIdleChildren(cfg)
		defer stopIdleChildren(children)
		if err != nil {
			return nil, err
		}
		o = co
	}
	fmt.Fprintf(progress, "sockbench: holding %d connections for %v\n", o.held, cfg.duration)
	sleepCtx(ctx, cfg.duration)
	r := newResult(cfg, time.Since(start))
	r.Held, r.Errors, r.FirstError = o.held, int64(o.failed), o.firstErr
	return r, nil
}

// idleOutcome counts the connections an idle client opened and failed to.
type idleOutcome struct {
	held, failed int
	firstErr     string
}

func (o *idleOutcome) add(p idleOutcome) {
	o.held += p.held
	o.failed += p.failed
	if o.firstErr == "" {
		o.firstErr = p.firstErr
	}
}

// openIdle opens count connections, numbered from first, and returns
// those that opened and the number that failed. To IPv4 loopback, source
// addresses rotate over 127.0.0.2–127.0.0.201, so that the ephemeral
// ports of one source address do not run out.
func openIdle(network, address string, first, count int, timeout time.Duration) ([]net.Conn, idleOutcome) {
	spread := spreadsSource(network, address)
	conns := make([]net.Conn, 0, count)
	var o idleOutcome
	for i := first; i < first+count; i++ {
		c, err := dialerFrom(spread, i, timeout).Dial(network, address)
		if err != nil {
			o.failed++
			if o.firstErr == "" {
				o.firstErr = err.Error()
			}
			continue
		}
		conns = append(conns, c)
	}
	o.held = len(conns)
	return conns, o
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// idleChild is the body of a child process of idle mode: open its share,
// say "ready HELD FAILED", hold until its standard input closes.
func idleChild() int {
	parts := strings.Split(os.Getenv(idleChildEnv), "|")
	if len(parts) != 5 {
		fmt.Fprintln(os.Stderr, "sockbench: bad", idleChildEnv)
		return 2
	}
	first, err1 := strconv.Atoi(parts[2])
	count, err2 := strconv.Atoi(parts[3])
	timeout, err3 := time.ParseDuration(parts[4])
	if err1 != nil || err2 != nil || err3 != nil {
		fmt.Fprintln(os.Stderr, "sockbench: bad", idleChildEnv)
		return 2
	}
	conns, o := openIdle(parts[0], parts[1], first, count, timeout)
	fmt.Printf("ready %d %d %q\n", o.held, o.failed, o.firstErr)
	io.Copy(io.Discard, os.Stdin)
	closeAll(conns)
	return 0
}

type idleChildProc struct {
	cmd   *exec.Cmd
	stdin io.Closer
}

// startIdleChildren starts -procs children, each holding its share, and
// waits until all are ready.
func startIdleChildren(cfg *config) ([]idleChildProc, idleOutcome, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, idleOutcome{}, err
	}
	var children []idleChildProc
	type ready struct {
		idleOutcome
		err error
	}
	readies := make(chan ready, cfg.procs)
	var wg sync.WaitGroup
	first := 0
	for p := range cfg.procs {
		count := cfg.conns / cfg.procs
		if p < cfg.conns%cfg.procs {
			count++
		}
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%d|%d|%s", idleChildEnv, cfg.network, cfg.address, first, count, cfg.timeout))
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			return children, idleOutcome{}, err
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return children, idleOutcome{}, err
		}
		if err := cmd.Start(); err != nil {
			return children, idleOutcome{}, err
		}
		children = append(children, idleChildProc{cmd: cmd, stdin: stdin})
		first += count
		wg.Go(func() {
			var r ready
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if _, serr := fmt.Sscanf(line, "ready %d %d %q", &r.held, &r.failed, &r.firstErr); err != nil || serr != nil {
				r.err = fmt.Errorf("idle child %d did not get ready: %q, %v", p, line, err)
			}
			readies <- r
		})
	}
	wg.Wait()
	close(readies)
	var o idleOutcome
	for r := range readies {
		if r.err != nil {
			return children, idleOutcome{}, r.err
		}
		o.add(r.idleOutcome)
	}
	return children, o, nil
}

// stopIdleChildren closes the children's standard input, on which they
// exit after closing their connections, and waits for them.
func stopIdleChildren(children []idleChildProc) {
	for _, c := range children {
		c.stdin.Close()
	}
	for _, c := range children {
		c.cmd.Wait()
	}
}
