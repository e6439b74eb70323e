/*
 * flood: one client's many endpoint-mapper conversations, for the tests
 * of the flow caps.  Raw sockets, so nothing waits for an answer:
 *
 *   flood syn SRC DST PORT COUNT [RATE]   COUNT SYNs (half-open connections)
 *   flood udp SRC DST PORT COUNT [RATE]   COUNT connectionless DCE/RPC
 *                                          requests (ept_map, header only)
 *
 * each from its own source port (distinct up to 64,512), RATE packets a
 * second (default 2000; 0: as fast as the socket takes them).  SRC and
 * DST are both IPv4 or both IPv6.  The SYN-ACKs reach the client's
 * kernel, which knows no such connection and answers RST: a test that
 * wants the connections to stay half-open drops those RSTs in the
 * client's namespace.  Prints one line, "flood: sent N ...", and exits
 * 0 when all were sent, 1 otherwise, 64 for bad arguments.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 64
#define TCP_SYN_LEN 24		/* header and an MSS option */
#define CL_HDR_LEN 80		/* connectionless DCE/RPC header */
#define FIRST_PORT 1024
#define N_PORTS (65536 - FIRST_PORT)
/* odd and prime to 3 and 7: i * PORT_STRIDE visits every port of N_PORTS */
#define PORT_STRIDE 40499u

struct target {
	int family;
	uint8_t src[16], dst[16];
	size_t alen;
	uint16_t port;
};

static void usage(void)
{
	fprintf(stderr, "usage: flood syn|udp SRC DST PORT COUNT [RATE]\n");
	exit(EXIT_USAGE);
}

static unsigned long number(const char *text, unsigned long max)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(text, &end, 10);
	if (*text == '\0' || *end != '\0' || errno || n > max)
		usage();
	return n;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* The Internet checksum of the pseudo-header and the segment. */
static uint16_t checksum(const struct target *t, uint8_t proto,
			 const uint8_t *seg, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < t->alen; i += 2)
		sum += (uint32_t)(t->src[i] << 8 | t->src[i + 1]) +
		       (uint32_t)(t->dst[i] << 8 | t->dst[i + 1]);
	sum += proto + (uint32_t)len;
	for (size_t i = 0; i < len; i += 2)
		sum += (uint32_t)(seg[i] << 8 | (i + 1 < len ? seg[i + 1] : 0));
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static size_t syn_segment(uint8_t *seg, uint16_t sport, uint16_t dport,
			  uint32_t isn)
{
	memset(seg, 0, TCP_SYN_LEN);
	put16(seg, sport);
	put16(seg + 2, dport);
	put32(seg + 4, isn);
	seg[12] = (TCP_SYN_LEN / 4) << 4;
	seg[13] = 0x02;				/* SYN */
	put16(seg + 14, 64240);			/* window */
	seg[20] = 2, seg[21] = 4;		/* MSS 1460 */
	put16(seg + 22, 1460);
	return TCP_SYN_LEN;
}

/* A UDP datagram carrying an ept_map request's header, activity random. */
static size_t udp_request(uint8_t *seg, uint16_t sport, uint16_t dport,
			  const uint8_t activity[16])
{
	/* e1af8308-5d1f-11c9-91a4-08002b14a0fa, little-endian fields */
	static const uint8_t epm[16] = { 0x08, 0x83, 0xaf, 0xe1, 0x1f, 0x5d,
					 0xc9, 0x11, 0x91, 0xa4, 0x08, 0x00,
					 0x2b, 0x14, 0xa0, 0xfa };
	uint8_t *h = seg + 8;

	memset(seg, 0, 8 + CL_HDR_LEN);
	put16(seg, sport);
	put16(seg + 2, dport);
	put16(seg + 4, 8 + CL_HDR_LEN);
	h[0] = 4;				/* rpc_vers */
	h[1] = 0;				/* request */
	h[2] = 0x20;				/* idempotent */
	h[4] = 0x10;				/* little-endian, ASCII, IEEE */
	memcpy(h + 24, epm, 16);
	memcpy(h + 40, activity, 16);
	h[60] = 3;				/* interface version 3 */
	h[68] = 3;				/* opnum: ept_map */
	h[72] = 0xff, h[73] = 0xff;		/* interface hint: none */
	h[74] = 0xff, h[75] = 0xff;		/* activity hint: none */
	return 8 + CL_HDR_LEN;
}

static bool parse_addrs(const char *src, const char *dst, struct target *t)
{
	t->family = strchr(src, ':') ? AF_INET6 : AF_INET;
	t->alen = t->family == AF_INET ? 4 : 16;
	return inet_pton(t->family, src, t->src) == 1 &&
	       inet_pton(t->family, dst, t->dst) == 1;
}

static int open_raw(const struct target *t, int proto)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int fd = socket(t->family, SOCK_RAW, proto);

	if (fd < 0)
		return -1;
	if (t->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, t->src, 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, t->src, 16);
		sl = sizeof(*sin6);
	}
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void destination(const struct target *t, struct sockaddr_storage *ss,
			socklen_t *sl)
{
	memset(ss, 0, sizeof(*ss));
	if (t->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, t->dst, 4);
		*sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, t->dst, 16);
		*sl = sizeof(*sin6);
	}
}

static double seconds_since(const struct timespec *start)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) +
	       (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

/* Sleeps until packet i is due at rate packets a second. */
static void pace(const struct timespec *start, unsigned long i,
		 unsigned long rate)
{
	struct timespec due = *start;
	uint64_t ns;

	if (!rate)
		return;
	ns = (uint64_t)i * 1000000000ull / rate;
	due.tv_sec += (time_t)(ns / 1000000000ull);
	due.tv_nsec += (long)(ns % 1000000000ull);
	if (due.tv_nsec >= 1000000000L) {
		due.tv_sec++;
		due.tv_nsec -= 1000000000L;
	}
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL) == EINTR)
		;
}

int main(int argc, char **argv)
{
	struct target t;
	struct sockaddr_storage to;
	socklen_t tolen;
	struct timespec start;
	uint8_t seg[8 + CL_HDR_LEN], seed[4], activity[16];
	unsigned long count, rate = 2000, sent = 0;
	bool syn;
	int fd;

	if (argc < 6 || argc > 7)
		usage();
	if (strcmp(argv[1], "syn") == 0)
		syn = true;
	else if (strcmp(argv[1], "udp") == 0)
		syn = false;
	else
		usage();
	if (!parse_addrs(argv[2], argv[3], &t))
		usage();
	t.port = (uint16_t)number(argv[4], 65535);
	count = number(argv[5], N_PORTS);
	if (argc == 7)
		rate = number(argv[6], 10000000);
	fd = open_raw(&t, syn ? IPPROTO_TCP : IPPROTO_UDP);
	if (fd < 0) {
		perror("flood: raw socket");
		return 1;
	}
	destination(&t, &to, &tolen);
	if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed) ||
	    getrandom(activity, sizeof(activity), 0) != (ssize_t)sizeof(activity)) {
		perror("flood: getrandom");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (unsigned long i = 0; i < count; i++) {
		uint32_t first = (uint32_t)(seed[0] << 8 | seed[1]);
		uint16_t sport = (uint16_t)(FIRST_PORT +
					    (first + i * PORT_STRIDE) % N_PORTS);
		size_t len;
		uint16_t sum;

		if (syn) {
			uint32_t isn = (uint32_t)seed[2] << 24 ^ (uint32_t)i * 2654435761u;

			len = syn_segment(seg, sport, t.port, isn);
			sum = checksum(&t, IPPROTO_TCP, seg, len);
			put16(seg + 16, sum);
		} else {
			/* one activity, one conversation: each its own */
			memcpy(activity, &i, sizeof(i));
			len = udp_request(seg, sport, t.port, activity);
			sum = checksum(&t, IPPROTO_UDP, seg, len);
			put16(seg + 6, sum ? sum : 0xffff);
		}
		pace(&start, i, rate);
		if (sendto(fd, seg, len, 0, (struct sockaddr *)&to, tolen) ==
		    (ssize_t)len)
			sent++;
	}
	printf("flood: sent %lu of %lu %s to %s port %u in %.2f s\n", sent,
	       count, syn ? "SYNs" : "UDP requests", argv[3], t.port,
	       seconds_since(&start));
	close(fd);
	return sent == count ? 0 : 1;
}
