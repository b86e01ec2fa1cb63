//go:build !unix

package main

import (
	"errors"
	"log/slog"

	"github.com/socketserver-go/socketserver"
)

// programsSupported says that programs are run on Unix systems only:
// they are given the client's socket as their standard input and output.
func programsSupported() error {
	return errors.New("running a program for each connection is supported on Unix systems only")
}

// A superserver cannot be made here (programsSupported).
type superserver struct{}

func newSuperserver(*program, int, bool, *slog.Logger) *superserver { return nil }

// Handle fails.
func (*superserver) Handle(*socketserver.Request) error { return programsSupported() }
func (*superserver) terminate()                         {}
func (*superserver) kill()                              {}
func (*superserver) count() int                         { return 0 }
func (*superserver) setStats(programStats)              {}
