package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/socketserver-go/socketserver/internal/cli"
)

// A program is what sockserve runs for each connection or datagram when
// it is given one instead of -service: the superserver.
type program struct {
	path string   // the file to execute, found once, at start
	argv []string // the program as given, and its arguments
}

// parseProgram takes the program and its arguments, which follow the
// flags (after "--", if one is there), and checks the flags given with
// it. Everything is checked here, before any socket is bound, so that a
// program that cannot run is one clear error, not a failure per
// connection.
func (cfg *config) parseProgram(fs *flag.FlagSet, args []string) error {
	rest := fs.Args()
	if len(rest) == 0 {
		if n := len(args); n > 0 && args[n-1] == "--" {
			return errors.New("no program after --")
		}
		return nil
	}
	if cfg.service != "" {
		return fmt.Errorf("-service and a program (%q) cannot be given together", rest[0])
	}
	if err := programsSupported(); err != nil {
		return err
	}
	path, err := findProgram(rest[0])
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range []string{"workers", "loops", "spares", "requests-per-child", "max-line"} {
		if set[name] {
			return fmt.Errorf("-%s does not apply to a program (-max-children bounds the programs running at once)", name)
		}
	}
	if !set["mode"] {
		cfg.mode = "pool"
	}
	if cfg.mode != "pool" && cfg.mode != "sync" {
		return fmt.Errorf("-mode %s does not go with a program, which runs in a process of its own for each connection or datagram, at most -max-children at once: use -mode pool (the default) or sync (one at a time)", cfg.mode)
	}
	cfg.program = &program{path: path, argv: rest}
	return nil
}

// findProgram finds the file of a program named as in a shell: a name
// with a slash is a path, any other is looked up in $PATH.
func findProgram(name string) (string, error) {
	path, err := exec.LookPath(name)
	switch {
	case errors.Is(err, exec.ErrNotFound):
		return "", fmt.Errorf("program %q not found in $PATH (%s)", name, cli.OneLine(errors.New(os.Getenv("PATH"))))
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("program %q does not exist", name)
	case errors.Is(err, syscall.EISDIR):
		return "", fmt.Errorf("program %q is a directory", name)
	case errors.Is(err, fs.ErrPermission):
		return "", fmt.Errorf("program %q is not an executable file", name)
	case err != nil:
		return "", fmt.Errorf("program %q: %w", name, cli.OneLine(err))
	}
	return filepath.Abs(path)
}

// String is the program's command line, for the log.
func (p *program) String() string { return strings.Join(p.argv, " ") }
