#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "stats.h"

static size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

static bool same_host(uint8_t family, const uint8_t *addr, uint8_t f2,
		      const uint8_t *a2)
{
	return family == f2 && memcmp(addr, a2, addr_len(family)) == 0;
}

static struct stats_server *server_of(struct decision_stats *st,
				      const struct flow_key *flow)
{
	struct stats_server *s;

	for (size_t i = 0; i < st->n_servers; i++)
		if (same_host(st->servers[i].family, st->servers[i].addr,
			      flow->family, flow->server))
			return &st->servers[i];
	if (st->n_servers == STATS_MAX_SERVERS)
		return &st->other_servers;
	s = &st->servers[st->n_servers++];
	memset(s, 0, sizeof(*s));
	s->family = flow->family;
	memcpy(s->addr, flow->server, addr_len(flow->family));
	return s;
}

static void count_drift(struct decision_stats *st, const struct flow_key *flow,
			const struct epm_endpoint *ep)
{
	struct stats_drift *d = NULL;

	for (size_t i = 0; i < st->n_drift && !d; i++)
		if (same_host(st->drift[i].family, st->drift[i].addr,
			      flow->family, flow->server) &&
		    uuid_equal(&st->drift[i].iface, &ep->iface))
			d = &st->drift[i];
	if (!d && st->n_drift == STATS_MAX_DRIFT) {
		st->other_drift++;
		return;
	}
	if (!d) {
		d = &st->drift[st->n_drift++];
		memset(d, 0, sizeof(*d));
		d->family = flow->family;
		memcpy(d->addr, flow->server, addr_len(flow->family));
		d->iface = ep->iface;
	}
	d->last_port = ep->port;
	d->count++;
}

void stats_count(struct decision_stats *st, const struct flow_key *flow,
		 const struct epm_endpoint *ep, enum gate_reason reason)
{
	st->by_reason[reason]++;
	server_of(st, flow)->by_reason[reason]++;
	if (reason == GATE_DRIFT)
		count_drift(st, flow, ep);
}

uint64_t stats_refused(const struct stats_server *s)
{
	uint64_t n = 0;

	for (int r = 0; r < GATE_N_REASONS; r++)
		if (r != GATE_OPEN && r != GATE_FIXED && r != GATE_DRIFT)
			n += s->by_reason[r];
	return n;
}
