// Command udpclient sends its arguments as one datagram to udpserver and
// prints the reply.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"strings"
	"time"
)

func main() {
	addr := flag.String("addr", "localhost:9999", "server address")
	flag.Parse()
	data := strings.Join(flag.Args(), " ")

	// UDP has no connection: Dial only fixes where datagrams go.
	conn, err := net.Dial("udp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "%s\n", data); err != nil {
		log.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second)) // a datagram may be lost
	buf := make([]byte, 1024)
	n, err := conn.Read(buf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("Sent:     %s\n", data)
	fmt.Printf("Received: %s\n", buf[:n])
}
