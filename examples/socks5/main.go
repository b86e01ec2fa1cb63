// Command socks5 is a SOCKS5 proxy (RFC 1928 CONNECT with IPv4, IPv6 and
// domain-name destinations; RFC 1929 username/password authentication,
// optional) built on package socketserver. It relays both ways with
// half-close, dials with a timeout, ends idle and half-closed relays, and
// applies destination rules: by default it refuses this host's addresses
// (loopback, 0.0.0.0, ::), private, link-local and other special ranges,
// and names that resolve to them, unless -allow names them.
//
//	socks5 [-addr 127.0.0.1:1080] [-user NAME:PASSWORD ...] [-allow CIDR ...] [-deny CIDR ...]
//	       [-idle-timeout 10m] [-half-close-timeout 30s]
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
			pfx, err := parsePrefix(s)
			if err == nil {
				*list = append(*list, pfx)
			}
			return err
		}
	}
	flag.Func("allow", "destination CIDR or address to allow, including this host's and private ranges, which are refused otherwise (repeatable)", prefixes(&p.rules.allow))
	flag.Func("deny", "destination CIDR or address to refuse (repeatable; the most specific of -allow and -deny wins, deny on a tie)", prefixes(&p.rules.deny))
	flag.DurationVar(&p.dialTimeout, "dial-timeout", 10*time.Second, "how long to resolve and connect to a destination")
	flag.DurationVar(&p.handshakeTimeout, "handshake-timeout", 10*time.Second, "how long a client has for its greeting and request")
	flag.DurationVar(&p.idleTimeout, "idle-timeout", 10*time.Minute, "end a relay when no data has moved either way for this long (0: never)")
	flag.DurationVar(&p.halfCloseTimeout, "half-close-timeout", 30*time.Second, "end a relay when, after one side has ended, the other has been silent this long (0: never)")
	maxConns := flag.Int("max-conns", 4000, "clients served at once (each takes 2 descriptors); others are refused")
	flag.Parse()

	srv := &socketserver.Server{Addr: *addr, Handler: p, MaxConns: *maxConns}
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
