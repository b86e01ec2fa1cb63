// Package socketserver is a framework for network servers: what Python's
// socketserver module is to Python, in the shape of Go's net/http.
//
// A server is three independent choices, as in Python:
//
//   - the transport, Server.Network: "tcp", "tcp4", "tcp6", "udp", "udp4",
//     "udp6", "unix", "unixgram" or "unixpacket"; or a net.Listener or
//     net.PacketConn you already have, passed to Serve or ServePacket;
//   - the concurrency, Server.Mode: Sync (one request at a time),
//     Goroutine (one goroutine per request, the default), Pool (a fixed
//     set of workers and a bounded queue), Event (a few epoll event
//     loops for very many connections, with an EventHandler's callbacks
//     in place of the Handler; off Linux, a portable engine on the Go
//     runtime's netpoller), Fork (a process per request, as Python's
//     ForkingMixIn) or Prefork (long-lived worker processes);
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
// In Event mode a handler does not block on a connection: its OnData
// callback is given the bytes that arrived and returns how many it used,
// and what it writes is queued and sent by the loop. The hooks, Shutdown,
// Close and Stats work as in the other modes; EventConn.Go hands slow work
// to a bounded pool of goroutines.
//
// Python users: README.md maps each socketserver name to its counterpart
// here.
package socketserver
