package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// udpDrops returns the datagrams the kernel dropped for want of buffer
// space on the UDP sockets bound to port, from /proc/net/udp and udp6.
func udpDrops(port int) (int64, error) {
	var total int64
	found := false
	for _, file := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		f, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // the header
		suffix := fmt.Sprintf(":%04X", port)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 13 || !strings.HasSuffix(fields[1], suffix) {
				continue
			}
			n, err := strconv.ParseInt(fields[len(fields)-1], 10, 64)
			if err == nil {
				total += n
				found = true
			}
		}
		f.Close()
	}
	if !found {
		return 0, fmt.Errorf("no UDP socket on port %d in /proc/net", port)
	}
	return total, nil
}
