//go:build openbsd || netbsd

// Command nbioecho is an echo server on nbio, which does not build on
// this system (its kqueue poller needs EVFILT_USER).
package main

import (
	"fmt"
	"os"
	"runtime"
)

func main() {
	fmt.Fprintf(os.Stderr, "nbioecho: nbio does not build on %s\n", runtime.GOOS)
	os.Exit(1)
}
