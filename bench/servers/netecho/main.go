// Command netecho is the baseline of the benchmark: the echo server a Go
// programmer writes with package net alone, a goroutine per connection.
package main

import (
	"flag"
	"io"
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
		go func() {
			io.Copy(c, c)
			c.Close()
		}()
	}
}
