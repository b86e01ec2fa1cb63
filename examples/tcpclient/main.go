// Command tcpclient sends its arguments as one line to tcpserver and
// prints the reply.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
)

func main() {
	addr := flag.String("addr", "localhost:9999", "server address")
	flag.Parse()
	data := strings.Join(flag.Args(), " ")

	conn, err := net.Dial("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "%s\n", data); err != nil {
		log.Fatal(err)
	}
	received, err := io.ReadAll(conn) // the server closes after its reply
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Sent:     %s\n", data)
	fmt.Printf("Received: %s\n", received)
}
