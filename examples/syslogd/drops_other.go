//go:build !linux

package main

import (
	"errors"
	"os"
)

// udpDrops is not known on this platform.
func udpDrops(port int) (int64, error) {
	return 0, errors.New("UDP drop counts are read from Linux's /proc/net/udp")
}

// discardQueued is not known on this platform: it counts nothing.
func discardQueued(*os.File) int64 { return 0 }
