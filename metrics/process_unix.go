//go:build unix

package metrics

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// readProcess reads the process's CPU time and descriptor limit from the
// system, and on Linux its resident memory and open descriptors from /proc.
func readProcess() process {
	p := process{cpu: -1, resident: -1, openFDs: -1, maxFDs: -1}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		p.cpu = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		p.maxFDs = float64(lim.Cur)
	}
	if b, err := os.ReadFile("/proc/self/statm"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			if pages, err := strconv.ParseUint(f[1], 10, 64); err == nil {
				p.resident = float64(pages) * float64(os.Getpagesize())
			}
		}
	}
	if d, err := os.Open("/proc/self/fd"); err == nil {
		names, err := d.Readdirnames(-1)
		d.Close()
		if err == nil {
			p.openFDs = float64(len(names) - 1) // less the one reading
		}
	}
	return p
}
