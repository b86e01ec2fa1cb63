// Package socketserver is a framework for network servers: what Python's
// socketserver module is to Python, in the shape of Go's net/http.
//
// A server is three independent choices, as in Python:
//
//   - the transport, Server.Network: "tcp", "tcp4", "tcp6", "udp", "udp4",
//     "udp6", "unix", "unixgram" or "unixpacket"; or a net.Listener or
//     net.PacketConn you already have, passed to Serve or ServePacket;
//   - the concurrency, Server.Mode: Sync (one request at a time),
//     Goroutine (one goroutine per request, the default) or Pool (a fixed
//     set of workers and a bounded queue);
//   - the Handler, with hooks around it: VerifyRequest before a request is
//     served, HandleError for errors and recovered panics, ConnState,
//     HandleTimeout and ServiceActions.
//
// A request is a whole connection on a stream transport and one datagram
// on a datagram transport. The handler reads the request from r.Reader and
// writes the reply to r.Writer; the same handler therefore serves TCP,
// UDP and Unix sockets:
//
//	upper := socketserver.HandlerFunc(func(r *socketserver.Request) error {
//		line, err := r.Reader.ReadBytes('\n')
//		if err != nil && err != io.EOF {
//			return err
//		}
//		_, err = r.Writer.Write(bytes.ToUpper(line))
//		return err
//	})
//	srv := &socketserver.Server{Network: "udp", Addr: "127.0.0.1:9999", Handler: upper}
//	log.Fatal(srv.ListenAndServe())
//
// On a stream the reply is written as the handler writes (or buffered, with
// WriteBufferSize, and flushed when it returns) and the connection is
// closed when the handler returns. On a datagram transport the reply is
// sent as one datagram when the handler returns, if anything was written;
// r.SendTo sends more.
//
// The lifecycle is net/http's: ListenAndServe, Serve and ServePacket run
// until Shutdown (graceful: stop taking requests at once, wait for those
// accepted, force at the context's deadline) or Close (at once), and then
// return ErrServerClosed. Listen binds before serving, so that the bound
// address (port 0 becomes the kernel's port) is known; HandleRequest
// serves exactly one request, as Python's handle_request.
//
// Python users: README.md maps each socketserver name to its counterpart
// here.
package socketserver
