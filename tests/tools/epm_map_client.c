/*
 * epm_map_client: asks an endpoint mapper where an interface listens, as
 * Outlook does, fast enough to be run hundreds of times in a test (impacket
 * takes a third of a second just to start).  One lookup is: TCP connect to
 * SERVER:135 (from a chosen source address), DCE/RPC bind to the endpoint
 * mapper v3 in NDR, ept_map for the interface over ncacn_ip_tcp, the
 * answer's first TCP tower.  Prints one line per lookup,
 *
 *     SOURCE PORT             (answered)
 *     SOURCE PORT first-syn   (with -c: answered, and the connection to
 *                             PORT made it on its first SYN)
 *     SOURCE PORT error: WHAT (with -c: answered, the connection did not)
 *     SOURCE error: WHAT      (anything else)
 *
 * and exits 0 only when every lookup was answered with a TCP tower (and,
 * with -c, connected on its first SYN).
 *
 *   epm_map_client [-c] [-f SOURCE [-n COUNT]] [-i UUID[:MAJOR.MINOR]]
 *                  [-p PORT] [-t SECONDS] SERVER
 *
 *   -c         connect to the advertised port, from the same source, as
 *              Outlook does: did the first SYN get through (a pinhole in
 *              place when the answer arrived)?  No SYN retransmitted,
 *              by TCP_INFO, whatever the time it took.
 *   -f SOURCE  bind to SOURCE; with -n, to SOURCE, SOURCE+1, ... in turn
 *   -n COUNT   lookups, one per source address (default 1)
 *   -i UUID    the interface (default EMSMDB a4f1db00-ca47-1067-b31f-00dd010662da:0.81)
 *   -p PORT    the endpoint mapper's port (default 135)
 *   -t SECONDS connect and answer timeout (default 3)
 *
 * The encoding is little-endian NDR, as Windows clients send it; every
 * length in the answer is checked against what was read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define PTYPE_REQUEST 0
#define PTYPE_RESPONSE 2
#define PTYPE_FAULT 3
#define PTYPE_BIND 11
#define PTYPE_BIND_ACK 12
#define PFC_FIRST_LAST 0x03
#define OP_EPT_MAP 3
#define MAX_TOWERS 4
#define PDU_MAX 8192
#define FLOOR_RPC_CO 0x0b
#define FLOOR_TCP 0x07
#define FLOOR_IP 0x09
#define FLOOR_UUID 0x0d

struct syntax {
	uint8_t uuid[16];	/* wire order (NDR little-endian) */
	uint16_t major, minor;
};

struct buf {
	uint8_t data[PDU_MAX];
	size_t len;
};

static void put8(struct buf *b, uint8_t v)
{
	b->data[b->len++] = v;
}

static void put16(struct buf *b, uint16_t v)
{
	put8(b, (uint8_t)v);
	put8(b, (uint8_t)(v >> 8));
}

static void put32(struct buf *b, uint32_t v)
{
	put16(b, (uint16_t)v);
	put16(b, (uint16_t)(v >> 16));
}

static void put_bytes(struct buf *b, const void *p, size_t n)
{
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static void pad4(struct buf *b)
{
	while (b->len % 4)
		put8(b, 0);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) | (uint32_t)get16(p + 2) << 16;
}

/* "a4f1db00-ca47-1067-b31f-00dd010662da" in NDR's little-endian layout */
static bool parse_uuid(const char *text, uint8_t out[16])
{
	static const int order[16] = { 3, 2, 1, 0, 5, 4, 7, 6,
				       8, 9, 10, 11, 12, 13, 14, 15 };
	unsigned v[16];

	if (strlen(text) != 36 ||
	    sscanf(text, "%2x%2x%2x%2x-%2x%2x-%2x%2x-%2x%2x-%2x%2x%2x%2x%2x%2x",
		   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
		   &v[8], &v[9], &v[10], &v[11], &v[12], &v[13], &v[14],
		   &v[15]) != 16)
		return false;
	for (int i = 0; i < 16; i++)
		out[i] = (uint8_t)v[order[i]];
	return true;
}

static bool parse_syntax(const char *text, struct syntax *s)
{
	char uuid[37];
	unsigned major = 0, minor = 0;
	const char *colon = strchr(text, ':');
	size_t n = colon ? (size_t)(colon - text) : strlen(text);

	if (n != 36)
		return false;
	memcpy(uuid, text, n);
	uuid[n] = '\0';
	if (colon && (sscanf(colon + 1, "%u.%u", &major, &minor) != 2 ||
		      major > 0xffff || minor > 0xffff))
		return false;
	s->major = (uint16_t)major;
	s->minor = (uint16_t)minor;
	return parse_uuid(uuid, s->uuid);
}

static void put_syntax(struct buf *b, const struct syntax *s)
{
	put_bytes(b, s->uuid, 16);
	put16(b, s->major);
	put16(b, s->minor);
}

/* The 16-byte common header; frag_length is filled in by finish_pdu. */
static void start_pdu(struct buf *b, uint8_t ptype, uint32_t call_id)
{
	b->len = 0;
	put8(b, 5);
	put8(b, 0);
	put8(b, ptype);
	put8(b, PFC_FIRST_LAST);
	put32(b, 0x10);		/* little-endian, ASCII, IEEE */
	put16(b, 0);		/* frag_length */
	put16(b, 0);		/* auth_length */
	put32(b, call_id);
}

static void finish_pdu(struct buf *b)
{
	b->data[8] = (uint8_t)b->len;
	b->data[9] = (uint8_t)(b->len >> 8);
}

static struct syntax epm_syntax, ndr_syntax;

static void build_bind(struct buf *b)
{
	start_pdu(b, PTYPE_BIND, 1);
	put16(b, 5840);		/* max_xmit_frag */
	put16(b, 5840);		/* max_recv_frag */
	put32(b, 0);		/* assoc_group */
	put8(b, 1);		/* one context */
	put8(b, 0);
	put16(b, 0);
	put16(b, 0);		/* context id */
	put8(b, 1);		/* one transfer syntax */
	put8(b, 0);
	put_syntax(b, &epm_syntax);
	put_syntax(b, &ndr_syntax);
	finish_pdu(b);
}

/* ncacn_ip_tcp tower for iface: UUID, NDR, RPC connection-oriented, TCP, IP */
static void build_tower(struct buf *t, const struct syntax *iface)
{
	t->len = 0;
	put16(t, 5);
	put16(t, 19);
	put8(t, FLOOR_UUID);
	put_bytes(t, iface->uuid, 16);
	put16(t, iface->major);
	put16(t, 2);
	put16(t, iface->minor);
	put16(t, 19);
	put8(t, FLOOR_UUID);
	put_bytes(t, ndr_syntax.uuid, 16);
	put16(t, ndr_syntax.major);
	put16(t, 2);
	put16(t, ndr_syntax.minor);
	put16(t, 1);
	put8(t, FLOOR_RPC_CO);
	put16(t, 2);
	put16(t, 0);
	put16(t, 1);
	put8(t, FLOOR_TCP);
	put16(t, 2);
	put16(t, 0);		/* port: any */
	put16(t, 1);
	put8(t, FLOOR_IP);
	put16(t, 4);
	put32(t, 0);		/* address: any */
}

static void build_map(struct buf *b, const struct syntax *iface)
{
	struct buf tower;
	size_t stub;

	build_tower(&tower, iface);
	start_pdu(b, PTYPE_REQUEST, 2);
	put32(b, 0);		/* alloc_hint, below */
	put16(b, 0);		/* context id */
	put16(b, OP_EPT_MAP);
	stub = b->len;
	put32(b, 0);		/* obj: NULL */
	put32(b, 1);		/* map_tower: referent */
	put32(b, (uint32_t)tower.len);	/* conformance */
	put32(b, (uint32_t)tower.len);	/* tower_length */
	put_bytes(b, tower.data, tower.len);
	pad4(b);
	put32(b, 0);		/* entry_handle: attributes, uuid */
	put_bytes(b, (uint8_t[16]){ 0 }, 16);
	put32(b, MAX_TOWERS);
	b->data[16] = (uint8_t)(b->len - stub);
	b->data[17] = (uint8_t)((b->len - stub) >> 8);
	finish_pdu(b);
}

static bool read_full(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t got = read(fd, p, n);

		if (got <= 0)
			return false;
		p += got;
		n -= (size_t)got;
	}
	return true;
}

/* One whole PDU, of at most PDU_MAX bytes; NULL with *err on failure. */
static const char *read_pdu(int fd, struct buf *b, uint8_t ptype)
{
	uint16_t frag_len;

	if (!read_full(fd, b->data, 16))
		return errno == EAGAIN ? "timeout" : "connection closed";
	frag_len = get16(b->data + 8);
	if (b->data[0] != 5 || b->data[4] != 0x10 || frag_len < 16 ||
	    frag_len > PDU_MAX)
		return "not a little-endian DCE/RPC PDU";
	if (!read_full(fd, b->data + 16, frag_len - 16u))
		return "truncated PDU";
	b->len = frag_len;
	if (b->data[2] == PTYPE_FAULT)
		return "fault";
	if (b->data[2] != ptype)
		return "unexpected PDU type";
	if ((b->data[3] & PFC_FIRST_LAST) != PFC_FIRST_LAST)
		return "fragmented answer (not supported)";
	return NULL;
}

static const char *check_bind_ack(const struct buf *b)
{
	size_t off = 16 + 8, sec_len;

	if (b->len < off + 2)
		return "short bind_ack";
	sec_len = get16(b->data + off);
	off += 2 + sec_len;
	off = (off + 3) & ~(size_t)3;
	if (b->len < off + 4 + 4)
		return "short bind_ack";
	if (b->data[off] < 1 || get16(b->data + off + 4) != 0)
		return "bind rejected";
	return NULL;
}

/* The first TCP port in the tower's floors, or -1. */
static int tower_tcp_port(const uint8_t *t, size_t len)
{
	size_t off = 2;
	unsigned floors;

	if (len < 2)
		return -1;
	floors = get16(t);
	for (unsigned i = 0; i < floors; i++) {
		size_t lhs, rhs;

		if (off + 2 > len || (lhs = get16(t + off)) == 0 ||
		    off + 2 + lhs + 2 > len)
			return -1;
		rhs = get16(t + off + 2 + lhs);
		if (off + 4 + lhs + rhs > len)
			return -1;
		if (t[off + 2] == FLOOR_TCP && rhs == 2)
			return t[off + 4 + lhs] << 8 | t[off + 5 + lhs];
		off += 4 + lhs + rhs;
	}
	return -1;
}

/* The port of the first TCP tower in an ept_map response, or an error. */
static const char *map_answer(const struct buf *b, int *port)
{
	const uint8_t *s = b->data + 24, *end = b->data + b->len;
	const uint8_t *referents;
	uint32_t n_towers, actual;

	if (b->len < 24 + 20 + 4 + 12)
		return "short ept_map answer";
	s += 20;		/* entry_handle */
	n_towers = get32(s);
	actual = get32(s + 12);
	s += 16;
	if (n_towers == 0)
		return "no towers (not registered)";
	if (actual != n_towers || actual > MAX_TOWERS ||
	    (size_t)(end - s) < 4 * actual)
		return "malformed ept_map answer";
	referents = s;
	s += 4 * actual;
	for (uint32_t i = 0; i < actual; i++) {
		uint32_t len;
		int p;

		if (get32(referents + 4 * i) == 0)
			continue;	/* a NULL tower pointer: no tower follows */

		if (end - s < 8)
			return "malformed tower";
		len = get32(s + 4);
		s += 8;
		if ((size_t)(end - s) < len)
			return "malformed tower";
		p = tower_tcp_port(s, len);
		if (p >= 0) {
			*port = p;
			return NULL;
		}
		s += (len + 3) & ~3u;
		if (s > end)
			return "malformed tower";
	}
	return "no TCP tower";
}

static const char *lookup(const struct sockaddr_storage *server,
			  socklen_t server_len, const struct sockaddr_storage *src,
			  int timeout_s, const struct syntax *iface, int *port)
{
	struct timeval tv = { .tv_sec = timeout_s };
	static struct buf b;
	const char *err;
	int fd = socket(server->ss_family, SOCK_STREAM, 0);

	if (fd < 0)
		return strerror(errno);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (src && bind(fd, (const struct sockaddr *)src,
			src->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
						    sizeof(struct sockaddr_in6)) < 0) {
		err = strerror(errno);
		goto out;
	}
	if (connect(fd, (const struct sockaddr *)server, server_len) < 0) {
		err = errno == EINPROGRESS ? "connect timeout" : strerror(errno);
		goto out;
	}
	build_bind(&b);
	if (write(fd, b.data, b.len) != (ssize_t)b.len) {
		err = "write failed";
		goto out;
	}
	if ((err = read_pdu(fd, &b, PTYPE_BIND_ACK)) ||
	    (err = check_bind_ack(&b)))
		goto out;
	build_map(&b, iface);
	if (write(fd, b.data, b.len) != (ssize_t)b.len) {
		err = "write failed";
		goto out;
	}
	if (!(err = read_pdu(fd, &b, PTYPE_RESPONSE)))
		err = map_answer(&b, port);
out:
	close(fd);
	return err;
}

/* NULL when a connection to port got through on its first SYN. */
static const char *connect_first_syn(const struct sockaddr_storage *server,
				     socklen_t server_len,
				     const struct sockaddr_storage *src,
				     int timeout_s, int port)
{
	struct sockaddr_storage to = *server;
	struct tcp_info info;
	socklen_t len = sizeof(info);
	struct pollfd p = { .events = POLLOUT };
	const char *err = NULL;
	int so_error = 0;
	socklen_t so_len = sizeof(so_error);

	if (to.ss_family == AF_INET)
		((struct sockaddr_in *)&to)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)&to)->sin6_port = htons((uint16_t)port);
	p.fd = socket(to.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (p.fd < 0)
		return strerror(errno);
	if (src && bind(p.fd, (const struct sockaddr *)src,
			src->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
						    sizeof(struct sockaddr_in6)) < 0) {
		err = strerror(errno);
	} else if (connect(p.fd, (const struct sockaddr *)&to, server_len) < 0 &&
		   errno != EINPROGRESS) {
		err = strerror(errno);
	} else if (poll(&p, 1, timeout_s * 1000) != 1) {
		err = "no connection";
	} else if (getsockopt(p.fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len) < 0 ||
		   so_error) {
		err = so_error ? strerror(so_error) : strerror(errno);
	} else if (getsockopt(p.fd, IPPROTO_TCP, TCP_INFO, &info, &len) < 0) {
		err = strerror(errno);
	} else if (info.tcpi_total_retrans) {
		err = "connected, but not on the first SYN";
	}
	close(p.fd);
	return err;
}

/* addr + 1, carrying into the higher bytes */
static void next_addr(uint8_t *addr, size_t len)
{
	for (size_t i = len; i-- > 0;)
		if (++addr[i] != 0)
			break;
}

static int usage(void)
{
	fprintf(stderr, "usage: epm_map_client [-c] [-f SOURCE [-n COUNT]] "
			"[-i UUID[:MAJOR.MINOR]] [-p PORT] [-t SECONDS] SERVER\n");
	return 64;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage server = { 0 }, src = { 0 };
	struct syntax iface;
	const char *from = NULL;
	long count = 1, port = 135, timeout_s = 3;
	socklen_t server_len;
	uint8_t *src_addr = NULL;
	size_t src_len = 0;
	long answered = 0;
	bool connect_after = false;
	int opt;

	parse_syntax("e1af8308-5d1f-11c9-91a4-08002b14a0fa:3.0", &epm_syntax);
	parse_syntax("8a885d04-1ceb-11c9-9fe8-08002b104860:2.0", &ndr_syntax);
	parse_syntax("a4f1db00-ca47-1067-b31f-00dd010662da:0.81", &iface);
	while ((opt = getopt(argc, argv, "cf:n:i:p:t:")) != -1) {
		switch (opt) {
		case 'c':
			connect_after = true;
			break;
		case 'f':
			from = optarg;
			break;
		case 'n':
			count = strtol(optarg, NULL, 10);
			break;
		case 'i':
			if (!parse_syntax(optarg, &iface))
				return usage();
			break;
		case 'p':
			port = strtol(optarg, NULL, 10);
			break;
		case 't':
			timeout_s = strtol(optarg, NULL, 10);
			break;
		default:
			return usage();
		}
	}
	if (optind != argc - 1 || count < 1 || port < 1 || port > 65535 ||
	    timeout_s < 1 || (count > 1 && !from))
		return usage();
	if (inet_pton(AF_INET, argv[optind],
		      &((struct sockaddr_in *)&server)->sin_addr) == 1) {
		server.ss_family = AF_INET;
		((struct sockaddr_in *)&server)->sin_port = htons((uint16_t)port);
		server_len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, argv[optind],
			     &((struct sockaddr_in6 *)&server)->sin6_addr) == 1) {
		server.ss_family = AF_INET6;
		((struct sockaddr_in6 *)&server)->sin6_port = htons((uint16_t)port);
		server_len = sizeof(struct sockaddr_in6);
	} else {
		return usage();
	}
	if (from) {
		src.ss_family = server.ss_family;
		src_addr = server.ss_family == AF_INET ?
			(uint8_t *)&((struct sockaddr_in *)&src)->sin_addr :
			(uint8_t *)&((struct sockaddr_in6 *)&src)->sin6_addr;
		src_len = server.ss_family == AF_INET ? 4 : 16;
		if (inet_pton(server.ss_family, from, src_addr) != 1)
			return usage();
	}
	for (long i = 0; i < count; i++) {
		char text[INET6_ADDRSTRLEN] = "-";
		int got = -1;
		const char *err = lookup(&server, server_len, from ? &src : NULL,
					 (int)timeout_s, &iface, &got);

		if (from)
			inet_ntop(src.ss_family, src_addr, text, sizeof(text));
		if (err) {
			printf("%s error: %s\n", text, err);
		} else if (!connect_after) {
			printf("%s %d\n", text, got);
			answered++;
		} else if ((err = connect_first_syn(&server, server_len,
						    from ? &src : NULL,
						    (int)timeout_s, got))) {
			printf("%s %d error: %s\n", text, got, err);
		} else {
			printf("%s %d first-syn\n", text, got);
			answered++;
		}
		if (from)
			next_addr(src_addr, src_len);
	}
	fflush(stdout);
	return answered == count ? 0 : 1;
}
