// Command netecho is the baseline of the benchmark: the echo server a Go
// programmer writes with package net alone, a goroutine per connection.
package main

import (
	"flag"
	"log"
	"net"
)

func main() {
	network := flag.String("network", "tcp", "tcp or udp")
	addr := flag.String("addr", "127.0.0.1:9000", "address to listen on")
	flag.Parse()
	if *network == "udp" {
		pc, err := net.ListenPacket("udp", *addr)
		if err != nil {
			log.Fatal(err)
		}
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				log.Fatal(err)
			}
			pc.WriteTo(buf[:n], from)
		}
	}
	l, err := net.Listen(*network, *addr)
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(c)
	}
}

// serve echoes with a read/write loop and a 4 KiB buffer. io.Copy(c, c)
// would splice through a pipe pair on Linux and hold three descriptors
// per idle connection, so that 20,000 descriptors could not hold 10,000
// connections.
func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
