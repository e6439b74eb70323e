/*
 * epm_load: the load generator of the gateway benchmark (not a test).
 *
 *   epm_load -s SERVER -S SRC[,SRC...] [-c CONCURRENCY] [-d SECONDS]
 *            [-C PORT] [-F FIRST_SYN_MS] [-D DATA_TIMEOUT_MS] [-X EXCHANGE_TIMEOUT_MS]
 *
 * CONCURRENCY lookups in flight at once, for SECONDS (default 5).  One
 * lookup: connect SERVER:135, bind to the endpoint mapper v3 (NDR),
 * ept_map EMSMDB, read the answer, connect to the advertised port, close
 * that connection with a reset.  Source addresses rotate every 16384
 * lookups, so with a pool of 16384 server ports no two lookups of a run
 * share a pinhole (client, server, port).
 *
 * The answer latency runs from the request's send to the answer's last
 * byte (what a gateway holding the answer adds shows here).  The connect
 * to the advertised port made it on its first SYN when it completed
 * within FIRST_SYN_MS (default 900; the kernel retransmits a SYN after
 * 1 s) with no retransmission in TCP_INFO.  An answer that reached the
 * client but whose port never connected within DATA_TIMEOUT_MS (default
 * 1500), or was refused, had no pinhole.
 *
 * With -C PORT only the data plane is measured: connect to SERVER:PORT,
 * reset, again; connections per second.
 *
 * One line of key=value pairs on stdout at the end.  One thread, epoll.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "epm_wire.h"

#define MAX_SOURCES 64
#define SOURCE_ROTATION 16384
#define MAX_CONCURRENCY 16384

enum state { IDLE, CONNECTING, BINDING, MAPPING, DATA };

struct slot {
	enum state state;
	uint64_t seq;		/* which lookup: picks the source address */
	int epm, data;		/* sockets; -1 when closed */
	uint64_t started_us, request_us, deadline_us;
	size_t have;
	uint8_t in[WIRE_MAX_PDU];
};

struct run {
	struct sockaddr_storage server;
	socklen_t server_len;
	struct sockaddr_storage src[MAX_SOURCES];
	size_t n_src;
	uint16_t data_port;	/* -C: data plane only */
	uint64_t end_us, first_syn_us, data_timeout_us, exchange_timeout_us;
	uint64_t started, answers, answers_in_time, connected, first_syn_fail,
		no_pinhole, refused, epm_errors, epm_timeouts, bad_answers;
	uint32_t *latency_us;
	size_t n_latency, cap_latency;
	int ep;
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static bool parse_addr(const char *text, uint16_t port, struct sockaddr_storage *ss,
		       socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len = sizeof(*s4);
		return true;
	}
	if (inet_pton(AF_INET6, text, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len = sizeof(*s6);
		return true;
	}
	return false;
}

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static void close_reset(int fd)
{
	struct linger now = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof(now));
	close(fd);
}

/* A non-blocking connect from the lookup's source address to port. */
static int connect_to(struct run *r, uint64_t seq, uint16_t port, int tag)
{
	struct sockaddr_storage dst = r->server;
	const struct sockaddr_storage *src = &r->src[(seq / SOURCE_ROTATION) % r->n_src];
	socklen_t src_len = src->ss_family == AF_INET ? sizeof(struct sockaddr_in) :
							  sizeof(struct sockaddr_in6);
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = (uint32_t)tag };
	int one = 1, fd = socket(r->server.ss_family,
				 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	set_port(&dst, port);
	/* the port is chosen at connect(), unique per destination */
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)src, src_len) < 0 ||
	    (connect(fd, (struct sockaddr *)&dst, r->server_len) < 0 &&
	     errno != EINPROGRESS) ||
	    epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Tags: slot index * 2, + 1 for the data socket. */
static void start(struct run *r, struct slot *s, size_t idx, uint64_t now)
{
	uint64_t seq = r->started++;

	s->seq = seq;
	s->have = 0;
	s->started_us = now;
	if (r->data_port) {
		s->data = connect_to(r, seq, r->data_port, (int)(idx * 2 + 1));
		s->state = s->data < 0 ? IDLE : DATA;
		s->deadline_us = now + r->data_timeout_us;
		if (s->data < 0)
			r->epm_errors++;
		return;
	}
	s->epm = connect_to(r, seq, 135, (int)(idx * 2));
	s->state = s->epm < 0 ? IDLE : CONNECTING;
	s->deadline_us = now + r->exchange_timeout_us;
	if (s->epm < 0)
		r->epm_errors++;
}

static void finish_epm(struct run *r, struct slot *s)
{
	if (s->epm >= 0) {
		epoll_ctl(r->ep, EPOLL_CTL_DEL, s->epm, NULL);
		close(s->epm);
		s->epm = -1;
	}
}

static void finish_data(struct run *r, struct slot *s, bool connected, uint64_t now)
{
	struct tcp_info ti = { 0 };
	socklen_t len = sizeof(ti);

	if (connected) {
		getsockopt(s->data, IPPROTO_TCP, TCP_INFO, &ti, &len);
		r->connected++;
		if (now - s->started_us >= r->first_syn_us || ti.tcpi_total_retrans)
			r->first_syn_fail++;
	} else {
		r->first_syn_fail++;
		r->no_pinhole++;
	}
	close_reset(s->data);
	s->data = -1;
	s->state = IDLE;
}

static bool send_pdu(int fd, const struct wire *w)
{
	return write(fd, w->b, w->len) == (ssize_t)w->len;
}

static void record_latency(struct run *r, uint64_t us)
{
	if (r->n_latency == r->cap_latency) {
		size_t cap = r->cap_latency ? 2 * r->cap_latency : 65536;
		uint32_t *grown = realloc(r->latency_us, cap * sizeof(*grown));

		if (!grown)
			return;
		r->latency_us = grown;
		r->cap_latency = cap;
	}
	r->latency_us[r->n_latency++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void epm_failed(struct run *r, struct slot *s)
{
	r->epm_errors++;
	finish_epm(r, s);
	s->state = IDLE;
}

/* The answer is in: the client connects to the advertised port at once. */
static void answered(struct run *r, struct slot *s, size_t idx, uint64_t now)
{
	uint16_t port = wire_answer_port(s->in, s->have);

	r->answers++;
	if (now <= r->end_us) {
		r->answers_in_time++;
		record_latency(r, now - s->request_us);
	}
	finish_epm(r, s);
	if (!port || s->in[2] != WIRE_RESPONSE) {
		r->bad_answers++;
		s->state = IDLE;
		return;
	}
	s->started_us = now;
	s->deadline_us = now + r->data_timeout_us;
	s->data = connect_to(r, s->seq, port, (int)(idx * 2 + 1));
	s->state = s->data < 0 ? IDLE : DATA;
	if (s->data < 0)
		r->epm_errors++;
}

static void on_epm(struct run *r, struct slot *s, size_t idx, uint64_t now)
{
	struct wire w;
	int err = 0;
	socklen_t len = sizeof(err);
	ssize_t got;
	size_t pdu;

	if (s->state == CONNECTING) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (uint32_t)(idx * 2) };

		if (getsockopt(s->epm, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err ||
		    epoll_ctl(r->ep, EPOLL_CTL_MOD, s->epm, &ev) < 0) {
			epm_failed(r, s);
			return;
		}
		wire_bind(&w, 1);
		if (!send_pdu(s->epm, &w)) {
			epm_failed(r, s);
			return;
		}
		s->state = BINDING;
		return;
	}
	got = read(s->epm, s->in + s->have, sizeof(s->in) - s->have);
	if (got < 0 && errno == EAGAIN)
		return;
	if (got <= 0) {
		epm_failed(r, s);
		return;
	}
	s->have += (size_t)got;
	pdu = wire_pdu_len(s->in, s->have);
	if (!pdu || pdu > s->have)
		return;
	if (s->state == BINDING) {
		if (s->in[2] != WIRE_BIND_ACK) {
			epm_failed(r, s);
			return;
		}
		memmove(s->in, s->in + pdu, s->have - pdu);
		s->have -= pdu;
		wire_map_request(&w, 2);
		s->request_us = now_us();
		if (!send_pdu(s->epm, &w)) {
			epm_failed(r, s);
			return;
		}
		s->state = MAPPING;
		return;
	}
	answered(r, s, idx, now);
}

static void on_data(struct run *r, struct slot *s, uint64_t now)
{
	int err = 0;
	socklen_t len = sizeof(err);

	getsockopt(s->data, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err == ECONNREFUSED)
		r->refused++;
	finish_data(r, s, err == 0, now);
}

static void expire(struct run *r, struct slot *s, uint64_t now)
{
	if (s->state == IDLE || now < s->deadline_us)
		return;
	if (s->state == DATA) {
		finish_data(r, s, false, now);
		return;
	}
	r->epm_timeouts++;
	finish_epm(r, s);
	s->state = IDLE;
}

static int by_value(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static uint32_t percentile(const struct run *r, double q)
{
	return r->n_latency ? r->latency_us[(size_t)(q * (double)(r->n_latency - 1))] : 0;
}

static int parse_sources(struct run *r, char *list)
{
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		socklen_t len;

		if (r->n_src == MAX_SOURCES || !parse_addr(tok, 0, &r->src[r->n_src], &len))
			return -1;
		r->n_src++;
	}
	return r->n_src ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct run r = { .first_syn_us = 900000, .data_timeout_us = 1500000,
			 .exchange_timeout_us = 10000000 };
	const char *server = NULL;
	char *sources = NULL;
	unsigned long concurrency = 1;
	double seconds = 5;
	struct slot *slots;
	struct rlimit nofile = { 65536, 65536 };
	uint64_t t0, now, busy = 1;
	int opt;

	while ((opt = getopt(argc, argv, "s:S:c:d:C:F:D:X:")) != -1) {
		switch (opt) {
		case 's': server = optarg; break;
		case 'S': sources = optarg; break;
		case 'c': concurrency = strtoul(optarg, NULL, 10); break;
		case 'd': seconds = strtod(optarg, NULL); break;
		case 'C': r.data_port = (uint16_t)strtoul(optarg, NULL, 10); break;
		case 'F': r.first_syn_us = strtoull(optarg, NULL, 10) * 1000; break;
		case 'D': r.data_timeout_us = strtoull(optarg, NULL, 10) * 1000; break;
		case 'X': r.exchange_timeout_us = strtoull(optarg, NULL, 10) * 1000; break;
		default: goto usage;
		}
	}
	if (!server || !sources || !parse_addr(server, 135, &r.server, &r.server_len) ||
	    parse_sources(&r, sources) < 0 || concurrency == 0 ||
	    concurrency > MAX_CONCURRENCY || seconds <= 0)
		goto usage;
	setrlimit(RLIMIT_NOFILE, &nofile);
	slots = calloc(concurrency, sizeof(*slots));
	r.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!slots || r.ep < 0)
		return 1;
	for (size_t i = 0; i < concurrency; i++)
		slots[i] = (struct slot){ .state = IDLE, .epm = -1, .data = -1 };
	t0 = now_us();
	r.end_us = t0 + (uint64_t)(seconds * 1e6);
	/* after the end no lookup starts; those in flight finish or time out */
	for (now = t0; now < r.end_us || busy; now = now_us()) {
		struct epoll_event evs[512];
		int n = epoll_wait(r.ep, evs, 512, 5);

		now = now_us();
		for (int i = 0; i < n; i++) {
			size_t idx = evs[i].data.u32 / 2;

			if (evs[i].data.u32 % 2)
				on_data(&r, &slots[idx], now);
			else
				on_epm(&r, &slots[idx], idx, now);
		}
		busy = 0;
		for (size_t i = 0; i < concurrency; i++) {
			expire(&r, &slots[i], now);
			if (slots[i].state == IDLE && now < r.end_us)
				start(&r, &slots[i], i, now);
			busy += slots[i].state != IDLE;
		}
	}
	qsort(r.latency_us, r.n_latency, sizeof(*r.latency_us), by_value);
	if (r.data_port)
		printf("mode=connect seconds=%.1f concurrency=%lu connects=%llu rate=%.1f "
		       "first_syn_fail=%llu failed=%llu errors=%llu\n",
		       seconds, concurrency, (unsigned long long)r.connected,
		       (double)r.connected / seconds, (unsigned long long)r.first_syn_fail,
		       (unsigned long long)r.no_pinhole, (unsigned long long)r.epm_errors);
	else
		printf("mode=lookup seconds=%.1f concurrency=%lu lookups=%llu rate=%.1f "
		       "p50_us=%u p99_us=%u answers=%llu first_syn_fail=%llu no_pinhole=%llu "
		       "refused=%llu epm_errors=%llu epm_timeouts=%llu bad_answers=%llu\n",
		       seconds, concurrency, (unsigned long long)r.answers_in_time,
		       (double)r.answers_in_time / seconds, percentile(&r, 0.5),
		       percentile(&r, 0.99), (unsigned long long)r.answers,
		       (unsigned long long)r.first_syn_fail, (unsigned long long)r.no_pinhole,
		       (unsigned long long)r.refused, (unsigned long long)r.epm_errors,
		       (unsigned long long)r.epm_timeouts, (unsigned long long)r.bad_answers);
	return 0;
usage:
	fprintf(stderr, "usage: epm_load -s SERVER -S SRC[,SRC...] [-c N] [-d SECONDS] "
			"[-C PORT] [-F FIRST_SYN_MS] [-D DATA_TIMEOUT_MS] [-X EXCHANGE_TIMEOUT_MS]\n");
	return 64;
}
