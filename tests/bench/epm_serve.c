/*
 * epm_serve: the endpoint mapper of the gateway benchmark (not a test).
 *
 *   epm_serve -a ADDR [-b BASE_PORT] [-n POOL] [-r READY_FILE]
 *
 * Listens on ADDR:135 and on POOL ports from BASE_PORT (default 20000,
 * 16384 ports), all held open.  On 135 it answers a bind with a bind_ack
 * and every ept_map request with one EMSMDB tower (ADDR, or 0.0.0.0 for an
 * IPv6 ADDR) on the next port of the pool, so that consecutive answers
 * never repeat a port until the pool wraps; it closes the connection after
 * the answer.  Connections to the pool ports are accepted and closed.
 * One thread, epoll.  Writes "ready" to READY_FILE once listening; stops
 * on SIGTERM/SIGINT and prints its counters on stdout.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "epm_wire.h"

#define MAX_FDS 131072

enum kind { FREE, LISTEN_EPM, LISTEN_POOL, CONN };

struct conn {
	enum kind kind;
	size_t have;
	uint8_t in[WIRE_MAX_PDU];
};

static struct conn *conns;	/* by fd */
static volatile sig_atomic_t stopping;
static unsigned long answers, binds, pool_accepts, bad;

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

static int listen_on(int family, const void *addr, uint16_t port, int backlog)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len;
	int one = 1, fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		memcpy(&s4->sin_addr, addr, 4);
		len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, addr, 16);
		len = sizeof(*s6);
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int watch(int ep, int fd, enum kind kind)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	if (fd < 0 || fd >= MAX_FDS)
		return -1;
	conns[fd].kind = kind;
	conns[fd].have = 0;
	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void drop(int fd)
{
	conns[fd].kind = FREE;
	close(fd);
}

/* Answers every whole PDU received; false when the connection is done. */
static int serve_pdus(int fd, uint16_t *next_port, uint16_t base, unsigned pool,
		      const uint8_t ip[4])
{
	struct conn *c = &conns[fd];
	size_t len;

	while ((len = wire_pdu_len(c->in, c->have)) && len <= c->have) {
		uint32_t call_id;
		struct wire out;

		if (len < WIRE_HEADER_LEN || c->in[0] != 5) {
			bad++;
			return 0;
		}
		memcpy(&call_id, c->in + 12, 4);
		if (c->in[2] == WIRE_BIND) {
			wire_bind_ack(&out, call_id);
			binds++;
		} else if (c->in[2] == WIRE_REQUEST && len >= 24 &&
			   wire_get16(c->in + 22) == WIRE_OP_MAP) {
			wire_map_response(&out, call_id, *next_port, ip);
			*next_port = (uint16_t)(base + (*next_port - base + 1) % pool);
			answers++;
		} else {
			bad++;
			return 0;
		}
		if (write(fd, out.b, out.len) != (ssize_t)out.len)
			return 0;
		if (out.b[2] == WIRE_RESPONSE)
			return 0;	/* one answer per conversation, then FIN */
		memmove(c->in, c->in + len, c->have - len);
		c->have -= len;
	}
	return c->have < sizeof(c->in);
}

int main(int argc, char **argv)
{
	const char *addr_text = NULL, *ready = NULL;
	unsigned long base = 20000, pool = 16384;
	uint8_t addr[16], tower_ip[4] = { 0 };
	int family, opt, ep;
	struct rlimit nofile = { MAX_FDS, MAX_FDS };
	struct sigaction sa = { .sa_handler = on_stop };
	uint16_t next_port;

	while ((opt = getopt(argc, argv, "a:b:n:r:")) != -1) {
		switch (opt) {
		case 'a': addr_text = optarg; break;
		case 'b': base = strtoul(optarg, NULL, 10); break;
		case 'n': pool = strtoul(optarg, NULL, 10); break;
		case 'r': ready = optarg; break;
		default: goto usage;
		}
	}
	if (!addr_text || pool == 0 || base < 1024 || base + pool > 65536)
		goto usage;
	family = strchr(addr_text, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, addr_text, addr) != 1)
		goto usage;
	if (family == AF_INET)
		memcpy(tower_ip, addr, 4);
	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
		perror("epm_serve: setrlimit (pool may not fit)");
	conns = calloc(MAX_FDS, sizeof(*conns));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!conns || ep < 0)
		return 1;
	if (watch(ep, listen_on(family, addr, 135, 4096), LISTEN_EPM) < 0) {
		perror("epm_serve: port 135");
		return 1;
	}
	for (unsigned long p = base; p < base + pool; p++)
		if (watch(ep, listen_on(family, addr, (uint16_t)p, 256), LISTEN_POOL) < 0) {
			fprintf(stderr, "epm_serve: port %lu: %s\n", p, strerror(errno));
			return 1;
		}
	next_port = (uint16_t)base;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (ready) {
		FILE *f = fopen(ready, "w");

		if (f) {
			fprintf(f, "ready\n");
			fclose(f);
		}
	}
	while (!stopping) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, 200);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd, cfd;
			struct conn *c = &conns[fd];
			ssize_t got;

			switch (c->kind) {
			case LISTEN_EPM:
				while ((cfd = accept4(fd, NULL, NULL,
						      SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
					if (watch(ep, cfd, CONN) < 0)
						close(cfd);
				break;
			case LISTEN_POOL:
				while ((cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
					pool_accepts++;
					close(cfd);
				}
				break;
			case CONN:
				got = read(fd, c->in + c->have, sizeof(c->in) - c->have);
				if (got < 0 && errno == EAGAIN)
					break;
				if (got <= 0) {
					drop(fd);
					break;
				}
				c->have += (size_t)got;
				if (!serve_pdus(fd, &next_port, (uint16_t)base,
						(unsigned)pool, tower_ip))
					drop(fd);
				break;
			case FREE:
				break;
			}
		}
	}
	printf("answers=%lu binds=%lu pool_accepts=%lu bad=%lu\n", answers, binds,
	       pool_accepts, bad);
	return 0;
usage:
	fprintf(stderr, "usage: epm_serve -a ADDR [-b BASE_PORT] [-n POOL] [-r READY_FILE]\n");
	return 64;
}
