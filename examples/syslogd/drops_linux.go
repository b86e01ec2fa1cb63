package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
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

// discardQueued reads and drops the datagrams queued in f's socket,
// without waiting, and returns how many there were.
func discardQueued(f *os.File) int64 {
	sc, err := f.SyscallConn()
	if err != nil {
		return 0
	}
	var n int64
	sc.Read(func(fd uintptr) bool {
		var b [1]byte
		for {
			_, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_DONTWAIT|unix.MSG_TRUNC)
			switch {
			case err == unix.EINTR:
				continue
			case err != nil:
				return true // EAGAIN: nothing left; never wait
			}
			n++
		}
	})
	return n
}
