package main

import (
	"fmt"
	"os/exec"
	"strings"
)

// debianPackages names the Debian package of each program a section or a
// contender needs, for the note that says what to install.
var debianPackages = map[string]string{
	"gcc":             "gcc",
	"python3":         "python3",
	"redis-benchmark": "redis-tools",
	"redis-server":    "redis-server",
	"taskset":         "util-linux",
	"tcpserver":       "ucspi-tcp",
	"socat":           "socat",
	"ncat":            "ncat",
	"rsyslogd":        "rsyslog",
	"logger":          "bsdutils",
}

// missing returns why the programs are not all there, or "" if they are:
// "redis-benchmark (Debian's redis-tools) is not installed".
func missing(programs []string) string {
	var absent []string
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			if pkg := debianPackages[p]; pkg != "" {
				p = fmt.Sprintf("%s (Debian's %s)", p, pkg)
			}
			absent = append(absent, p)
		}
	}
	switch len(absent) {
	case 0:
		return ""
	case 1:
		return absent[0] + " is not installed"
	}
	return strings.Join(absent, " and ") + " are not installed"
}
