// Command socks5 is a SOCKS5 proxy (RFC 1928 CONNECT with IPv4, IPv6 and
// domain-name destinations; RFC 1929 username/password authentication,
// optional) built on package socketserver. It relays both ways with
// half-close, dials with a timeout, and applies destination rules.
//
//	socks5 [-addr 127.0.0.1:1080] [-user NAME:PASSWORD ...] [-allow CIDR ...] [-deny CIDR ...]
//
// It listens on loopback unless told otherwise, prints "listening on
// ADDR" once ready, and shuts down gracefully on SIGINT or SIGTERM.
// Try: curl --socks5-hostname 127.0.0.1:1080 http://example.com/
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/socketserver-go/socketserver"
)

func main() {
	p := &proxy{resolver: net.DefaultResolver}
	addr := flag.String("addr", "127.0.0.1:1080", "TCP address to listen on")
	flag.Func("user", "NAME:PASSWORD a client may authenticate with (repeatable; none: no authentication)", func(s string) error {
		name, pass, ok := strings.Cut(s, ":")
		if !ok || name == "" || pass == "" || len(name) > 255 || len(pass) > 255 {
			return errors.New("want NAME:PASSWORD, each 1 to 255 bytes")
		}
		if p.users == nil {
			p.users = map[string]string{}
		}
		p.users[name] = pass
		return nil
	})
	prefixes := func(list *[]netip.Prefix) func(string) error {
		return func(s string) error {
			pfx, err := netip.ParsePrefix(s)
			if err != nil {
				return fmt.Errorf("not a CIDR prefix: %q", s)
			}
			*list = append(*list, pfx.Masked())
			return nil
		}
	}
	flag.Func("allow", "destination CIDR to allow (repeatable; none: every destination not denied)", prefixes(&p.allow))
	flag.Func("deny", "destination CIDR to deny (repeatable; wins over -allow)", prefixes(&p.deny))
	flag.DurationVar(&p.dialTimeout, "dial-timeout", 10*time.Second, "how long to resolve and connect to a destination")
	flag.DurationVar(&p.handshakeTimeout, "handshake-timeout", 10*time.Second, "how long a client has for its greeting and request")
	idle := flag.Duration("idle-timeout", 0, "close a client connection idle this long (0: never)")
	maxConns := flag.Int("max-conns", 4000, "clients served at once (each takes 2 descriptors); others are refused")
	flag.Parse()

	srv := &socketserver.Server{Addr: *addr, Handler: p, IdleTimeout: *idle, MaxConns: *maxConns}
	bound, err := srv.Listen()
	if err != nil {
		log.Fatal(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	fmt.Printf("listening on %s\n", bound)
	if err := srv.ListenAndServe(); !errors.Is(err, socketserver.ErrServerClosed) {
		log.Fatal(err)
	}
}
