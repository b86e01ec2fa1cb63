package tlsconn_test

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"time"

	"github.com/socketserver-go/socketserver"
	"github.com/socketserver-go/socketserver/tlsconn"
)

// A server that speaks TLS: Wrap runs the handshake before the handler,
// which reads and writes plain text, and State tells it what was agreed.
func ExampleWrap() {
	cert, roots := exampleCertificate()
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
	srv := &socketserver.Server{
		Addr:     "127.0.0.1:0",
		WrapConn: tlsconn.Wrap(cfg),
		Handler: socketserver.HandlerFunc(func(r *socketserver.Request) error {
			line, err := r.Reader.ReadBytes('\n')
			if err != nil {
				return err
			}
			st := tlsconn.State(r)
			_, err = fmt.Fprintf(r.Writer, "%s over %s\n", bytes.ToUpper(bytes.TrimSpace(line)), tls.VersionName(st.Version))
			return err
		}),
	}
	addr, err := srv.Listen()
	if err != nil {
		log.Fatal(err)
	}
	go srv.ListenAndServe()
	defer srv.Close()

	c, err := tls.Dial("tcp", addr.String(), &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintln(c, "hello")
	reply, _ := io.ReadAll(c)
	fmt.Printf("%s", reply)
	// Output: HELLO over TLS 1.3
}

// A failed handshake reaches HandleError wrapped in ErrHandshake, so that
// a program can tell it from other errors: anyone can cause one, so it
// deserves a counter rather than an error in the log.
func ExampleErrHandshake() {
	cert, _ := exampleCertificate()
	failed := make(chan error, 1)
	srv := &socketserver.Server{
		Addr:     "127.0.0.1:0",
		WrapConn: tlsconn.Wrap(&tls.Config{Certificates: []tls.Certificate{cert}}),
		Handler:  socketserver.HandlerFunc(func(*socketserver.Request) error { return nil }),
		HandleError: func(_ net.Addr, err error) {
			if errors.Is(err, tlsconn.ErrHandshake) {
				failed <- err
			}
		},
	}
	addr, err := srv.Listen()
	if err != nil {
		log.Fatal(err)
	}
	go srv.ListenAndServe()
	defer srv.Close()

	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET / HTTP/1.0\r\n\r\n") // plain text to a TLS port
	bufio.NewReader(c).ReadByte()           // the server closes the connection
	fmt.Println(<-failed)
	// Output: tlsconn: TLS handshake failed: tls: first record does not look like a TLS handshake
}

// exampleCertificate makes a self-signed certificate for localhost, and a
// pool that trusts it: in a real server, LoadCertFiles reads one from
// files.
func exampleCertificate() (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		DNSNames:     []string{"localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true,

		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		log.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots
}
