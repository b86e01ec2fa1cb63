package main

import (
	"os"
	"strconv"
	"strings"
)

// watchedCounters are the kernel's TCP counters that show a load
// generator's artifact rather than a server's speed: a full accept queue
// (ListenOverflows, ListenDrops), SYNs sent again (TCPSynRetrans, after
// 1s), ports recycled out of TIME_WAIT (TWRecycled, when the client runs
// out of them) and a full TIME_WAIT table (TCPTimeWaitOverflow). They
// count for the whole machine, other programs included.
var watchedCounters = []string{"ListenOverflows", "ListenDrops", "TCPSynRetrans", "TWRecycled", "TCPTimeWaitOverflow"}

// tcpCounters reads the watched counters from /proc/net/netstat, whose
// lines come in pairs: "TcpExt: Name …" then "TcpExt: value …".
func tcpCounters() map[string]int64 {
	data, err := os.ReadFile("/proc/net/netstat")
	if err != nil {
		return nil
	}
	lines := strings.Split(string(data), "\n")
	out := map[string]int64{}
	for i := 0; i+1 < len(lines); i += 2 {
		names, values := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(names) != len(values) || len(names) == 0 || names[0] != "TcpExt:" {
			continue
		}
		for j, name := range names[1:] {
			for _, w := range watchedCounters {
				if name == w {
					out[name], _ = strconv.ParseInt(values[j+1], 10, 64)
				}
			}
		}
	}
	return out
}

// counterDelta is after-before of each watched counter that moved.
func counterDelta(before, after map[string]int64) map[string]int64 {
	d := map[string]int64{}
	for _, w := range watchedCounters {
		if v := after[w] - before[w]; v != 0 {
			d[w] = v
		}
	}
	return d
}

// counterNote lists counters that moved, "TWRecycled 14,000, …", or "".
func counterNote(d map[string]int64) string {
	var parts []string
	for _, w := range watchedCounters {
		if v := d[w]; v != 0 {
			n := strconv.FormatInt(v, 10)
			if v >= 1000 || v <= -1000 {
				n = num(float64(v)) // thousands grouped
			}
			parts = append(parts, w+" "+n)
		}
	}
	return strings.Join(parts, ", ")
}
