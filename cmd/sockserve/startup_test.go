package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// A configuration that cannot be served fails before anything is
// announced: no "listening on" line for the listeners that were fine.
func TestNoFalseReadiness(t *testing.T) {
	run := func(extra []*os.File, args ...string) (code int, stdout, stderr string) {
		cmd := exec.Command(binary, args...)
		cmd.ExtraFiles = extra
		var out, errs strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errs
		cmd.Run()
		return cmd.ProcessState.ExitCode(), out.String(), errs.String()
	}
	dir := shortDir(t)
	code, stdout, stderr := run(nil, "-service", "echo", "-mode", "event",
		"-listen", "tcp://127.0.0.1:0", "-listen", "unixpacket://"+filepath.Join(dir, "p"))
	if code != 2 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "-mode event serves tcp, udp, unix and unixgram sockets, not unixpacket") {
		t.Errorf("event mode with a unixpacket listener: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// The same for a socket inherited at a descriptor, whose kind is known
	// only once sockserve has it.
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Net: "unixpacket", Name: filepath.Join(dir, "inherited")})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	code, stdout, stderr = run([]*os.File{f}, "-service", "echo", "-mode", "event",
		"-listen", "tcp://127.0.0.1:0", "-listen", "fd://3")
	if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "fd://3: -mode event serves") {
		t.Errorf("event mode with an inherited unixpacket socket: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// Durations are logged as Go writes them, in text and in JSON alike; the
// effective mode is logged by name, the default included.
func TestLogFormats(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		wants []string
	}{
		{args: []string{"-grace", "1500ms"}, wants: []string{"grace=1.5s", "mode=goroutine"}},
		{args: []string{"-grace", "1500ms", "-log-format", "json"}, wants: []string{`"grace":"1.5s"`, `"mode":"goroutine"`}},
		{args: []string{"-mode", "pool", "-workers", "3", "-log-format", "json"}, wants: []string{`"grace":"10s"`, `"mode":"pool(3)"`}},
	} {
		p := startServe(t, 1, append([]string{"-service", "echo", "-listen", "tcp://127.0.0.1:0"}, tc.args...)...)
		if code := p.stop(t); code != 0 {
			t.Fatalf("exit %d", code)
		}
		for _, want := range tc.wants {
			if !strings.Contains(p.stderr.String(), want) {
				t.Errorf("%v: the log has no %s:\n%s", tc.args, want, p.stderr)
			}
		}
	}
}

// -version prints the build information Go recorded in the binary: the
// module's version, and the revision it was built from.
func TestVersion(t *testing.T) {
	// A build that records the revision, as a release build does (the
	// tests' binary may not: GOFLAGS=-buildvcs=false, or a git worktree).
	bin := filepath.Join(t.TempDir(), "sockserve")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "GOFLAGS=-buildvcs=auto")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	info, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]string{}
	for line := range strings.Lines(string(info)) {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && f[0] == "mod":
			recorded["version"] = f[2]
		case len(f) == 2 && f[0] == "build":
			if k, v, ok := strings.Cut(f[1], "="); ok {
				recorded[k] = v
			}
		}
	}
	out, err := exec.Command(bin, "-version").Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.TrimSuffix(string(out), "\n")
	wants := []string{"sockserve " + recorded["version"], " go1."}
	if rev := recorded["vcs.revision"]; rev != "" {
		wants = append(wants, "("+rev+", "+recorded["vcs.time"])
	} else {
		t.Logf("this build records no revision (not a git clone?): %q", got)
	}
	for _, want := range wants {
		if !strings.Contains(got, want) || strings.Contains(got, "\n") {
			t.Errorf("-version printed %q, want one line with %q (go version -m: %v)", got, want, recorded)
		}
	}
}
