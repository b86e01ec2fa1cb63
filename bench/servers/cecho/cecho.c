#define _GNU_SOURCE
/* cecho: the floor of the benchmark. A minimal single-threaded epoll echo
 * server over TCP (level-triggered, one read and one write per event), or
 * a recvfrom/sendto loop over UDP: the kernel's own cost per round trip.
 *
 *   cecho tcp|udp PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static void die(const char *what) { perror(what); exit(1); }

static int bound(int type, int port) {
	int fd = socket(AF_INET, type, 0), one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (fd < 0) die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("bind");
	return fd;
}

static void udp(int port) {
	static char buf[65536];
	int fd = bound(SOCK_DGRAM, port);
	for (;;) {
		struct sockaddr_storage from;
		socklen_t len = sizeof from;
		ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
		if (n >= 0) sendto(fd, buf, n, 0, (struct sockaddr *)&from, len);
	}
}

static void tcp(int port) {
	static char buf[65536];
	struct epoll_event ev, events[512];
	int lfd = bound(SOCK_STREAM, port), one = 1;
	int ep = epoll_create1(0);
	if (listen(lfd, 4096) < 0) die("listen");
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		int n = epoll_wait(ep, events, 512, -1);
		for (int i = 0; i < n; i++) {
			int fd = events[i].data.fd;
			if (fd == lfd) {
				int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
				if (c < 0) continue;
				setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
				ev.events = EPOLLIN;
				ev.data.fd = c;
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				continue;
			}
			ssize_t r = read(fd, buf, sizeof buf);
			if (r <= 0) {
				if (r < 0 && errno == EAGAIN) continue;
				close(fd);
				continue;
			}
			/* Echo all of it; a full socket buffer blocks briefly (poll). */
			for (ssize_t off = 0; off < r;) {
				ssize_t w = write(fd, buf + off, r - off);
				if (w > 0) { off += w; continue; }
				if (w < 0 && errno == EAGAIN) {
					struct epoll_event out = {.events = EPOLLOUT, .data.fd = fd};
					int tmp = epoll_create1(0);
					epoll_ctl(tmp, EPOLL_CTL_ADD, fd, &out);
					epoll_wait(tmp, &out, 1, 1000);
					close(tmp);
					continue;
				}
				break;
			}
		}
	}
}

int main(int argc, char **argv) {
	if (argc != 3) { fprintf(stderr, "usage: cecho tcp|udp PORT\n"); return 2; }
	if (strcmp(argv[1], "udp") == 0) udp(atoi(argv[2]));
	else tcp(atoi(argv[2]));
	return 0;
}
