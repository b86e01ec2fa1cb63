package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// syslogSection is examples/syslogd beside rsyslog's imudp on the same
// burst from logger: cmd/hostile's comparison, run with the suite's
// rounds, its report taken as the section. Full runs only.
func syslogSection() *section {
	return &section{key: "syslog", title: "syslogd beside rsyslog",
		needs: []string{"logger"},
		// The receivers cmd/hostile starts itself (it says so of one
		// that is missing): listed for -servers and the notes.
		servers: []server{{name: "socketserver/syslogd"}, {name: "rsyslog", needs: []string{"rsyslogd"}}},
		run: func(b *bench, _ []server) (string, map[string]string, error) {
			cmd := exec.Command(filepath.Join(b.bin, "hostile"), "-rounds", strconv.Itoa(b.rounds))
			cmd.Stderr = os.Stderr // its rounds, as they come
			out, err := cmd.Output()
			if err != nil {
				return "", nil, err
			}
			md := string(out)
			if !strings.HasSuffix(md, "\n\n") {
				md += "\n"
			}
			return md + "Command: `cd bench && go run ./cmd/hostile -rounds " + strconv.Itoa(b.rounds) + "`, which the full run of the suite runs as this section.\n\n", nil, nil
		}}
}
