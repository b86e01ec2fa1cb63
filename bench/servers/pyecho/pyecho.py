"""Echo servers on CPython's own socketserver, as its documentation writes
them: the benchmark's Python peers.

    python3 pyecho.py threading|forking|udp PORT
"""
import socketserver
import sys


class StreamEcho(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            data = self.request.recv(65536)
            if not data:
                return
            self.request.sendall(data)


class DatagramEcho(socketserver.BaseRequestHandler):
    def handle(self):
        data, sock = self.request
        sock.sendto(data, self.client_address)


class Threading(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True
    request_queue_size = 4096


class Forking(socketserver.ForkingTCPServer):
    allow_reuse_address = True
    request_queue_size = 4096


class UDP(socketserver.ThreadingUDPServer):
    allow_reuse_address = True
    daemon_threads = True
    max_packet_size = 65536


def main():
    kind, port = sys.argv[1], int(sys.argv[2])
    server, handler = {"threading": (Threading, StreamEcho), "forking": (Forking, StreamEcho),
                       "udp": (UDP, DatagramEcho)}[kind]
    with server(("127.0.0.1", port), handler) as srv:
        srv.serve_forever()


if __name__ == "__main__":
    main()
