#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "conntrack.h"
#include "flow.h"
#include "gate.h"
#include "log.h"
#include "nft.h"
#include "packet.h"
#include "queue.h"
#include "service.h"

#define TICK_MS 1000
/*
 * A DNAT mapping outlives its pinhole by this much, so that the kernel
 * drops a late connection at the pinhole rather than delivering it to the
 * router; the tick that notices a refreshed pinhole renews the mapping.
 */
#define DNAT_MARGIN_MS (2 * TICK_MS)

struct service_stats {
	uint64_t packets;
	uint64_t answers;
	uint64_t opened;
	uint64_t refused;
	uint64_t drift;
	uint64_t expired;
	uint64_t revoked;
	uint64_t nft_errors;
	uint64_t queue_overruns;
};

/* What one queued packet's answers decided, logged once per reason. */
struct packet_decisions {
	struct nft_batch *batch;
	size_t n_opened, cap_opened;
	struct pinhole *opened;
	uint32_t refused[GATE_N_REASONS];
	char refused_example[GATE_N_REASONS][160];
	char client[INET6_ADDRSTRLEN], server[INET6_ADDRSTRLEN];
	int published;		/* -1 not looked up yet, 0 no DNAT, 1 DNAT */
	uint8_t public_addr[16];
};

/* The kinds of conversations not followed, each logged on its own line. */
enum { FLOWS_FULL, FLOWS_CLIENT, FLOWS_EVICTED, FLOWS_LOST, N_FLOW_LOGS };

struct flow_refusals {
	uint64_t *counter;
	uint64_t logged;	/* counter value at the last line */
	uint64_t last_ms;
	const char *what;
};

/*
 * Forged packets are logged once per source and FORGERY_LOG_INTERVAL_MS;
 * a source is the address, protocol and port the packet claims, the
 * interface it came in on and the sender's link address.  At most
 * FORGERY_LOG_SOURCES sources are logged per interval; packets of others
 * are only counted, and the next line says how many there were.
 */
#define FORGERY_LOG_INTERVAL_MS 60000
#define FORGERY_LOG_SOURCES 32
/* interface names, looked up only for a line about to be logged */
#define IFNAME_CACHE_SIZE 8
#define IFNAME_CACHE_MS 60000

struct forgery_source {
	uint8_t family, proto;
	uint8_t addr[16];
	uint16_t port;
	struct packet_ingress in;	/* mark left zero */
	uint64_t last_ms;		/* 0: a free slot */
	uint64_t repeats;		/* dropped since its last line */
};

struct forgery_log {
	struct forgery_source sources[FORGERY_LOG_SOURCES];
	uint64_t unlogged;		/* from sources over the limit */
	struct ifname_entry {
		uint32_t ifindex;
		uint64_t fetched_ms;
		char name[IF_NAMESIZE];
	} ifnames[IFNAME_CACHE_SIZE];
	size_t next_ifname;
};

struct service {
	const char *config_path;
	struct rpcgate_config *cfg;
	struct flow_table flows;
	struct gate gate;
	struct nft *nft;
	struct queue *queue;
	int epoll, signals, timer;
	uint64_t watchdog_usec, last_watchdog_ms;
	struct service_stats stats;
	struct packet_decisions decisions;
	struct flow_refusals flow_logs[N_FLOW_LOGS];
	struct forgery_log forgeries;
	bool running;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void describe_pinhole(const struct pinhole *p, char *out, size_t size)
{
	char client[INET6_ADDRSTRLEN], server[INET6_ADDRSTRLEN];

	packet_addr_format(p->family, p->client, client, sizeof(client));
	packet_addr_format(p->family, p->server, server, sizeof(server));
	snprintf(out, size, "%s %s -> %s%s%s:%u",
		 p->proto == IPPROTO_TCP ? "tcp" : "udp", client,
		 p->family == AF_INET6 ? "[" : "", server,
		 p->family == AF_INET6 ? "]" : "", p->port);
}

static void describe_endpoint(const struct epm_endpoint *ep, char *out,
			      size_t size)
{
	char iface[UUID_TEXT_LEN + 1];
	const char *name = epm_iface_name(&ep->iface);

	uuid_format(&ep->iface, iface);
	snprintf(out, size, "%s %s/%u", name ? name : iface,
		 epm_proto_name(ep->proto), ep->port);
}

static void remember_opened(struct packet_decisions *d, const struct pinhole *p)
{
	if (d->n_opened == d->cap_opened) {
		size_t cap = d->cap_opened ? 2 * d->cap_opened : 8;
		struct pinhole *grown = realloc(d->opened, cap * sizeof(*grown));

		if (!grown)
			return;
		d->opened = grown;
		d->cap_opened = cap;
	}
	d->opened[d->n_opened++] = *p;
}

/* The ports a fixed-mode group expects for this interface, as text. */
static void expected_ports(const struct server_policy *policy,
			   const struct uuid *iface, char *out, size_t size)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t k = 0; k < policy->n_fixed && used < size; k++)
		if (policy->fixed[k].any_iface ||
		    uuid_equal(&policy->fixed[k].iface, iface))
			used += (size_t)snprintf(out + used, size - used, "%s%u",
						 used ? ", " : "",
						 policy->fixed[k].port);
}

/*
 * A pinned Exchange server that advertises another port has lost its
 * registry setting (an update, a rebuild): Outlook will fail, and the
 * administrator needs to know where to look.
 */
static void warn_drift(struct service *s, const struct flow *flow,
		       const struct epm_endpoint *ep)
{
	const struct server_policy *policy =
		config_policy_of(s->cfg, flow->key.family, flow->key.server);
	char server[INET6_ADDRSTRLEN], iface[UUID_TEXT_LEN + 1], ports[128];
	const char *name = epm_iface_name(&ep->iface);

	packet_addr_format(flow->key.family, flow->key.server, server, sizeof(server));
	uuid_format(&ep->iface, iface);
	expected_ports(policy, &ep->iface, ports, sizeof(ports));
	s->stats.drift++;
	log_warnx("drift: server %s advertises %s on %s/%u, expected %s; "
		  "nothing opened. Set the fixed port again: %s",
		  server, name ? name : iface, epm_proto_name(ep->proto),
		  ep->port, ports[0] ? ports : "(none for this interface)",
		  gate_registry_value(&ep->iface));
}

static void on_endpoint(void *arg, const struct flow *flow,
			const struct dce_answer *ans,
			const struct epm_endpoint *ep)
{
	struct service *s = arg;
	struct packet_decisions *d = &s->decisions;
	struct pinhole p;
	enum gate_reason reason = gate_admit(&s->gate, &flow->key, ans, ep,
					     now_ms(), &p);
	char what[160], endpoint[96];

	packet_addr_format(flow->key.family, flow->key.client, d->client,
		    sizeof(d->client));
	packet_addr_format(flow->key.family, flow->key.server, d->server,
		    sizeof(d->server));
	describe_endpoint(ep, endpoint, sizeof(endpoint));
	if (reason == GATE_DRIFT) {
		warn_drift(s, flow, ep);
		return;
	}
	if (reason != GATE_OPEN) {
		if (d->refused[reason]++ == 0)
			snprintf(d->refused_example[reason],
				 sizeof(d->refused_example[reason]), "%s", endpoint);
		if (reason != GATE_FIXED)
			s->stats.refused++;
		return;
	}
	if (!d->batch)
		d->batch = nft_batch_begin(s->nft, s->cfg);
	if (!d->batch)
		return;
	nft_batch_pinhole_add(d->batch, &p, s->cfg->pinhole_timeout);
	remember_opened(d, &p);
	if (d->published < 0)
		d->published = conntrack_public_addr(&flow->key, d->public_addr) == 1;
	if (d->published) {
		struct gate_pinhole *record = gate_find(&s->gate, &p);

		nft_batch_dnat_add(d->batch, &p, d->public_addr,
				   s->cfg->pinhole_timeout * 1000ull +
					   DNAT_MARGIN_MS);
		if (record) {
			record->published = true;
			memcpy(record->public_addr, d->public_addr, 16);
		}
	}
	describe_pinhole(&p, what, sizeof(what));
	if (d->published) {
		char public_addr[INET6_ADDRSTRLEN];

		packet_addr_format(p.family, d->public_addr, public_addr,
			    sizeof(public_addr));
		log_info("opened %s for %us, published as %s: %s advertised by "
			 "%s to %s", what, s->cfg->pinhole_timeout, public_addr,
			 endpoint, d->server, d->client);
	} else {
		log_info("opened %s for %us: %s advertised by %s to %s", what,
			 s->cfg->pinhole_timeout, endpoint, d->server, d->client);
	}
	s->stats.opened++;
}

static bool forget_failed(void *arg, struct gate_pinhole *p)
{
	const struct packet_decisions *d = arg;

	for (size_t i = 0; i < d->n_opened; i++)
		if (memcmp(&d->opened[i], &p->key, sizeof(p->key)) == 0)
			return true;
	return false;
}

/*
 * The packet that completed an answer is let go only once the kernel
 * holds the pinholes: the client connects within a tenth of a
 * millisecond of reading the answer.
 */
static void settle_decisions(struct service *s)
{
	struct packet_decisions *d = &s->decisions;
	char err[256];

	if (d->batch && nft_batch_commit(d->batch, err, sizeof(err)) != 0) {
		log_warnx("could not open %zu pinhole(s) for %s: %s", d->n_opened,
			  d->client, err);
		s->stats.nft_errors++;
		gate_visit(&s->gate, forget_failed, d);
	}
	d->batch = NULL;
	d->published = -1;
	for (int r = 0; r < GATE_N_REASONS; r++) {
		if (d->refused[r] == 0)
			continue;
		log_info("%s %u endpoint(s) advertised by %s to %s (%s%s): %s",
			 r == GATE_FIXED ? "passed" : "refused",
			 d->refused[r], d->server, d->client,
			 d->refused_example[r], d->refused[r] > 1 ? ", ..." : "",
			 gate_reason_text((enum gate_reason)r));
		d->refused[r] = 0;
	}
	d->n_opened = 0;
}

/*
 * A conversation the daemon stops following, or never follows, lets its
 * answers pass unread: that is a refusal too, and is logged -- at most
 * once per FLOW_LOG_INTERVAL_MS per kind, with how many there were.
 */
#define FLOW_LOG_INTERVAL_MS 10000

static void log_flow_refusals(struct flow_refusals *r, uint64_t now)
{
	if (*r->counter == r->logged ||
	    (r->last_ms && now - r->last_ms < FLOW_LOG_INTERVAL_MS))
		return;
	log_warnx("%llu endpoint-mapper conversation(s) %s; their answers "
		  "pass and open nothing",
		  (unsigned long long)(*r->counter - r->logged), r->what);
	r->logged = *r->counter;
	r->last_ms = now;
}

static const char *ifname(struct forgery_log *l, uint32_t ifindex,
			  uint64_t now)
{
	struct ifname_entry *e;

	for (size_t i = 0; i < IFNAME_CACHE_SIZE; i++) {
		e = &l->ifnames[i];
		/* interfaces are renamed and their indexes reused */
		if (e->ifindex == ifindex && now - e->fetched_ms < IFNAME_CACHE_MS)
			return e->name;
	}
	e = &l->ifnames[l->next_ifname++ % IFNAME_CACHE_SIZE];
	e->ifindex = ifindex;
	e->fetched_ms = now;
	if (!if_indextoname(ifindex, e->name))
		snprintf(e->name, sizeof(e->name), "ifindex %u", ifindex);
	return e->name;
}

static bool same_source(const struct forgery_source *f, const struct packet *pkt)
{
	return f->last_ms && f->family == pkt->family &&
	       f->proto == pkt->proto && f->port == pkt->sport &&
	       memcmp(f->addr, pkt->src, sizeof(f->addr)) == 0 &&
	       f->in.ifindex == pkt->in.ifindex &&
	       f->in.phys_ifindex == pkt->in.phys_ifindex &&
	       f->in.hwaddr_len == pkt->in.hwaddr_len &&
	       memcmp(f->in.hwaddr, pkt->in.hwaddr, pkt->in.hwaddr_len) == 0;
}

/* The source's slot if it is due a line now, else NULL (counted). */
static struct forgery_source *forgery_due(struct forgery_log *l,
					  const struct packet *pkt, uint64_t now)
{
	struct forgery_source *free_slot = NULL;

	for (size_t i = 0; i < FORGERY_LOG_SOURCES; i++) {
		struct forgery_source *f = &l->sources[i];
		bool expired = !f->last_ms ||
			       now - f->last_ms >= FORGERY_LOG_INTERVAL_MS;

		if (same_source(f, pkt)) {
			if (expired)
				return f;
			f->repeats++;
			return NULL;
		}
		if (expired && !free_slot)
			free_slot = f;
	}
	if (!free_slot) {
		l->unlogged++;
		return NULL;
	}
	memset(free_slot, 0, sizeof(*free_slot));
	free_slot->family = pkt->family;
	free_slot->proto = pkt->proto;
	free_slot->port = pkt->sport;
	memcpy(free_slot->addr, pkt->src, sizeof(free_slot->addr));
	free_slot->in = pkt->in;
	free_slot->in.mark = 0;
	return free_slot;
}

static void log_forgery(struct service *s, const struct packet *pkt,
			enum flow_forgery why, uint64_t now)
{
	struct forgery_log *l = &s->forgeries;
	struct forgery_source *f = forgery_due(l, pkt, now);
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN], from[40] = "",
	     more[96] = "", what[2 * INET6_ADDRSTRLEN + 32];
	const char *proto = pkt->proto == IPPROTO_TCP ? "tcp" : "udp";
	size_t used = 0;

	if (!f)
		return;
	packet_addr_format(pkt->family, pkt->src, src, sizeof(src));
	packet_addr_format(pkt->family, pkt->dst, dst, sizeof(dst));
	snprintf(what, sizeof(what), pkt->family == AF_INET6 ?
		 "%s [%s]:%u -> [%s]:%u" : "%s %s:%u -> %s:%u", proto, src,
		 pkt->sport, dst, pkt->dport);
	if (pkt->in.hwaddr_len)
		used = (size_t)snprintf(from, sizeof(from), " from ");
	for (size_t i = 0; i < pkt->in.hwaddr_len; i++)
		used += (size_t)snprintf(from + used, sizeof(from) - used, "%s%02x",
					 i ? ":" : "", pkt->in.hwaddr[i]);
	if (f->repeats || l->unlogged)
		snprintf(more, sizeof(more), " (%llu more from it, %llu from "
			 "other sources, not logged)",
			 (unsigned long long)f->repeats,
			 (unsigned long long)l->unlogged);
	if (why == FLOW_FORGED_REVERSE_PATH)
		log_warnx("forged answer dropped: %s claims to be server %s "
			  "port %u, came in on %s%s, where the route to that "
			  "server does not leave%s", what, src, pkt->sport,
			  ifname(l, pkt->in.ifindex, now), from, more);
	else
		log_warnx("forged packet dropped: %s claims to be %s port %u of "
			  "a followed conversation, came in on %s%s, not where "
			  "that side's first packet did%s", what, src, pkt->sport,
			  ifname(l, pkt->in.ifindex, now), from, more);
	f->last_ms = now ? now : 1;
	f->repeats = 0;
	l->unlogged = 0;
}

static void on_packet(void *arg, uint32_t id, const uint8_t *data, size_t len,
		      const struct packet_ingress *in)
{
	struct service *s = arg;
	struct packet pkt;
	bool drop = false;

	s->stats.packets++;
	if (data && packet_parse_ip(data, len, &pkt) == PACKET_OK) {
		uint64_t now = now_ms();
		int endpoints;

		pkt.in = *in;
		endpoints = flow_table_packet(&s->flows, &pkt, now * 1000,
					      on_endpoint, s);
		if (endpoints > 0) {
			s->stats.answers++;
			settle_decisions(s);
		} else if (endpoints < 0) {
			drop = true;
			log_forgery(s, &pkt, (enum flow_forgery)endpoints, now);
		}
		for (int k = 0; k < N_FLOW_LOGS; k++)
			log_flow_refusals(&s->flow_logs[k], now);
	}
	if ((drop ? queue_drop(s->queue, id) : queue_accept(s->queue, id)) < 0)
		log_warn("verdict for queued packet %u", id);
}

struct expiry {
	struct service *s;
	uint64_t now;
	struct nft_batch *batch;	/* DNAT mappings to renew */
};

/* Traffic refreshes a pinhole in the kernel; only the kernel knows when
 * it really expired. */
static bool expire_one(void *arg, struct gate_pinhole *p)
{
	struct expiry *e = arg;
	int64_t remaining;
	char what[160];

	if (p->expires_ms > e->now)
		return false;
	remaining = nft_pinhole_remaining(e->s->nft, e->s->cfg, &p->key);
	if (remaining > 0) {
		p->expires_ms = e->now + (uint64_t)remaining;
		if (p->published) {
			if (!e->batch)
				e->batch = nft_batch_begin(e->s->nft, e->s->cfg);
			if (e->batch)
				nft_batch_dnat_add(e->batch, &p->key, p->public_addr,
						   (uint64_t)remaining + DNAT_MARGIN_MS);
		}
		return false;
	}
	describe_pinhole(&p->key, what, sizeof(what));
	log_info("expired %s", what);
	e->s->stats.expired++;
	return true;
}

static void log_stats(const struct service *s)
{
	const struct flow_stats *f = &s->flows.stats;

	log_info("statistics: %llu packets, %llu answers, %llu opened, "
		 "%llu refused, %llu drift, %llu expired, %llu revoked, "
		 "%zu open now; "
		 "flows %zu tracked now, %llu total, %llu refused (max_flows), "
		 "%llu refused (per client), %llu given way (max_flows), "
		 "%llu half-open expired, "
		 "%llu desynchronized, %llu forged packets dropped; "
		 "%llu nftables errors, %llu queue overruns",
		 (unsigned long long)s->stats.packets,
		 (unsigned long long)s->stats.answers,
		 (unsigned long long)s->stats.opened,
		 (unsigned long long)s->stats.refused,
		 (unsigned long long)s->stats.drift,
		 (unsigned long long)s->stats.expired,
		 (unsigned long long)s->stats.revoked, s->gate.n_pinholes,
		 s->flows.n_flows, (unsigned long long)f->flows_tracked,
		 (unsigned long long)f->flows_refused,
		 (unsigned long long)f->flows_refused_client,
		 (unsigned long long)f->flows_evicted,
		 (unsigned long long)f->flows_halfopen_expired,
		 (unsigned long long)f->flows_desync,
		 (unsigned long long)f->forged,
		 (unsigned long long)s->stats.nft_errors,
		 (unsigned long long)s->stats.queue_overruns);
}

struct revocation {
	struct service *s;
	struct nft_batch *batch;
};

static bool revoke_one(void *arg, struct gate_pinhole *p)
{
	struct revocation *r = arg;
	char what[160];
	int cut = 0;

	if (gate_still_allowed(r->s->cfg, p))
		return false;
	if (!r->batch)
		r->batch = nft_batch_begin(r->s->nft, r->s->cfg);
	if (r->batch) {
		nft_batch_pinhole_del(r->batch, &p->key);
		if (p->published)
			nft_batch_dnat_del(r->batch, &p->key, p->public_addr);
	}
	if (r->s->cfg->revoke_established)
		cut = conntrack_revoke(&p->key, r->s->cfg->pinhole_mark);
	describe_pinhole(&p->key, what, sizeof(what));
	if (cut < 0)
		log_warnx("revoked %s; its connections could not be cut: %s", what,
			  strerror(-cut));
	else
		log_info("revoked %s: no longer allowed by the configuration%s", what,
			 cut > 0 ? ", established connections cut" : "");
	r->s->stats.revoked++;
	return true;
}

static void log_config_errors(char *text)
{
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		log_warnx("%s", line);
}

/*
 * SIGHUP: the new file is read aside; a bad one is reported and the
 * running policy stays.  A good one replaces the rules and server sets in
 * one batch, and pinholes it no longer allows are removed.
 */
static void reload(struct service *s)
{
	struct rpcgate_config *next = malloc(sizeof(*next)), *previous = s->cfg;
	struct revocation r = { .s = s };
	struct flow_config fc = s->flows.cfg;
	char *errors = NULL, err[256];
	size_t errors_len = 0;
	FILE *report = open_memstream(&errors, &errors_len);
	int problems;

	if (!next || !report) {
		log_warnx("reload: out of memory; keeping the running policy");
		free(next);
		if (report)
			fclose(report);
		free(errors);
		return;
	}
	sd_notify(0, "RELOADING=1");
	config_defaults(next);
	problems = config_load(s->config_path, next, report);
	fclose(report);
	if (problems) {
		log_config_errors(errors);
		log_warnx("reload: %d problem(s) in %s; keeping the running policy",
			  problems, s->config_path);
		goto done;
	}
	if (next->nft_mode != previous->nft_mode ||
	    strcmp(next->nft_table, previous->nft_table) != 0 ||
	    next->queue_num != previous->queue_num ||
	    next->on_failure != previous->on_failure) {
		log_warnx("reload: nft_mode, nft_table, queue_num and on_failure "
			  "take effect at restart; keeping their running values");
		next->nft_mode = previous->nft_mode;
		snprintf(next->nft_table, sizeof(next->nft_table), "%s",
			 previous->nft_table);
		next->queue_num = previous->queue_num;
		next->on_failure = previous->on_failure;
	}
	if (nft_install(s->nft, next, true, err, sizeof(err)) != 0) {
		log_warnx("reload: %s; keeping the running policy", err);
		goto done;
	}
	s->cfg = next;
	s->gate.cfg = next;
	flow_config_from_policy(&fc, next);
	if (!flow_table_configure(&s->flows, &fc))
		log_warnx("reload: out of memory for max_flows = %u; keeping "
			  "the running flow limits", next->max_flows);
	log_set_verbose(next->log_verbose);
	gate_visit(&s->gate, revoke_one, &r);
	if (r.batch && nft_batch_commit(r.batch, err, sizeof(err)) != 0)
		log_warnx("reload: removing revoked pinholes: %s", err);
	log_info("reloaded %s", s->config_path);
	next = previous;
done:
	free(next);
	free(errors);
	sd_notify(0, "READY=1");
}

static void on_signal(struct service *s)
{
	struct signalfd_siginfo si;

	while (read(s->signals, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			reload(s);
			break;
		case SIGUSR1:
			log_stats(s);
			break;
		default:
			s->running = false;
			break;
		}
	}
}

static void on_tick(struct service *s)
{
	uint64_t expirations, now = now_ms();
	struct expiry e = { .s = s, .now = now };
	char err[256];

	if (read(s->timer, &expirations, sizeof(expirations)) < 0)
		return;
	gate_visit(&s->gate, expire_one, &e);
	if (e.batch && nft_batch_commit(e.batch, err, sizeof(err)) != 0)
		log_warnx("renewing DNAT mappings: %s", err);
	flow_table_expire(&s->flows, now * 1000);
	if (s->watchdog_usec &&
	    now - s->last_watchdog_ms >= s->watchdog_usec / 2000) {
		sd_notify(0, "WATCHDOG=1");
		s->last_watchdog_ms = now;
	}
}

static int add_fd(struct service *s, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(s->epoll, EPOLL_CTL_ADD, fd, &ev);
}

static const char *const flow_log_text[N_FLOW_LOGS] = {
	[FLOWS_FULL] = "not followed: max_flows reached, and the client's "
		       "host holds the most",
	[FLOWS_CLIENT] = "not followed: the client address has "
			 "max_flows_per_client connections or "
			 "max_udp_flows_per_client conversations",
	[FLOWS_EVICTED] = "no longer followed: max_flows reached, and the "
			  "host holding the most gave way",
	[FLOWS_LOST] = "no longer followed: a TCP gap that cannot be filled, "
		       "more than max_buffer_bytes or max_held_segments "
		       "waiting, or not DCE/RPC",
};

static uint64_t *flow_log_counter(struct flow_stats *st, int kind)
{
	switch (kind) {
	case FLOWS_FULL:
		return &st->flows_refused;
	case FLOWS_CLIENT:
		return &st->flows_refused_client;
	case FLOWS_EVICTED:
		return &st->flows_evicted;
	default:
		return &st->flows_desync;
	}
}

static bool setup(struct service *s)
{
	struct flow_config fc;
	struct itimerspec tick = {
		.it_interval = { .tv_sec = TICK_MS / 1000 },
		.it_value = { .tv_sec = TICK_MS / 1000 },
	};
	sigset_t mask;
	char err[256];

	for (int k = 0; k < N_FLOW_LOGS; k++)
		s->flow_logs[k] = (struct flow_refusals){
			.counter = flow_log_counter(&s->flows.stats, k),
			.what = flow_log_text[k],
		};
	flow_config_defaults(&fc);
	flow_config_from_policy(&fc, s->cfg);
	if (getentropy(&fc.hash_seed, sizeof(fc.hash_seed)) < 0)
		fc.hash_seed = (uint32_t)now_ms();
	if (!flow_table_init(&s->flows, &fc) || !gate_init(&s->gate, s->cfg)) {
		log_warnx("out of memory");
		return false;
	}
	s->nft = nft_open();
	if (!s->nft) {
		log_warn("netlink socket for nftables");
		return false;
	}
	if (nft_install(s->nft, s->cfg, false, err, sizeof(err)) != 0) {
		log_warnx("installing the nftables %s: %s",
			  s->cfg->nft_mode == NFT_MODE_SETS ? "sets" : "table", err);
		return false;
	}
	s->queue = queue_open(s->cfg->queue_num,
			      s->cfg->on_failure == ON_FAILURE_OPEN);
	if (!s->queue) {
		log_warn("binding NFQUEUE %u", s->cfg->queue_num);
		return false;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	s->signals = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	s->timer = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	s->epoll = epoll_create1(EPOLL_CLOEXEC);
	if (s->signals < 0 || s->timer < 0 || s->epoll < 0 ||
	    timerfd_settime(s->timer, 0, &tick, NULL) < 0 ||
	    add_fd(s, s->signals) < 0 || add_fd(s, s->timer) < 0 ||
	    add_fd(s, queue_fd(s->queue)) < 0) {
		log_warn("event loop setup");
		return false;
	}
	if (sd_watchdog_enabled(0, &s->watchdog_usec) <= 0)
		s->watchdog_usec = 0;
	log_info("started: queue %u (%s), %s %s, %zu server prefix(es)",
		 s->cfg->queue_num,
		 nft_queue_kind(s->nft) == NFT_QUEUE_NATIVE ? "nft queue" :
							      "xt NFQUEUE",
		 s->cfg->nft_mode == NFT_MODE_SETS ? "sets in table" : "table",
		 s->cfg->nft_table, s->cfg->n_servers);
	return true;
}

static void teardown(struct service *s)
{
	if (s->nft)
		nft_remove(s->nft, s->cfg);
	queue_close(s->queue);
	nft_close(s->nft);
	gate_release(&s->gate);
	flow_table_release(&s->flows);
	free(s->decisions.opened);
	if (s->epoll >= 0)
		close(s->epoll);
	if (s->signals >= 0)
		close(s->signals);
	if (s->timer >= 0)
		close(s->timer);
}

int service_run(const char *config_path, const struct rpcgate_config *cfg)
{
	struct service s = {
		.config_path = config_path,
		.cfg = malloc(sizeof(*cfg)),
		.epoll = -1,
		.signals = -1,
		.timer = -1,
		.running = true,
		.decisions.published = -1,
	};
	int status = 0;

	/* reloads replace the policy, so the service owns its copy */
	if (!s.cfg)
		return 1;
	*s.cfg = *cfg;
	if (!setup(&s)) {
		teardown(&s);
		free(s.cfg);
		return 1;
	}
	sd_notify(0, "READY=1");
	while (s.running) {
		struct epoll_event events[8];
		int n = epoll_wait(s.epoll, events, 8, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_warn("epoll_wait");
			status = 1;
			break;
		}
		for (int i = 0; i < n; i++) {
			int fd = events[i].data.fd;

			if (fd == s.signals) {
				on_signal(&s);
			} else if (fd == s.timer) {
				on_tick(&s);
			} else if (queue_receive(s.queue, on_packet, &s) == -ENOBUFS) {
				/* the kernel dropped (or, fail-open, passed)
				 * packets we never saw; their flows will notice */
				s.stats.queue_overruns++;
				log_warnx("NFQUEUE overrun: packets were not seen "
					  "(%llu so far)",
					  (unsigned long long)s.stats.queue_overruns);
			}
		}
	}
	sd_notify(0, "STOPPING=1");
	log_info("stopping");
	teardown(&s);
	free(s.cfg);
	return status;
}
