//go:build !openbsd && !netbsd

// Command nbioecho is an echo server on nbio, as its README shows.
package main

import (
	"flag"
	"log"

	"github.com/lesismal/nbio"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "TCP address to listen on")
	flag.Parse()
	engine := nbio.NewEngine(nbio.Config{Network: "tcp", Addrs: []string{*addr}})
	engine.OnData(func(c *nbio.Conn, data []byte) { c.Write(data) })
	if err := engine.Start(); err != nil {
		log.Fatal(err)
	}
	select {}
}
