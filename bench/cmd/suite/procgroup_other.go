//go:build !unix

package main

import (
	"errors"
	"os"
	"os/exec"
)

// ownGroup fails: the suite stops a forking server with its children as
// a Unix process group, and measures through Linux's /proc.
func ownGroup(*exec.Cmd) error {
	return errors.New("the benchmark suite runs on Unix (and measures on Linux) only")
}

func killGroup(p *os.Process) { p.Kill() }
