package main

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// version describes this build of sockserve: the module's version and,
// if it was built from a version control checkout, the revision.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "sockserve (no build information) " + runtime.Version()
	}
	var vcs []string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision", "vcs.time":
			vcs = append(vcs, s.Value)
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if modified {
		vcs = append(vcs, "modified")
	}
	line := "sockserve " + bi.Main.Version
	if len(vcs) > 0 {
		line += " (" + strings.Join(vcs, ", ") + ")"
	}
	return line + " " + bi.GoVersion
}
