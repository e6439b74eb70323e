#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#include "conntrack.h"
#include "control.h"
#include "flow.h"
#include "gate.h"
#include "log.h"
#include "nft.h"
#include "packet.h"
#include "privileges.h"
#include "queue.h"
#include "report.h"
#include "service.h"
#include "state.h"
#include "stats.h"
#include "version.h"

#define TICK_MS 1000
/*
 * A DNAT mapping outlives its pinhole by this much, so that the kernel
 * drops a late connection at the pinhole rather than delivering it to the
 * router; the tick that notices a refreshed pinhole renews the mapping.
 */
#define DNAT_MARGIN_MS (2 * TICK_MS)
/* Distinct (server, interface, protocol) the live report tells apart; what
 * does not fit is counted as dropped, and the report says so. */
#define LIVE_REPORT_ENTRIES 4096

struct service_stats {
	uint64_t packets;
	uint64_t answers;
	uint64_t opened;
	uint64_t refused;
	uint64_t drift;
	uint64_t expired;
	uint64_t revoked;
	uint64_t evicted;
	uint64_t nft_errors;
	uint64_t queue_overruns;	/* the socket overran (ENOBUFS) */
	uint64_t queue_full;		/* the kernel dropped: queue full */
	uint64_t queue_undelivered;	/* ... could not send it to us */
	uint64_t repairs;	/* the table put back after someone removed it */
	uint64_t conntrack_lookups;	/* public addresses asked of conntrack */
};

/* What one queued packet's answers decided, logged once per reason. */
struct packet_decisions {
	struct nft_batch *batch;
	size_t n_opened, cap_opened;
	struct pinhole *opened;
	uint32_t refused[GATE_N_REASONS];
	char refused_example[GATE_N_REASONS][160];
	char client[INET6_ADDRSTRLEN], server[INET6_ADDRSTRLEN];
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
 * Packets the kernel dropped instead of queueing them: its counters at
 * the last reading (32 bits, they wrap), and the totals the last line
 * told about; at most one line per log_interval.
 */
struct queue_drops {
	uint32_t full, undelivered;
	uint64_t logged_full, logged_undelivered, logged_overruns;
	uint64_t last_ms;
};

/* Pinholes that gave way because max_pinholes was full, logged rate-limited. */
struct evictions {
	uint64_t logged;	/* stats.evicted at the last line */
	uint64_t last_ms;
	struct host_key host;	/* whose, since the last line */
	bool several_hosts;
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

/*
 * The decision lines that repeat under load, each kind rate-limited on its
 * own (log_burst per log_interval); what a window leaves out is counted
 * and said by the next line of the kind or at the end of the window.
 */
enum line_kind {
	LINE_OPENED,
	LINE_REFUSED,
	LINE_DRIFT,
	LINE_EXPIRED,
	LINE_REVOKED,
	N_LINE_KINDS
};

static const char *const line_kind_what[N_LINE_KINDS] = {
	[LINE_OPENED] = "\"opened\" lines",
	[LINE_REFUSED] = "\"refused\" lines",
	[LINE_DRIFT] = "\"drift\" warnings",
	[LINE_EXPIRED] = "\"expired\" lines",
	[LINE_REVOKED] = "\"revoked\" lines",
};

struct service {
	const char *config_path;
	const struct service_options *opt;
	struct rpcgate_config *cfg;
	struct flow_table flows;
	struct gate gate;
	struct nft *nft;
	struct nft_events *nft_events;	/* someone else's changes, at once */
	struct nft_watch_baseline nft_baseline;
	/* events about rpcgated's objects not checked yet */
	unsigned ruleset_events;
	bool events_pending;		/* more to read before checking */
	struct queue *queue;
	struct conntrack *conntrack;
	int epoll, signals, timer;
	uint64_t watchdog_usec, last_watchdog_ms;
	struct service_stats stats;
	bool packet_published;	/* the packet being read carries published_mark */
	struct packet_decisions decisions;
	struct flow_refusals flow_logs[N_FLOW_LOGS];
	struct evictions evictions;
	struct queue_drops queue_drops;
	struct forgery_log forgeries;
	struct decision_stats tally;	/* for rpcgatectl stats and metrics */
	struct report report;		/* for rpcgatectl report */
	struct control *control;
	struct log_limit line_limits[N_LINE_KINDS];
	uint64_t started_ms;
	uint64_t last_repair_warning_ms;
	struct log_limit repair_lines;
	/* the state file: written when these changes moved on, once a tick */
	bool state_owned;		/* the start took over the earlier run's */
	uint64_t state_changes_written;
	uint64_t last_state_warning_ms;
	bool running;
};

static uint64_t now_ms(void);
static void count_queue_drops(struct service *s);
static void log_queue_drops(struct service *s, uint64_t now);

/*
 * Whether a line of this kind may go out now; *more is empty or says how
 * many lines of the kind the limit left out before it.
 */
static bool line_may_go(struct service *s, enum line_kind kind,
			char more[64])
{
	uint64_t suppressed;

	more[0] = '\0';
	if (!log_limit_pass(&s->line_limits[kind], now_ms(), s->cfg->log_burst,
			    (uint64_t)s->cfg->log_interval * 1000, &suppressed))
		return false;
	if (suppressed)
		snprintf(more, 64, " (%llu like it not logged before)",
			 (unsigned long long)suppressed);
	return true;
}

static void flush_line_limits(struct service *s, uint64_t now)
{
	for (int k = 0; k < N_LINE_KINDS; k++)
		log_limit_flush(&s->line_limits[k], now,
				(uint64_t)s->cfg->log_interval * 1000,
				line_kind_what[k]);
}

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

/* "VERB tcp CLIENT -> SERVER:PORT" and rest, with the pinhole's fields. */
static void log_pinhole_event(struct log_event ev, const struct pinhole *k,
			      const char *verb, const char *rest)
{
	char client[INET6_ADDRSTRLEN], server[INET6_ADDRSTRLEN], what[160];

	describe_pinhole(k, what, sizeof(what));
	packet_addr_format(k->family, k->client, client, sizeof(client));
	packet_addr_format(k->family, k->server, server, sizeof(server));
	ev.client = client;
	ev.server = server;
	ev.port = k->port;
	log_event(&ev, "%s %s%s", verb, what, rest);
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
 * administrator needs to know where to look.  The server is the one the
 * tower names (p->server), judged by its own group, which may not be the
 * endpoint mapper that answered.
 */
static void warn_drift(struct service *s, const struct flow *flow,
		       const struct pinhole *p, const struct epm_endpoint *ep)
{
	const struct server_policy *policy =
		policy_of_server(s->cfg, p->family, p->server);
	char server[INET6_ADDRSTRLEN], iface[UUID_TEXT_LEN + 1], ports[128];
	char whose[INET6_ADDRSTRLEN + 80] = "", client[INET6_ADDRSTRLEN], more[64];
	const char *name = epm_iface_name(&ep->iface);
	size_t used = 0;

	packet_addr_format(p->family, p->server, server, sizeof(server));
	if (policy->line)
		used += (size_t)snprintf(whose, sizeof(whose),
					 " (group at line %u", policy->line);
	if (memcmp(p->server, flow->key.server, sizeof(p->server)) != 0) {
		char answering[INET6_ADDRSTRLEN];

		packet_addr_format(flow->key.family, flow->key.server,
				   answering, sizeof(answering));
		used += (size_t)snprintf(whose + used, sizeof(whose) - used,
					 "%sin an answer from %s",
					 used ? "; " : " (", answering);
	}
	if (used)
		snprintf(whose + used, sizeof(whose) - used, ")");
	uuid_format(&ep->iface, iface);
	expected_ports(policy, &ep->iface, ports, sizeof(ports));
	s->stats.drift++;
	if (!line_may_go(s, LINE_DRIFT, more))
		return;
	packet_addr_format(flow->key.family, flow->key.client, client,
			   sizeof(client));
	log_event(&(struct log_event){ .id = LOG_ID_DRIFT, .decision = "drift",
				       .reason = "drift", .client = client,
				       .server = server,
				       .iface = name ? name : iface,
				       .port = ep->port, .warning = true },
		  "drift: server %s%s advertises %s on %s/%u, expected %s; "
		  "nothing opened. Set the fixed port again: %s%s",
		  server, whose, name ? name : iface, epm_proto_name(ep->proto),
		  ep->port, ports[0] ? ports : "(none for this interface)",
		  gate_registry_value(&ep->iface), more);
}

/*
 * sync_pinholes (an HA pair): a pinhole this router holds stands in the
 * conntrack table as a carrier entry with the time the record gives it,
 * which conntrackd replicates to the peer (conntrack.h).
 */
static void carry_pinhole(struct service *s, const struct gate_pinhole *p,
			  uint64_t now)
{
	int rc;

	if (!s->cfg->sync_pinholes || !p || p->expires_ms <= now)
		return;
	rc = conntrack_carrier_put(s->conntrack, &p->key,
				   s->cfg->sync_mark |
					   gate_iface_fingerprint(&p->facts.iface),
				   (uint32_t)((p->expires_ms - now + 999) / 1000));
	if (rc < 0)
		log_debug("conntrack carrier of a pinhole: %s", strerror(-rc));
}

static void drop_carrier(struct service *s, const struct pinhole *key)
{
	if (s->cfg->sync_pinholes)
		conntrack_carrier_del(s->conntrack, key);
}

static void note_eviction(struct service *s, const struct gate_eviction *ev)
{
	struct evictions *e = &s->evictions;

	drop_carrier(s, &ev->key);
	if (s->stats.evicted++ == e->logged)
		e->host = ev->host;
	else if (!host_key_equal(&e->host, &ev->host))
		e->several_hosts = true;
}

/*
 * An admitted pinhole into the packet's batch, with the removal of the one
 * that gave way for it; settle_decisions commits them.  False when no
 * batch could be begun.
 */
static bool batch_opened(struct service *s, const struct pinhole *p,
			 uint32_t timeout_s, enum nft_element_write write,
			 const struct gate_eviction *evicted)
{
	struct packet_decisions *d = &s->decisions;

	if (!d->batch)
		d->batch = nft_batch_begin(s->nft, s->cfg);
	if (!d->batch)
		return false;
	if (evicted->evicted) {
		nft_batch_pinhole_del(d->batch, &evicted->key);
		if (evicted->published)
			nft_batch_dnat_del(d->batch, &evicted->key,
					   evicted->public_addr);
		note_eviction(s, evicted);
	}
	nft_batch_pinhole_add(d->batch, p, timeout_s, write);
	remember_opened(d, p);
	return true;
}

/*
 * Whether the client reached the server through DNAT is a property of the
 * conversation, learned at its first answer.  rpcgated's queue rule marks
 * a server's packets of DNAT-translated connections with published_mark:
 * an unmarked answer is not published, and conntrack is asked for the
 * public address of marked ones only.  A connection not (yet) in the
 * table is asked about again at the next answer.
 */
static void learn_published(struct service *s, struct flow *flow)
{
	int rc;

	if (!s->packet_published) {
		flow->note.published = FLOW_NOT_PUBLISHED;
		return;
	}
	s->stats.conntrack_lookups++;
	rc = conntrack_public_addr(s->conntrack, &flow->key,
				   flow->note.public_addr);
	if (rc >= 0)
		flow->note.published = rc == 1 ? FLOW_PUBLISHED : FLOW_NOT_PUBLISHED;
}

static void on_endpoint(void *arg, struct flow *flow,
			const struct dce_answer *ans,
			const struct epm_endpoint *ep)
{
	struct service *s = arg;
	struct packet_decisions *d = &s->decisions;
	struct pinhole p;
	struct gate_eviction evicted;
	uint64_t now = now_ms();
	enum gate_reason reason = gate_admit(&s->gate, &flow->key, ans, ep,
					     now, &p, &evicted);
	struct gate_pinhole *record;
	enum nft_element_write write, dnat_write;
	char what[160], endpoint[96], more[64];
	bool published;

	stats_count(&s->tally, &flow->key, ep, reason);
	report_add(&s->report, flow->key.family, flow->key.server, ep);
	packet_addr_format(flow->key.family, flow->key.client, d->client,
		    sizeof(d->client));
	packet_addr_format(flow->key.family, flow->key.server, d->server,
		    sizeof(d->server));
	describe_endpoint(ep, endpoint, sizeof(endpoint));
	/* debug: what the decoder saw in this conversation, and the verdict */
	log_debug("conversation %s %s:%u -> %s:%u, call %u (%s): %s: %s",
		  flow->key.proto == IPPROTO_TCP ? "tcp" : "udp", d->client,
		  flow->key.client_port, d->server, flow->key.server_port,
		  ans->call_id, ans->req->op == EPM_OP_MAP ? "ept_map" : "ept_lookup",
		  endpoint, gate_reason_text(reason));
	if (reason == GATE_DRIFT) {
		warn_drift(s, flow, &p, ep);
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
	record = gate_find(&s->gate, &p);
	write = record ? record->write : NFT_ELEMENT_REPLACE;
	if (flow->note.published == FLOW_PUBLISHED_UNKNOWN)
		learn_published(s, flow);
	published = flow->note.published == FLOW_PUBLISHED;
	/* a mapping the pinhole did not have yet is written as new */
	dnat_write = !published ? NFT_ELEMENT_KEEP :
		     record && record->published &&
				     memcmp(record->public_addr,
					    flow->note.public_addr, 16) == 0 ?
			     write : gate_element_write(&s->gate, NULL, now);
	if (record && published) {
		record->published = true;
		memcpy(record->public_addr, flow->note.public_addr, 16);
	}
	if (write != NFT_ELEMENT_KEEP || dnat_write != NFT_ELEMENT_KEEP) {
		if (!batch_opened(s, &p, s->cfg->pinhole_timeout, write, &evicted))
			return;
		nft_batch_dnat_add(d->batch, &p, flow->note.public_addr,
				   s->cfg->pinhole_timeout * 1000ull + DNAT_MARGIN_MS,
				   dnat_write);
	}
	s->stats.opened++;
	if (line_may_go(s, LINE_OPENED, more)) {
		char public_addr[INET6_ADDRSTRLEN] = "", iface[UUID_TEXT_LEN + 1];
		const char *name = epm_iface_name(&ep->iface);

		describe_pinhole(&p, what, sizeof(what));
		uuid_format(&ep->iface, iface);
		if (published)
			packet_addr_format(p.family, flow->note.public_addr,
					   public_addr, sizeof(public_addr));
		log_event(&(struct log_event){ .id = LOG_ID_OPENED,
					       .decision = "open",
					       .reason = "open",
					       .client = d->client,
					       .server = d->server,
					       .iface = name ? name : iface,
					       .port = p.port },
			  "opened %s for %us%s%s%s: %s advertised by %s to %s%s",
			  what, write == NFT_ELEMENT_KEEP ?
					(unsigned)((record->expires_ms - now) / 1000) :
					s->cfg->pinhole_timeout,
			  write == NFT_ELEMENT_KEEP ? " more (open already)" : "",
			  published ? ", published as " : "", public_addr,
			  endpoint, d->server, d->client, more);
	}
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
	char err[256], more[64];

	if (d->batch && nft_batch_commit(d->batch, err, sizeof(err)) != 0) {
		log_warnx("could not open %zu pinhole(s) for %s: %s", d->n_opened,
			  d->client, err);
		s->stats.nft_errors++;
		gate_visit(&s->gate, forget_failed, d);
		s->gate.kernel_may_hold_unrecorded = true;
	} else if (d->batch) {
		uint64_t now = now_ms();

		for (size_t i = 0; i < d->n_opened; i++)
			carry_pinhole(s, gate_find(&s->gate, &d->opened[i]), now);
	}
	d->batch = NULL;
	for (int r = 0; r < GATE_N_REASONS; r++) {
		if (d->refused[r] == 0)
			continue;
		if (line_may_go(s, LINE_REFUSED, more))
			log_event(&(struct log_event){
					  .id = LOG_ID_REFUSED,
					  .decision = r == GATE_FIXED ? "pass" :
									"refuse",
					  .reason = gate_reason_code((enum gate_reason)r),
					  .client = d->client, .server = d->server },
				  "%s %u endpoint(s) advertised by %s to %s (%s%s): %s%s",
				  r == GATE_FIXED ? "passed" : "refused",
				  d->refused[r], d->server, d->client,
				  d->refused_example[r],
				  d->refused[r] > 1 ? ", ..." : "",
				  gate_reason_text((enum gate_reason)r), more);
		d->refused[r] = 0;
	}
	d->n_opened = 0;
}

/* ---- an HA pair: pinholes carried over by conntrack sync ------------------ */

/*
 * A carrier this router did not write: conntrackd committed it when this
 * router became the master (or it was here before rpcgated started).  The
 * pinhole opens for the time the carrier has left, at most
 * pinhole_timeout, when this router's policy allows it.
 */
static void adopt_carrier(void *arg, const struct conntrack_carrier *c)
{
	struct service *s = arg;
	struct packet_decisions *d = &s->decisions;
	uint32_t timeout_s = c->timeout_s < s->cfg->pinhole_timeout ?
				     c->timeout_s : s->cfg->pinhole_timeout;
	struct gate_eviction evicted;
	enum gate_reason reason;
	char more[64], rest[160];

	if (gate_find(&s->gate, &c->key))
		return;	/* this router's own, or adopted already */
	reason = gate_adopt(&s->gate, &c->key, (uint16_t)c->mark, now_ms(),
			    timeout_s * 1000ull, &evicted);
	if (reason != GATE_OPEN) {
		s->stats.refused++;
		if (line_may_go(s, LINE_REFUSED, more)) {
			snprintf(rest, sizeof(rest),
				 " carried over by conntrack sync: %s%s",
				 gate_reason_text(reason), more);
			log_pinhole_event((struct log_event){
						  .id = LOG_ID_REFUSED,
						  .decision = "refuse",
						  .reason = gate_reason_code(reason) },
					  &c->key, "refused", rest);
		}
		return;
	}
	if (!batch_opened(s, &c->key, timeout_s,
			  gate_find(&s->gate, &c->key)->write, &evicted))
		return;
	packet_addr_format(c->key.family, c->key.client, d->client,
			   sizeof(d->client));
	s->stats.opened++;
	if (line_may_go(s, LINE_OPENED, more)) {
		snprintf(rest, sizeof(rest),
			 " for %us: carried over by conntrack sync%s", timeout_s,
			 more);
		log_pinhole_event((struct log_event){ .id = LOG_ID_OPENED,
						      .decision = "open",
						      .reason = "open" },
				  &c->key, "opened", rest);
	}
}

/* Every carrier in the table: at start, and when announcements were lost. */
static void adopt_carriers_in_table(struct service *s)
{
	static const uint8_t families[] = { AF_INET, AF_INET6 };
	int rc;

	for (size_t i = 0; i < sizeof(families); i++) {
		rc = conntrack_carriers_dump(s->conntrack, families[i],
					     s->cfg->sync_mark, adopt_carrier, s);
		if (rc < 0)
			log_warnx("conntrack: listing carried pinholes: %s",
				  strerror(-rc));
	}
	settle_decisions(s);
}

static void on_carriers(struct service *s)
{
	if (conntrack_carriers_read(s->conntrack, s->cfg->sync_mark,
				    adopt_carrier, s) == -ENOBUFS) {
		log_warnx("conntrack: announcements of new entries were lost; "
			  "listing the carried pinholes instead");
		adopt_carriers_in_table(s);
		return;
	}
	settle_decisions(s);
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

/* At most one line per FLOW_LOG_INTERVAL_MS, naming the host. */
static void log_evictions(struct service *s, uint64_t now)
{
	struct evictions *e = &s->evictions;
	char host[INET6_ADDRSTRLEN];

	if (s->stats.evicted == e->logged ||
	    (e->last_ms && now - e->last_ms < FLOW_LOG_INTERVAL_MS))
		return;
	packet_addr_format(e->host.family, e->host.addr, host, sizeof(host));
	if (e->host.family == AF_INET6)
		snprintf(host + strlen(host), sizeof(host) - strlen(host),
			 "/%u", s->gate.v6_host_prefix);
	log_event(&(struct log_event){ .id = LOG_ID_EVICTED,
				       .decision = "evict", .reason = "total-cap",
				       .client = host, .warning = true },
		  "evicted %llu pinhole(s) of host %s%s: max_pinholes full, "
		  "the biggest holder gives way",
		  (unsigned long long)(s->stats.evicted - e->logged), host,
		  e->several_hosts ? " and others" : "");
	e->logged = s->stats.evicted;
	e->last_ms = now;
	e->several_hosts = false;
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
		log_event(&(struct log_event){ .id = LOG_ID_FORGED,
					       .decision = "drop",
					       .reason = "reverse-path",
					       .client = dst, .server = src,
					       .port = pkt->sport, .warning = true },
			  "forged answer dropped: %s claims to be server %s "
			  "port %u, came in on %s%s, where the route to that "
			  "server does not leave%s", what, src, pkt->sport,
			  ifname(l, pkt->in.ifindex, now), from, more);
	else
		log_event(&(struct log_event){ .id = LOG_ID_FORGED,
					       .decision = "drop",
					       .reason = "ingress",
					       .client = dst, .server = src,
					       .port = pkt->sport, .warning = true },
			  "forged packet dropped: %s claims to be %s port %u of "
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
	uint32_t published = s->cfg->published_mark;

	s->stats.packets++;
	s->packet_published = (in->mark & published) != 0;
	if (data && packet_parse_ip(data, len, &pkt) == PACKET_OK) {
		uint64_t now = now_ms();
		int endpoints;

		pkt.in = *in;
		endpoints = flow_table_packet(&s->flows, &pkt, now * 1000,
					      on_endpoint, s);
		if (endpoints > 0) {
			s->stats.answers++;
			/* released once the kernel holds its pinholes */
			if (s->decisions.batch)
				queue_hold(s->queue, id);
			settle_decisions(s);
		} else if (endpoints < 0) {
			drop = true;
			log_forgery(s, &pkt, (enum flow_forgery)endpoints, now);
		}
		for (int k = 0; k < N_FLOW_LOGS; k++)
			log_flow_refusals(&s->flow_logs[k], now);
		log_evictions(s, now);
	}
	if ((drop ? queue_drop(s->queue, id) :
	     s->packet_published ?
		   queue_accept_with_mark(s->queue, id, in->mark & ~published) :
		   queue_accept(s->queue, id)) < 0)
		log_warnx("verdict for queued packet %u: more packets held "
			  "than a burst records", id);
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
	char more[64];

	if (p->expires_ms > e->now)
		return false;
	remaining = nft_pinhole_remaining(e->s->nft, e->s->cfg, &p->key, NULL);
	if (remaining > 0) {
		p->expires_ms = e->now + (uint64_t)remaining;
		carry_pinhole(e->s, p, e->now);
		if (p->published) {
			if (!e->batch)
				e->batch = nft_batch_begin(e->s->nft, e->s->cfg);
			if (e->batch)
				nft_batch_dnat_add(e->batch, &p->key, p->public_addr,
						   (uint64_t)remaining + DNAT_MARGIN_MS,
						   e->s->gate.kernel_updates_timeouts ?
							   NFT_ELEMENT_REFRESH :
							   NFT_ELEMENT_REPLACE);
		}
		return false;
	}
	/* not asked: the kernel may hold it still, with no record */
	if (remaining < 0 && remaining != -ENOENT)
		e->s->gate.kernel_may_hold_unrecorded = true;
	e->s->stats.expired++;
	drop_carrier(e->s, &p->key);
	if (line_may_go(e->s, LINE_EXPIRED, more))
		log_pinhole_event((struct log_event){ .id = LOG_ID_EXPIRED,
						      .decision = "expire" },
				  &p->key, "expired", more);
	return true;
}

static void log_stats(struct service *s)
{
	const struct flow_stats *f = &s->flows.stats;
	const struct queue_verdict_stats *v = queue_verdict_stats(s->queue);

	log_info("statistics: %llu packets, %llu answers, %llu opened, "
		 "%llu refused, %llu drift, %llu expired, %llu revoked, "
		 "%llu evicted, %zu open now; "
		 "flows %zu tracked now, %llu total, %llu refused (max_flows), "
		 "%llu refused (per client), %llu given way (max_flows), "
		 "%llu half-open expired, "
		 "%llu desynchronized, %llu forged packets dropped; "
		 "%llu nftables errors, %llu queue overruns, "
		 "%llu dropped by the kernel (queue full), %llu not delivered; "
		 "%llu verdict batches for %llu packets, %llu single verdicts; "
		 "%llu ruleset repairs",
		 (unsigned long long)s->stats.packets,
		 (unsigned long long)s->stats.answers,
		 (unsigned long long)s->stats.opened,
		 (unsigned long long)s->stats.refused,
		 (unsigned long long)s->stats.drift,
		 (unsigned long long)s->stats.expired,
		 (unsigned long long)s->stats.revoked,
		 (unsigned long long)s->stats.evicted, s->gate.n_pinholes,
		 s->flows.n_flows, (unsigned long long)f->flows_tracked,
		 (unsigned long long)f->flows_refused,
		 (unsigned long long)f->flows_refused_client,
		 (unsigned long long)f->flows_evicted,
		 (unsigned long long)f->flows_halfopen_expired,
		 (unsigned long long)f->flows_desync,
		 (unsigned long long)f->forged,
		 (unsigned long long)s->stats.nft_errors,
		 (unsigned long long)s->stats.queue_overruns,
		 (unsigned long long)s->stats.queue_full,
		 (unsigned long long)s->stats.queue_undelivered,
		 (unsigned long long)v->batches,
		 (unsigned long long)v->batched_packets,
		 (unsigned long long)v->singles,
		 (unsigned long long)s->stats.repairs);
}

struct revocation {
	struct service *s;
	struct nft_batch *batch;
	bool cut_established;
	const char *why;
	uint64_t n_revoked, n_cut;
};

/* Removes one pinhole from the kernel (in r's batch) and logs it. */
static void revoke_pinhole(struct revocation *r, struct gate_pinhole *p)
{
	char more[64], rest[256];
	int cut = 0;

	if (!r->batch)
		r->batch = nft_batch_begin(r->s->nft, r->s->cfg);
	if (r->batch) {
		nft_batch_pinhole_del(r->batch, &p->key);
		if (p->published)
			nft_batch_dnat_del(r->batch, &p->key, p->public_addr);
	}
	drop_carrier(r->s, &p->key);
	if (r->cut_established)
		cut = conntrack_revoke(r->s->conntrack, &p->key,
				       r->s->cfg->pinhole_mark);
	r->s->stats.revoked++;
	if (line_may_go(r->s, LINE_REVOKED, more)) {
		snprintf(rest, sizeof(rest), ": %s%s%s%s%s", r->why,
			 cut > 0 ? ", established connections cut" : "",
			 cut < 0 ? "; its connections could not be cut: " : "",
			 cut < 0 ? strerror(-cut) : "", more);
		log_pinhole_event((struct log_event){ .id = LOG_ID_REVOKED,
						      .decision = "revoke",
						      .warning = cut < 0 },
				  &p->key, "revoked", rest);
	}
	r->n_revoked++;
	if (cut > 0)
		r->n_cut += (uint64_t)cut;
}

static bool revoke_one(void *arg, struct gate_pinhole *p)
{
	struct revocation *r = arg;

	if (gate_still_allowed(r->s->cfg, p))
		return false;
	revoke_pinhole(r, p);
	return true;
}

static void log_config_errors(char *text)
{
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		log_warnx("%s", line);
}

/*
 * SIGHUP or rpcgatectl reload: the new file is read aside; a bad one is
 * reported (to the log, and to echo when given) and the running policy
 * stays.  A good one replaces the rules and server sets in one batch, and
 * pinholes it no longer allows are removed.  Returns 0, CONFIG_EXIT_INVALID
 * for a bad file, or 1 when the new policy could not be installed.
 */
static int reload(struct service *s, FILE *echo)
{
	struct rpcgate_config *next = malloc(sizeof(*next)), *previous = s->cfg;
	struct revocation r = {
		.s = s, .why = "no longer allowed by the configuration",
	};
	struct flow_config fc = s->flows.cfg;
	char *errors = NULL, err[256];
	size_t errors_len = 0;
	FILE *report = open_memstream(&errors, &errors_len);
	int problems, status = 1;

	if (!next || !report) {
		log_warnx("reload: out of memory; keeping the running policy");
		free(next);
		if (report)
			fclose(report);
		free(errors);
		return 1;
	}
	sd_notify(0, "RELOADING=1");
	config_defaults(next);
	problems = config_load(s->config_path, next, report);
	fclose(report);
	if (problems) {
		if (echo)
			fputs(errors, echo);
		status = CONFIG_EXIT_INVALID;
		log_config_errors(errors);
		log_warnx("reload: %d problem(s) in %s; keeping the running policy",
			  problems, s->config_path);
		goto done;
	}
	if (next->nft_mode != previous->nft_mode ||
	    strcmp(next->nft_table, previous->nft_table) != 0 ||
	    next->queue_num != previous->queue_num ||
	    next->queue_max_len != previous->queue_max_len ||
	    next->on_failure != previous->on_failure ||
	    next->ipv6_host_prefix != previous->ipv6_host_prefix ||
	    next->sync_pinholes != previous->sync_pinholes ||
	    next->sync_mark != previous->sync_mark ||
	    strcmp(next->state_file, previous->state_file) != 0) {
		log_warnx("reload: nft_mode, nft_table, queue_num, "
			  "queue_max_len, on_failure, ipv6_host_prefix, "
			  "sync_pinholes, sync_mark and state_file take effect "
			  "at restart; keeping their running values");
		next->sync_pinholes = previous->sync_pinholes;
		next->sync_mark = previous->sync_mark;
		next->nft_mode = previous->nft_mode;
		snprintf(next->nft_table, sizeof(next->nft_table), "%s",
			 previous->nft_table);
		next->queue_num = previous->queue_num;
		next->queue_max_len = previous->queue_max_len;
		next->on_failure = previous->on_failure;
		next->ipv6_host_prefix = previous->ipv6_host_prefix;
		memcpy(next->state_file, previous->state_file,
		       sizeof(next->state_file));
	}
	if (nft_install(s->nft, next, true, err, sizeof(err)) != 0) {
		log_warnx("reload: %s; keeping the running policy", err);
		if (echo)
			fprintf(echo, "%s\n", err);
		goto done;
	}
	s->cfg = next;
	s->gate.cfg = next;
	flow_config_from_policy(&fc, next);
	if (!flow_table_configure(&s->flows, &fc))
		log_warnx("reload: out of memory for max_flows = %u; keeping "
			  "the running flow limits", next->max_flows);
	control_set_limits(s->control, next->control_max_clients,
			   next->control_timeout);
	log_set_verbose(next->log_verbose);
	r.cut_established = next->revoke_established;
	gate_visit(&s->gate, revoke_one, &r);
	if (r.batch && nft_batch_commit(r.batch, err, sizeof(err)) != 0) {
		log_warnx("reload: removing revoked pinholes: %s", err);
		s->gate.kernel_may_hold_unrecorded = true;
	}
	log_info("reloaded %s", s->config_path);
	next = previous;
	status = 0;
done:
	free(next);
	free(errors);
	sd_notify(0, "READY=1");
	return status;
}

static void on_signal(struct service *s)
{
	struct signalfd_siginfo si;

	while (read(s->signals, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGHUP:
			reload(s, NULL);
			break;
		case SIGUSR1:
			count_queue_drops(s);
			log_stats(s);
			break;
		default:
			s->running = false;
			break;
		}
	}
}

/* ---- restart: the state file and the pinholes of an earlier run ---------- */

/* The state file's clock: it runs on across restarts of the daemon. */
static uint64_t boot_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* What makes the state file out of date: pinholes opened, renewed or gone. */
static uint64_t state_changes(const struct service *s)
{
	return s->stats.opened + s->stats.expired + s->stats.revoked +
	       s->stats.evicted;
}

struct state_out {
	uint8_t *next;
	uint32_t count;
	uint64_t now;
};

static bool save_one(void *arg, struct gate_pinhole *p)
{
	struct state_out *o = arg;
	struct state_record r = { .facts = p->facts, .published = p->published };

	if (p->expires_ms <= o->now)
		return false;
	r.remaining_ms = (uint32_t)(p->expires_ms - o->now < STATE_MAX_REMAINING_MS ?
				    p->expires_ms - o->now : STATE_MAX_REMAINING_MS);
	memcpy(r.public_addr, p->public_addr, sizeof(r.public_addr));
	state_write_record(o->next, &r);
	o->next += STATE_RECORD_SIZE;
	o->count++;
	return false;
}

static bool write_all(int fd, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t)n;
	}
	return true;
}

/*
 * The pinholes and the facts they were opened on, for the next start:
 * written to FILE.tmp and renamed over FILE, so a crash leaves the old
 * file or the new one, never half of one.
 */
static void write_state(struct service *s)
{
	const char *path = s->cfg->state_file;
	size_t size = STATE_HEADER_SIZE + s->gate.n_pinholes * STATE_RECORD_SIZE;
	struct state_out o = { .now = now_ms() };
	char tmp[CONFIG_PATH_MAX + 8];
	uint8_t *buf;
	int fd, e = 0;

	s->state_changes_written = state_changes(s);
	if (!path[0])
		return;
	buf = malloc(size);
	if (!buf) {
		e = ENOMEM;
		goto failed;
	}
	o.next = buf + STATE_HEADER_SIZE;
	gate_visit(&s->gate, save_one, &o);
	state_write_header(buf, o.count, boot_ms());
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		e = errno;
	else if (!write_all(fd, buf, STATE_HEADER_SIZE +
					     (size_t)o.count * STATE_RECORD_SIZE))
		e = errno ? errno : EIO;
	if (fd >= 0 && close(fd) < 0 && !e)
		e = errno;
	if (!e && rename(tmp, path) < 0)
		e = errno;
	if (e && fd >= 0)
		unlink(tmp);
	free(buf);
	if (!e)
		return;
failed:
	if (o.now - s->last_state_warning_ms >= (uint64_t)s->cfg->log_interval * 1000 ||
	    !s->last_state_warning_ms) {
		log_warnx("state file %s: %s; a restart now would not keep the "
			  "pinholes", path, strerror(e));
		s->last_state_warning_ms = o.now ? o.now : 1;
	}
}

/* A pinhole the kernel holds from the earlier run, and whether it is claimed. */
struct adoption {
	struct service *s;
	uint64_t now;
	uint64_t elapsed_ms;		/* since the state file was written */
	bool kernel_knows;		/* the pinhole sets were there to ask */
	struct nft_held_pinholes kernel;	/* and what they hold */
	struct nft_adopted *pins;
	size_t n_pins, cap_pins;
	size_t n_refused, n_gone, n_from_kernel;
	bool no_memory;
};

/* Room for one more of n items of size bytes in *items; false: no memory. */
static bool room_for_one(void **items, size_t n, size_t *cap, size_t size)
{
	void *grown;
	size_t more;

	if (n < *cap)
		return true;
	more = *cap ? 2 * *cap : 64;
	grown = realloc(*items, more * size);
	if (!grown)
		return false;
	*items = grown;
	*cap = more;
	return true;
}

static void log_not_restored(struct service *s, const struct pinhole *k,
			     enum gate_reason reason, const char *why)
{
	char more[64], rest[192];

	if (!line_may_go(s, LINE_REVOKED, more))
		return;
	snprintf(rest, sizeof(rest), " of the earlier run: %s%s",
		 why ? why : gate_reason_text(reason), more);
	log_pinhole_event((struct log_event){ .id = LOG_ID_REVOKED,
					      .decision = "revoke",
					      .reason = why ? "expired" :
							      gate_reason_code(reason) },
			  k, "not restored", rest);
}

/*
 * One record of the state file: the current policy decides on its facts
 * as it would on a new answer (policy_decide, through the gate, caps
 * included), and the kernel says how long it has left when the earlier
 * run's sets are there (traffic renews it there), else the file does.
 */
static void restore_record(void *arg, const struct state_record *r)
{
	struct adoption *a = arg;
	struct service *s = a->s;
	struct pinhole key, out;
	int64_t held = -1;
	enum gate_reason reason = policy_decide(s->cfg, &r->facts, &key);
	uint64_t left, longest = (uint64_t)s->cfg->pinhole_timeout * 1000;

	if (reason != GATE_OPEN) {
		struct pinhole said = { .family = r->facts.family,
					.proto = r->facts.proto == EPM_PROTO_UDP ?
							 IPPROTO_UDP : IPPROTO_TCP,
					.port = r->facts.port };

		memcpy(said.client, r->facts.client, sizeof(said.client));
		memcpy(said.server, r->facts.epm_server, sizeof(said.server));
		a->n_refused++;
		log_not_restored(s, reason == GATE_NOT_SERVER ? &said : &key,
				 reason, NULL);
		return;
	}
	if (a->kernel_knows) {
		held = nft_held_find(&a->kernel, &key);
		left = held > 0 ? (uint64_t)held : 0;
	} else {
		left = r->remaining_ms > a->elapsed_ms ? r->remaining_ms - a->elapsed_ms : 0;
	}
	/* a second record of one pinhole: the first restored it */
	if (left == 0 || gate_find(&s->gate, &key)) {
		if (left == 0) {
			a->n_gone++;
			log_not_restored(s, &key, GATE_OPEN, "it expired meanwhile");
		}
		return;
	}
	if (left > longest)
		left = longest;	/* pinhole_timeout is shorter now */
	reason = gate_restore(&s->gate, &r->facts, a->now, a->now + left, r->published,
			      r->public_addr, &out);
	if (reason != GATE_OPEN) {
		a->n_refused++;
		log_not_restored(s, &key, reason, NULL);
		return;
	}
	if (held > 0)
		a->n_from_kernel++;
	if (!room_for_one((void **)&a->pins, a->n_pins, &a->cap_pins,
			  sizeof(*a->pins))) {
		a->no_memory = true;
		return;
	}
	a->pins[a->n_pins] = (struct nft_adopted){
		.key = out, .remaining_ms = left, .published = r->published,
		.dnat_ms = left + DNAT_MARGIN_MS,
	};
	memcpy(a->pins[a->n_pins].public_addr, r->public_addr, 16);
	a->n_pins++;
}

/* The whole file, or NULL (a missing file is no error: nothing to keep). */
static uint8_t *read_state(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t most = STATE_HEADER_SIZE + (size_t)STATE_MAX_RECORDS * STATE_RECORD_SIZE;
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;

	if (fd < 0) {
		if (errno != ENOENT)
			log_warn("state file %s: ignored", path);
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > most) {
		log_warnx("state file %s: not a regular file of at most %zu "
			  "bytes; ignored", path, most);
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_warn("state file %s: ignored", path);
			free(buf);
			buf = NULL;
		}
		if (n <= 0 || got + (size_t)n > (size_t)st.st_size)
			break;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

/*
 * Before the start's batch: what the earlier run left -- its pinhole sets
 * in the kernel (each element and its remaining time) and its state file
 * (the facts) -- judged again by the current policy.  What passes is in
 * the gate's records and in a->pins for the batch.
 */
static void adopt_earlier_run(struct service *s, struct adoption *a)
{
	char err[160];
	size_t len = 0;
	uint64_t written = 0, now_boot = boot_ms();
	uint8_t *file;
	int rc;

	a->s = s;
	a->now = now_ms();
	rc = nft_pinholes_held(s->nft, s->cfg, &a->kernel);
	a->kernel_knows = rc == 2;
	if (rc < 0) {
		nft_held_release(&a->kernel);
		log_warnx("reading the pinholes of an earlier run: %s; the state "
			  "file alone says what is left", strerror(-rc));
	}
	file = s->cfg->state_file[0] ? read_state(s->cfg->state_file, &len) : NULL;
	if (file && state_parse(file, len, &written, NULL, NULL, err, sizeof(err)) < 0)
		log_warnx("state file %s: %s; ignored", s->cfg->state_file, err);
	else if (file && written > now_boot)
		/* not written since this boot */
		log_warnx("state file %s: written after now; ignored",
			  s->cfg->state_file);
	else if (file) {
		a->elapsed_ms = now_boot - written;
		state_parse(file, len, &written, restore_record, a, err, sizeof(err));
	}
	free(file);
	if (a->no_memory)
		log_warnx("out of memory taking over the earlier run's pinholes; "
			  "some are not restored");
}

/* One line for the start: what was kept of the earlier run, and what not. */
static void log_adoption(const struct adoption *a)
{
	/* what the kernel held that no record restored */
	size_t unrecorded = a->kernel.n - a->n_from_kernel;

	if (a->n_pins == 0 && a->n_refused == 0 && a->n_gone == 0 && unrecorded == 0)
		return;
	log_info("restored %zu pinhole(s) of the earlier run (%zu with the "
		 "kernel's remaining time, %zu with the state file's); not "
		 "restored: %zu no longer allowed, %zu expired, %zu without a "
		 "record of what opened them", a->n_pins, a->n_from_kernel,
		 a->n_pins - a->n_from_kernel, a->n_refused, a->n_gone, unrecorded);
}

/*
 * The state file's directory, made if missing (its parent, /run/rpcgate,
 * comes from the unit's RuntimeDirectory= or tmpfiles.d) and given to the
 * user the daemon is about to run as: it alone writes there, so no member
 * of group rpcgate can hand the next start pinholes.
 */
static void prepare_state_dir(struct service *s)
{
	char path[CONFIG_PATH_MAX], err[256];
	struct privileges priv;
	const char *dir;

	if (!s->cfg->state_file[0])
		return;
	snprintf(path, sizeof(path), "%s", s->cfg->state_file);
	dir = dirname(path);
	if (mkdir(dir, 0700) < 0) {
		if (errno != EEXIST)
			log_warn("state file directory %s", dir);
		return;
	}
	if (!s->opt->user)
		return;
	if (!privileges_lookup(s->opt->user, &priv, err, sizeof(err)))
		log_warnx("%s", err);
	else if (chown(dir, priv.uid, priv.gid) < 0)
		log_warn("state file directory %s: chown", dir);
}

struct restoring {
	struct service *s;
	uint64_t now;
	struct nft_batch *batch;
	const struct nft_held_pinholes *held;	/* what the kernel still has */
	bool all_pinholes;	/* the pinhole sets are new: every pinhole goes back */
	bool all_mappings;	/* the DNAT maps are new */
	size_t n, missing;
};

/* A recorded pinhole with time left goes back into the kernel, if it is
 * not there. */
static bool restore_one(void *arg, struct gate_pinhole *p)
{
	struct restoring *r = arg;
	int64_t held_ms;
	uint64_t left_ms;
	bool put_back;

	if (p->expires_ms <= r->now)
		return false;	/* the next tick expires it */
	left_ms = p->expires_ms - r->now;
	held_ms = nft_held_find(r->held, &p->key);
	/* traffic may have refreshed it past what the record says */
	if (held_ms > (int64_t)left_ms)
		left_ms = (uint64_t)held_ms;
	if (held_ms < 0)
		r->missing++;
	put_back = r->all_pinholes || held_ms < 0;
	if (!put_back && !(p->published && r->all_mappings))
		return false;
	if (!r->batch)
		r->batch = nft_batch_begin(r->s->nft, r->s->cfg);
	if (!r->batch)
		return false;
	if (put_back) {
		/* absent from the kernel: a plain add */
		nft_batch_pinhole_add(r->batch, &p->key,
				      (uint32_t)((left_ms + 999) / 1000),
				      NFT_ELEMENT_ADD);
		r->n++;
	}
	if (p->published)
		nft_batch_dnat_add(r->batch, &p->key, p->public_addr,
				   left_ms + DNAT_MARGIN_MS, NFT_ELEMENT_ADD);
	return false;
}

/* Whether a repair that cannot be made may be said again (once per
 * log_interval: it is tried every second). */
static bool repair_warning_due(struct service *s, uint64_t now)
{
	if (now - s->last_repair_warning_ms < (uint64_t)s->cfg->log_interval * 1000)
		return false;
	s->last_repair_warning_ms = now;
	return true;
}

static void repair_failed(struct service *s, uint64_t now, const char *what,
			  const char *why)
{
	if (repair_warning_due(s, now))
		log_warnx("nftables: %s, and putting it back failed: %s; trying "
			  "again every second", what, why);
}

/*
 * Someone removed or flushed rpcgated's objects -- `nft flush ruleset`,
 * which Debian's /etc/nftables.conf starts with and `systemctl reload
 * nftables` runs, `nft flush chain`, a rule deleted by handle, an
 * administrator's `nft -f` that re-creates the table holding the pinhole
 * sets.  In ruleset shape (a) that re-opens the whole high range, in
 * shape (b) it breaks Outlook: put the whole table back at once, and
 * the pinholes that still have time left, in one batch.  Called on every
 * tick, and after an event that concerns those objects (events_seen:
 * then the pinhole sets' elements are compared with the records too).
 */
static void repair_ruleset(struct service *s, uint64_t now, bool events_seen)
{
	struct nft_held_pinholes held = { 0 };
	struct restoring r = { .s = s, .now = now, .held = &held };
	struct nft_damage d;
	char err[256], more[64] = "";
	uint64_t suppressed;
	int rc;

	rc = nft_ruleset_check(s->nft, s->cfg, &s->nft_baseline, &d);
	if (rc < 0) {
		if (repair_warning_due(s, now))
			log_warnx("nftables: checking the ruleset: %s; trying "
				  "again every second", strerror(-rc));
		return;
	}
	if (d.foreign_table_gone) {
		if (repair_warning_due(s, now))
			log_warnx("nftables: %s; the pinhole sets (nft_mode "
				  "\"sets\") live in table inet %s, which only "
				  "your ruleset creates: everything goes back "
				  "once it is there", d.what, s->cfg->nft_table);
		return;
	}
	if (!d.replace && !d.pinholes_suspect && !events_seen)
		return;
	/* a failed dump leaves it empty: every pinhole goes back */
	if (nft_pinholes_held(s->nft, s->cfg, &held) < 0)
		nft_held_release(&held);
	if (d.replace) {
		r.batch = nft_repair_begin(s->nft, s->cfg);
		r.all_pinholes = s->cfg->nft_mode == NFT_MODE_TABLE;
		r.all_mappings = true;
	}
	gate_visit(&s->gate, restore_one, &r);
	nft_held_release(&held);
	if (!r.batch) {
		if (d.replace)
			repair_failed(s, now, d.what, "out of memory");
		return;	/* nothing was missing */
	}
	if (r.missing && !r.all_pinholes)
		nft_damage_note(&d, "%zu pinhole(s) were removed from the pinhole "
				    "sets of table inet %s", r.missing,
				s->cfg->nft_table);
	if (nft_batch_commit(r.batch, err, sizeof(err)) != 0) {
		s->stats.nft_errors++;
		/* one batch: the kernel is as it was, the next tick tries again */
		repair_failed(s, now, d.what, err);
		return;
	}
	if (d.replace)
		s->gate.kernel_may_hold_unrecorded = false;
	/* the sets re-created are the ones to compare with from now on */
	s->nft_baseline.known = false;
	s->stats.repairs++;
	if (!log_limit_pass(&s->repair_lines, now, s->cfg->log_burst,
			    (uint64_t)s->cfg->log_interval * 1000, &suppressed))
		return;
	if (suppressed)
		snprintf(more, sizeof(more), " (%llu repair(s) not logged before)",
			 (unsigned long long)suppressed);
	if (d.replace)
		log_warnx("nftables: %s; installed table inet %s again in one "
			  "batch, with %zu pinhole(s)%s", d.what,
			  nft_rules_table(s->cfg), r.n, more);
	else
		log_warnx("nftables: %s; put them back%s", d.what, more);
}

static void on_tick(struct service *s)
{
	uint64_t expirations, now = now_ms();
	struct expiry e = { .s = s, .now = now };
	char err[256];

	if (read(s->timer, &expirations, sizeof(expirations)) < 0)
		return;
	repair_ruleset(s, now, false);
	gate_visit(&s->gate, expire_one, &e);
	if (e.batch && nft_batch_commit(e.batch, err, sizeof(err)) != 0)
		log_warnx("renewing DNAT mappings: %s", err);
	if (s->state_owned && state_changes(s) != s->state_changes_written)
		write_state(s);
	flow_table_expire(&s->flows, now * 1000);
	log_evictions(s, now);
	count_queue_drops(s);
	log_queue_drops(s, now);
	flush_line_limits(s, now);
	control_expire(s->control, now);
	if (s->watchdog_usec &&
	    now - s->last_watchdog_ms >= s->watchdog_usec / 2000) {
		sd_notify(0, "WATCHDOG=1");
		s->last_watchdog_ms = now;
	}
}

/* ---- rpcgatectl: answers from the live state ------------------------------ */

/* How a re-advertised pinhole is renewed, for status and the started line. */
static const char *refresh_text(const struct service *s)
{
	return s->gate.kernel_updates_timeouts ? "update" : "replace when short";
}

static void answer_status(struct service *s, struct control_answer *a)
{
	control_section(a, "status", NULL, CONTROL_PAIRS);
	control_row(a);
	control_field(a, "version", RPCGATE_VERSION);
	control_field_u64(a, "uptime_seconds", (now_ms() - s->started_ms) / 1000);
	control_field(a, "mode", s->cfg->nft_mode == NFT_MODE_SETS ? "sets" : "table");
	control_field(a, "nft_table", s->cfg->nft_table);
	control_field(a, "queue", nft_queue_kind(s->nft) == NFT_QUEUE_NATIVE ?
					  "nft queue" : "xt NFQUEUE");
	control_field_u64(a, "queue_num", s->cfg->queue_num);
	control_field(a, "pinhole_refresh", refresh_text(s));
	control_field(a, "on_failure",
		      s->cfg->on_failure == ON_FAILURE_OPEN ? "open" : "closed");
	control_field_u64(a, "servers", s->cfg->n_servers);
	control_field_u64(a, "pinholes", s->gate.n_pinholes);
	control_field_u64(a, "flows", s->flows.n_flows);
	control_field_u64(a, "packets", s->stats.packets);
	control_field_u64(a, "answers", s->stats.answers);
	control_field_u64(a, "opened", s->stats.opened);
	control_field_u64(a, "refused", s->stats.refused);
	control_field_u64(a, "drift", s->stats.drift);
	control_field_u64(a, "expired", s->stats.expired);
	control_field_u64(a, "revoked", s->stats.revoked);
	control_end_section(a);
}

static void iface_text(const struct uuid *iface, char out[UUID_TEXT_LEN + 1])
{
	const char *name = epm_iface_name(iface);

	if (name)
		snprintf(out, UUID_TEXT_LEN + 1, "%s", name);
	else
		uuid_format(iface, out);
}

struct listing {
	struct service *s;
	const struct control_request *req;
	struct control_answer *a;
	uint64_t now;
};

static bool list_pinhole(void *arg, struct gate_pinhole *p)
{
	struct listing *l = arg;
	const struct pinhole *k = &p->key;
	char client[INET6_ADDRSTRLEN], server[INET6_ADDRSTRLEN],
		answering[INET6_ADDRSTRLEN], published[INET6_ADDRSTRLEN],
		iface[UUID_TEXT_LEN + 1], id[CONTROL_PINHOLE_ID_MAX];
	const char *proto = k->proto == IPPROTO_TCP ? "tcp" : "udp";
	int64_t remaining_ms, admitted = -1;
	uint64_t record_ms = p->expires_ms > l->now ? p->expires_ms - l->now : 0;

	if ((l->req->has_client &&
	     !prefix_contains(&l->req->client, k->family, k->client)) ||
	    (l->req->has_server &&
	     !prefix_contains(&l->req->server, k->family, k->server) &&
	     !prefix_contains(&l->req->server, k->family, p->facts.epm_server)))
		return false;
	packet_addr_format(k->family, k->client, client, sizeof(client));
	packet_addr_format(k->family, k->server, server, sizeof(server));
	packet_addr_format(k->family, p->facts.epm_server, answering, sizeof(answering));
	if (p->published)
		packet_addr_format(k->family, p->public_addr, published,
				   sizeof(published));
	iface_text(&p->facts.iface, iface);
	snprintf(id, sizeof(id), "%s/%s/%s/%u", proto, client, server, k->port);
	control_row(l->a);
	control_field(l->a, "proto", proto);
	control_field(l->a, "client", client);
	control_field(l->a, "server", server);
	control_field_u64(l->a, "port", k->port);
	control_field(l->a, "interface", iface);
	control_field(l->a, "answering_server", answering);
	/* the kernel's element: its timeout (traffic refreshes it) and its
	 * counter; an operator's question, so one GET per row is fine */
	remaining_ms = nft_pinhole_remaining(l->s->nft, l->s->cfg, k, &admitted);
	control_field_u64(l->a, "remaining_seconds",
			  ((remaining_ms > 0 ? (uint64_t)remaining_ms : record_ms) + 999) /
				  1000);
	if (admitted >= 0)
		control_field_u64(l->a, "connections_admitted", (uint64_t)admitted);
	else
		control_field(l->a, "connections_admitted", "-");
	control_field(l->a, "published_as", p->published ? published : "-");
	control_field(l->a, "id", id);
	return false;
}

static void list_flows(struct control_answer *a, const struct flow_list *list,
		       uint64_t now)
{
	for (const struct flow *f = list->oldest; f; f = f->table_links.newer) {
		char client[INET6_ADDRSTRLEN], server[INET6_ADDRSTRLEN];
		uint64_t idle_us = now * 1000 > f->last_seen_us ?
					   now * 1000 - f->last_seen_us : 0;

		packet_addr_format(f->key.family, f->key.client, client, sizeof(client));
		packet_addr_format(f->key.family, f->key.server, server, sizeof(server));
		control_row(a);
		control_field(a, "proto", f->key.proto == IPPROTO_TCP ? "tcp" : "udp");
		control_field(a, "client", client);
		control_field_u64(a, "client_port", f->key.client_port);
		control_field(a, "server", server);
		control_field_u64(a, "server_port", f->key.server_port);
		control_field_u64(a, "idle_seconds", idle_us / 1000000);
		control_field(a, "state", f->desync ? "not-followed" :
					  f->established ? "established" : "half-open");
	}
}

static void answer_flows(struct service *s, struct control_answer *a,
			 uint64_t now)
{
	control_section(a, "flows", NULL, CONTROL_TABLE);
	list_flows(a, &s->flows.halfopen, now);
	list_flows(a, &s->flows.established, now);
	control_end_section(a);
}

/*
 * The kernel's count of packets it dropped from the queue: full queue
 * (queue_dropped) and failed deliveries to the daemon (user_dropped),
 * from /proc/net/netfilter/nfnetlink_queue.  False when not there.
 */
static bool kernel_queue_drops(uint16_t num, uint64_t *queue_dropped,
			       uint64_t *user_dropped)
{
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_queue", "re");
	unsigned long long q, u;
	unsigned n;
	char line[256];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %*u %*u %*u %*u %llu %llu", &n, &q, &u) == 3 &&
		    n == num) {
			*queue_dropped = q;
			*user_dropped = u;
			found = true;
		}
	fclose(f);
	return found;
}

static void count_queue_drops(struct service *s)
{
	struct queue_drops *q = &s->queue_drops;
	uint64_t full, undelivered;

	if (!kernel_queue_drops(s->cfg->queue_num, &full, &undelivered))
		return;
	s->stats.queue_full += (uint32_t)((uint32_t)full - q->full);
	s->stats.queue_undelivered +=
		(uint32_t)((uint32_t)undelivered - q->undelivered);
	q->full = (uint32_t)full;
	q->undelivered = (uint32_t)undelivered;
}

/*
 * Overload drops packets (queue_max_len full, or the socket overran) and
 * never passes them unseen: the sender sends them again.  One line per
 * log_interval while it lasts.
 */
static void log_queue_drops(struct service *s, uint64_t now)
{
	struct queue_drops *q = &s->queue_drops;
	uint64_t full = s->stats.queue_full - q->logged_full,
		 undelivered = s->stats.queue_undelivered - q->logged_undelivered,
		 overruns = s->stats.queue_overruns - q->logged_overruns,
		 since = q->last_ms ? q->last_ms : s->started_ms;

	if ((!full && !undelivered && !overruns) ||
	    (q->last_ms && now - q->last_ms < (uint64_t)s->cfg->log_interval * 1000))
		return;
	log_event(&(struct log_event){ .id = LOG_ID_OVERLOAD,
				       .decision = "overrun", .warning = true },
		  "NFQUEUE overload: %llu packet(s) dropped in %llu s, %llu "
		  "with the queue full (queue_max_len = %u) and %llu the "
		  "kernel could not hand to rpcgated (%llu socket overrun(s)); "
		  "none passed unseen, TCP sends them again",
		  (unsigned long long)(full + undelivered),
		  (unsigned long long)((now - since + 999) / 1000),
		  (unsigned long long)full, s->cfg->queue_max_len,
		  (unsigned long long)undelivered, (unsigned long long)overruns);
	q->logged_full = s->stats.queue_full;
	q->logged_undelivered = s->stats.queue_undelivered;
	q->logged_overruns = s->stats.queue_overruns;
	q->last_ms = now;
}

static void answer_stats(struct service *s, struct control_answer *a)
{
	const struct decision_stats *t = &s->tally;
	const struct queue_verdict_stats *v = queue_verdict_stats(s->queue);
	char host[INET6_ADDRSTRLEN], iface[UUID_TEXT_LEN + 1];

	control_section(a, "reasons", "decisions by reason", CONTROL_TABLE);
	for (int r = 0; r < GATE_N_REASONS; r++) {
		control_row(a);
		control_field(a, "reason", gate_reason_code((enum gate_reason)r));
		control_field_u64(a, "endpoints", t->by_reason[r]);
	}
	control_end_section(a);
	control_section(a, "servers", "decisions by answering server", CONTROL_TABLE);
	for (size_t i = 0; i <= t->n_servers; i++) {
		const struct stats_server *sv = i < t->n_servers ? &t->servers[i] :
								    &t->other_servers;

		if (i == t->n_servers && stats_refused(sv) + sv->by_reason[GATE_OPEN] +
						 sv->by_reason[GATE_FIXED] +
						 sv->by_reason[GATE_DRIFT] == 0)
			break;
		if (i < t->n_servers)
			packet_addr_format(sv->family, sv->addr, host, sizeof(host));
		control_row(a);
		control_field(a, "server", i < t->n_servers ? host : "other");
		control_field_u64(a, "opened", sv->by_reason[GATE_OPEN]);
		control_field_u64(a, "refused", stats_refused(sv));
		control_field_u64(a, "fixed", sv->by_reason[GATE_FIXED]);
		control_field_u64(a, "drift", sv->by_reason[GATE_DRIFT]);
	}
	control_end_section(a);
	control_section(a, "drift", "drift by server and interface", CONTROL_TABLE);
	for (size_t i = 0; i < t->n_drift; i++) {
		packet_addr_format(t->drift[i].family, t->drift[i].addr, host,
				   sizeof(host));
		iface_text(&t->drift[i].iface, iface);
		control_row(a);
		control_field(a, "server", host);
		control_field(a, "interface", iface);
		control_field_u64(a, "last_port", t->drift[i].last_port);
		control_field_u64(a, "count", t->drift[i].count);
	}
	control_end_section(a);
	count_queue_drops(s);
	control_section(a, "counters", "counters", CONTROL_PAIRS);
	control_row(a);
	control_field_u64(a, "packets", s->stats.packets);
	control_field_u64(a, "answers", s->stats.answers);
	control_field_u64(a, "queue_overruns", s->stats.queue_overruns);
	control_field_u64(a, "queue_dropped_by_kernel", s->stats.queue_full);
	control_field_u64(a, "queue_user_dropped", s->stats.queue_undelivered);
	control_field_u64(a, "verdict_batches", v->batches);
	control_field_u64(a, "verdict_batched_packets", v->batched_packets);
	control_field_u64(a, "verdict_singles", v->singles);
	control_field_u64(a, "verdict_errors", v->send_errors);
	control_field_u64(a, "nft_errors", s->stats.nft_errors);
	control_field_u64(a, "conntrack_lookups", s->stats.conntrack_lookups);
	control_field_u64(a, "flows_refused", s->flows.stats.flows_refused);
	control_field_u64(a, "flows_desynchronized", s->flows.stats.flows_desync);
	control_field_u64(a, "expired", s->stats.expired);
	control_field_u64(a, "revoked", s->stats.revoked);
	control_field_u64(a, "drift_other", t->other_drift);
	control_end_section(a);
}

struct control_revocation {
	struct revocation r;
	const struct control_request *req;
};

static bool revoke_requested(void *arg, struct gate_pinhole *p)
{
	struct control_revocation *cr = arg;
	const struct control_request *req = cr->req;
	const struct pinhole *k = &p->key;
	size_t alen = k->family == AF_INET ? 4 : 16;

	if (req->target_kind == CONTROL_TARGET_HOST) {
		if (!prefix_contains(&req->target, k->family, k->client) &&
		    !prefix_contains(&req->target, k->family, k->server))
			return false;
	} else if (k->family != req->target_family ||
		   k->proto != req->target_proto || k->port != req->target_port ||
		   memcmp(k->client, req->target_client, alen) != 0 ||
		   memcmp(k->server, req->target_server, alen) != 0) {
		return false;
	}
	revoke_pinhole(&cr->r, p);
	return true;
}

static void answer_revoke(struct service *s, const struct control_request *req,
			  struct control_answer *a)
{
	struct control_revocation cr = {
		.r = { .s = s, .why = "by rpcgatectl",
		       .cut_established = req->established },
		.req = req,
	};
	char err[256];

	gate_visit(&s->gate, revoke_requested, &cr);
	if (cr.r.batch && nft_batch_commit(cr.r.batch, err, sizeof(err)) != 0) {
		s->stats.nft_errors++;
		control_error(a, CONTROL_STATUS_FAILED,
			      "removing the pinholes from nftables: %s", err);
		return;
	}
	control_section(a, "revoked", NULL, CONTROL_PAIRS);
	control_row(a);
	control_field_u64(a, "pinholes", cr.r.n_revoked);
	control_field_u64(a, "connections_cut", cr.r.n_cut);
	control_end_section(a);
}

static void answer_reload(struct service *s, struct control_answer *a)
{
	char *problems = NULL;
	size_t len = 0;
	FILE *echo = open_memstream(&problems, &len);
	int status = reload(s, echo);

	if (echo)
		fclose(echo);
	if (status == CONFIG_EXIT_INVALID)
		control_error(a, CONTROL_STATUS_CONFIG,
			      "%s has problems; keeping the running policy",
			      s->config_path);
	else if (status != 0)
		control_error(a, CONTROL_STATUS_FAILED,
			      "reload failed; keeping the running policy");
	if (status != 0 && problems)
		control_detail(a, problems);
	free(problems);
	if (status == 0) {
		control_section(a, "reloaded", NULL, CONTROL_PAIRS);
		control_row(a);
		control_field(a, "file", s->config_path);
		control_end_section(a);
	}
}

/* Prometheus text exposition format, for node_exporter's textfile collector. */
static void metric(struct control_answer *a, const char *name,
		   const char *type, const char *help, uint64_t value)
{
	control_text(a, "# HELP rpcgate_%s %s\n# TYPE rpcgate_%s %s\nrpcgate_%s %llu\n",
		     name, help, name, type, name, (unsigned long long)value);
}

static void answer_metrics(struct service *s, struct control_answer *a)
{
	const struct decision_stats *t = &s->tally;
	const struct queue_verdict_stats *v = queue_verdict_stats(s->queue);
	char host[INET6_ADDRSTRLEN], iface[UUID_TEXT_LEN + 1];

	control_text(a, "# HELP rpcgate_info The running rpcgated.\n"
		     "# TYPE rpcgate_info gauge\n"
		     "rpcgate_info{version=\"%s\",mode=\"%s\",queue=\"%s\"} 1\n",
		     RPCGATE_VERSION,
		     s->cfg->nft_mode == NFT_MODE_SETS ? "sets" : "table",
		     nft_queue_kind(s->nft) == NFT_QUEUE_NATIVE ? "nft" : "xt");
	metric(a, "uptime_seconds", "gauge", "Seconds since rpcgated started.",
	       (now_ms() - s->started_ms) / 1000);
	metric(a, "pinholes", "gauge", "Pinholes open now.", s->gate.n_pinholes);
	metric(a, "flows", "gauge", "Endpoint-mapper conversations followed now.",
	       s->flows.n_flows);
	metric(a, "packets_total", "counter", "Queued packets read.",
	       s->stats.packets);
	metric(a, "answers_total", "counter", "Endpoint-mapper answers decoded.",
	       s->stats.answers);
	control_text(a, "# HELP rpcgate_decisions_total Advertised endpoints by decision.\n"
		     "# TYPE rpcgate_decisions_total counter\n");
	for (int r = 0; r < GATE_N_REASONS; r++)
		control_text(a, "rpcgate_decisions_total{reason=\"%s\"} %llu\n",
			     gate_reason_code((enum gate_reason)r),
			     (unsigned long long)t->by_reason[r]);
	control_text(a, "# HELP rpcgate_server_decisions_total Advertised endpoints "
		     "by answering server and decision.\n"
		     "# TYPE rpcgate_server_decisions_total counter\n");
	for (size_t i = 0; i < t->n_servers; i++) {
		const struct stats_server *sv = &t->servers[i];

		packet_addr_format(sv->family, sv->addr, host, sizeof(host));
		control_text(a, "rpcgate_server_decisions_total{server=\"%s\",decision=\"opened\"} %llu\n"
			     "rpcgate_server_decisions_total{server=\"%s\",decision=\"refused\"} %llu\n"
			     "rpcgate_server_decisions_total{server=\"%s\",decision=\"fixed\"} %llu\n"
			     "rpcgate_server_decisions_total{server=\"%s\",decision=\"drift\"} %llu\n",
			     host, (unsigned long long)sv->by_reason[GATE_OPEN],
			     host, (unsigned long long)stats_refused(sv),
			     host, (unsigned long long)sv->by_reason[GATE_FIXED],
			     host, (unsigned long long)sv->by_reason[GATE_DRIFT]);
	}
	control_text(a, "# HELP rpcgate_drift_total Advertised ports that were not "
		     "the fixed ones, by server and interface.\n"
		     "# TYPE rpcgate_drift_total counter\n");
	for (size_t i = 0; i < t->n_drift; i++) {
		packet_addr_format(t->drift[i].family, t->drift[i].addr, host,
				   sizeof(host));
		iface_text(&t->drift[i].iface, iface);
		control_text(a, "rpcgate_drift_total{server=\"%s\",interface=\"%s\"} %llu\n",
			     host, iface, (unsigned long long)t->drift[i].count);
	}
	count_queue_drops(s);
	metric(a, "queue_overruns_total", "counter",
	       "Times the queue socket overran (packets dropped, not seen).",
	       s->stats.queue_overruns);
	metric(a, "queue_kernel_dropped_total", "counter",
	       "Packets the kernel dropped because the queue was full.",
	       s->stats.queue_full);
	metric(a, "queue_user_dropped_total", "counter",
	       "Packets the kernel failed to deliver to rpcgated.",
	       s->stats.queue_undelivered);
	metric(a, "verdict_batches_total", "counter",
	       "Batch verdicts sent (each accepts several packets).", v->batches);
	metric(a, "verdict_batched_packets_total", "counter",
	       "Packets accepted by batch verdicts.", v->batched_packets);
	metric(a, "verdict_singles_total", "counter",
	       "One-packet verdicts sent.", v->singles);
	metric(a, "verdict_errors_total", "counter",
	       "Verdict writes the kernel refused.", v->send_errors);
	metric(a, "nft_errors_total", "counter", "nftables batches that failed.",
	       s->stats.nft_errors);
	metric(a, "conntrack_lookups_total", "counter",
	       "Public addresses of published conversations asked of conntrack.",
	       s->stats.conntrack_lookups);
	metric(a, "expired_total", "counter", "Pinholes expired.", s->stats.expired);
	metric(a, "revoked_total", "counter", "Pinholes revoked.", s->stats.revoked);
	metric(a, "flows_refused_total", "counter",
	       "Conversations not followed (max_flows).",
	       s->flows.stats.flows_refused);
	metric(a, "flows_desynchronized_total", "counter",
	       "Conversations no longer followed.", s->flows.stats.flows_desync);
}

/* The port-pinning report over what the endpoint mappers advertised since
 * the start, as `rpcgated -r FILE --report` prints it for a capture. */
static void answer_report(struct service *s, const struct control_request *req,
			  struct control_answer *a)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	if (!out) {
		control_error(a, CONTROL_STATUS_FAILED, "out of memory");
		return;
	}
	if (req->json)
		report_print_json(&s->report, out);
	else
		report_print(&s->report, out);
	if (fclose(out) != 0 || !text)
		control_error(a, CONTROL_STATUS_FAILED, "out of memory");
	else if (req->json) {
		while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
			text[--len] = '\0';	/* the answer stays one line */
		control_json(a, "report", text);
	}
	else
		control_text(a, "%s", text);
	free(text);
}

static void answer_control(void *arg, const struct control_request *req,
			   struct control_answer *a)
{
	struct service *s = arg;
	struct listing l = { s, req, a, now_ms() };

	switch (req->command) {
	case CONTROL_STATUS:
		answer_status(s, a);
		break;
	case CONTROL_PINHOLES:
		control_section(a, "pinholes", NULL, CONTROL_TABLE);
		gate_visit(&s->gate, list_pinhole, &l);
		control_end_section(a);
		break;
	case CONTROL_FLOWS:
		answer_flows(s, a, l.now);
		break;
	case CONTROL_STATS:
		answer_stats(s, a);
		break;
	case CONTROL_REVOKE:
		answer_revoke(s, req, a);
		break;
	case CONTROL_RELOAD:
		answer_reload(s, a);
		break;
	case CONTROL_METRICS:
		answer_metrics(s, a);
		break;
	case CONTROL_REPORT:
		answer_report(s, req, a);
		break;
	}
}

/*
 * The control socket is made as root, in the group of the user the daemon
 * is to run as (root's without -u); then root is left.  Without a control
 * socket (no runtime directory, say) the daemon runs on, rpcgatectl aside.
 */
static bool open_control(struct service *s)
{
	struct privileges priv;
	const char *user = s->opt->user;
	char err[256];

	if (user && (!privileges_lookup(user, &priv, err, sizeof(err)) ||
		     !privileges_set_group(&priv, err, sizeof(err)))) {
		log_warnx("%s", err);
		return false;
	}
	s->control = control_open(s->opt->control_path,
				  s->cfg->control_max_clients,
				  s->cfg->control_timeout, answer_control, s);
	if (!s->control)
		log_warn("control socket %s: rpcgatectl will not reach this "
			 "daemon", s->opt->control_path);
	if (user && !privileges_set_user(&priv, err, sizeof(err))) {
		log_warnx("%s", err);
		return false;
	}
	if (user)
		log_info("running as user %s with CAP_NET_ADMIN only", user);
	return true;
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

/*
 * Whether the kernel renews a pinhole added again, or the daemon must
 * replace it; RPCGATE_NO_ELEMENT_UPDATE=1 forces the latter (tests, and
 * a kernel that says it updates but does not).
 */
static void learn_element_update(struct service *s)
{
	const char *forced = getenv("RPCGATE_NO_ELEMENT_UPDATE");
	int rc;

	if (forced && *forced && strcmp(forced, "0") != 0) {
		s->gate.kernel_updates_timeouts = false;
		log_info("pinhole refresh: RPCGATE_NO_ELEMENT_UPDATE is set: a "
			 "re-advertised pinhole is replaced (add, delete, add) "
			 "once less than half of pinhole_timeout is left, as on "
			 "a kernel that cannot update timeouts");
		return;
	}
	rc = nft_probe_element_update(s->nft, s->cfg);
	s->gate.kernel_updates_timeouts = rc == 1;
	if (rc == 1)
		log_info("pinhole refresh: the kernel updates an element's timeout: a "
			 "re-advertised pinhole is refreshed by one add, no delete");
	else
		log_info("pinhole refresh: the kernel %s%s: a re-advertised pinhole is "
			 "replaced (add, delete, add) once less than half of "
			 "pinhole_timeout is left", rc == 0 ?
			 "keeps an element's timeout when it is added again "
			 "(before Linux 6.10)" :
			 "could not be asked whether it updates an element's "
			 "timeout: ", rc == 0 ? "" : strerror(-rc));
}

static bool setup(struct service *s)
{
	struct flow_config fc;
	struct itimerspec tick = {
		.it_interval = { .tv_sec = TICK_MS / 1000 },
		.it_value = { .tv_sec = TICK_MS / 1000 },
	};
	struct adoption earlier = { 0 };
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
	if (!flow_table_init(&s->flows, &fc) || !gate_init(&s->gate, s->cfg) ||
	    !report_init(&s->report, LIVE_REPORT_ENTRIES)) {
		log_warnx("out of memory");
		return false;
	}
	s->nft = nft_open();
	if (!s->nft) {
		log_warn("netlink socket for nftables");
		return false;
	}
	prepare_state_dir(s);
	adopt_earlier_run(s, &earlier);
	if (nft_install_adopting(s->nft, s->cfg, earlier.pins, earlier.n_pins,
				 err, sizeof(err)) != 0) {
		log_warnx("installing the nftables %s: %s; what an earlier run "
			  "left is as it was",
			  s->cfg->nft_mode == NFT_MODE_SETS ? "sets" : "table", err);
		nft_held_release(&earlier.kernel);
		free(earlier.pins);
		return false;
	}
	log_adoption(&earlier);
	nft_held_release(&earlier.kernel);
	free(earlier.pins);
	/* from now on this run's state is the one to keep; the first tick writes it */
	s->state_owned = true;
	s->state_changes_written = UINT64_MAX;
	s->nft_events = nft_events_open(s->nft);
	if (!s->nft_events) {
		log_warn("netlink socket for nftables events");
		return false;
	}
	learn_element_update(s);
	s->conntrack = conntrack_open();
	if (!s->conntrack) {
		log_warn("netlink socket for conntrack");
		return false;
	}
	/* on_failure is the queue rule's bypass (nft.c): whether traffic
	 * passes while no daemon is there; a full queue always drops */
	s->queue = queue_open(s->cfg->queue_num, s->cfg->queue_max_len);
	if (!s->queue) {
		log_warn("binding NFQUEUE %u", s->cfg->queue_num);
		return false;
	}
	if (!open_control(s))
		return false;
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
	    add_fd(s, queue_fd(s->queue)) < 0 ||
	    add_fd(s, nft_events_fd(s->nft_events)) < 0 ||
	    (s->control && add_fd(s, control_fd(s->control)) < 0)) {
		log_warn("event loop setup");
		return false;
	}
	if (s->cfg->sync_pinholes) {
		int fd = conntrack_carriers_watch(s->conntrack, s->cfg->sync_mark);

		if (fd < 0 || add_fd(s, fd) < 0) {
			log_warnx("conntrack: watching for carried pinholes: %s",
				  strerror(fd < 0 ? -fd : errno));
			return false;
		}
		adopt_carriers_in_table(s);
	}
	if (sd_watchdog_enabled(0, &s->watchdog_usec) <= 0)
		s->watchdog_usec = 0;
	log_info("started: queue %u (%s), %s %s, %zu server prefix(es), "
		 "pinhole refresh: %s",
		 s->cfg->queue_num,
		 nft_queue_kind(s->nft) == NFT_QUEUE_NATIVE ? "nft queue" :
							      "xt NFQUEUE",
		 s->cfg->nft_mode == NFT_MODE_SETS ? "sets in table" : "table",
		 s->cfg->nft_table, s->cfg->n_servers, refresh_text(s));
	return true;
}

/*
 * The table stays: its drop rule keeps the high range closed, its queue
 * rule (no one listening) drops endpoint-mapper traffic or, with
 * on_failure "open", lets it pass, and the pinholes run out by their
 * timeouts.  `rpcgated --remove` takes it away.
 */
static void teardown(struct service *s)
{
	if (s->state_owned)
		write_state(s);
	queue_close(s->queue);
	conntrack_close(s->conntrack);
	nft_events_close(s->nft_events);
	nft_close(s->nft);
	control_close(s->control);
	gate_release(&s->gate);
	report_release(&s->report);
	flow_table_release(&s->flows);
	free(s->decisions.opened);
	if (s->epoll >= 0)
		close(s->epoll);
	if (s->signals >= 0)
		close(s->signals);
	if (s->timer >= 0)
		close(s->timer);
}

int service_run(const struct service_options *opt,
		const struct rpcgate_config *cfg)
{
	struct service s = {
		.config_path = opt->config_path,
		.opt = opt,
		.started_ms = now_ms(),
		.cfg = malloc(sizeof(*cfg)),
		.epoll = -1,
		.signals = -1,
		.timer = -1,
		.running = true,
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
			} else if (s.control && fd == control_fd(s.control)) {
				control_serve(s.control, now_ms());
			} else if (fd == nft_events_fd(s.nft_events)) {
				s.ruleset_events += nft_events_read(s.nft_events, s.cfg,
								    &s.events_pending);
			} else if (fd == conntrack_carriers_fd(s.conntrack)) {
				on_carriers(&s);
			} else if (queue_receive(s.queue, on_packet, &s) == -ENOBUFS) {
				/* the kernel dropped packets we never saw
				 * (queue_user_dropped); the tick logs it */
				s.stats.queue_overruns++;
			}
		}
		/* a burst of events (a 10,000-element flush) costs one check,
		 * once it is all read */
		if (s.ruleset_events && !s.events_pending) {
			log_debug("nftables: %u event(s) about rpcgated's objects "
				  "from elsewhere: checking", s.ruleset_events);
			s.ruleset_events = 0;
			repair_ruleset(&s, now_ms(), true);
		}
	}
	sd_notify(0, "STOPPING=1");
	log_info("stopping");
	teardown(&s);
	free(s.cfg);
	return status;
}
