#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gate.h"
#include "report.h"

#define BUCKETS 4096
/* the pinhole index: a bucket per pinhole max_pinholes allows, in bounds */
#define INDEX_MIN_BUCKETS 4096u
#define INDEX_MAX_BUCKETS (1u << 20)

struct gate_client {
	struct gate_client *next;	/* hash chain */
	uint8_t family;
	uint8_t addr[16];
	uint32_t n_pinholes;
	struct gate_pinhole *pinholes;
	struct gate_host *host;
};

struct gate_host {
	struct gate_host *next;		/* hash chain */
	struct host_key key;
	uint32_t n_pinholes;
	size_t heap_index;		/* in gate.biggest */
	struct gate_pinhole *oldest, *newest;
};

static size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

bool gate_init(struct gate *g, const struct rpcgate_config *cfg)
{
	memset(g, 0, sizeof(*g));
	g->cfg = cfg;
	g->v6_host_prefix = cfg->ipv6_host_prefix;
	g->clients = calloc(BUCKETS, sizeof(*g->clients));
	g->hosts = calloc(BUCKETS, sizeof(*g->hosts));
	g->bucket_mask = BUCKETS - 1;
	g->index_mask = INDEX_MIN_BUCKETS - 1;
	while (g->index_mask + 1 < cfg->max_pinholes &&
	       g->index_mask + 1 < INDEX_MAX_BUCKETS)
		g->index_mask = 2 * g->index_mask + 1;
	g->index = calloc(g->index_mask + 1, sizeof(*g->index));
	g->kernel_updates_timeouts = true;
	return g->clients && g->hosts && g->index;
}

void gate_release(struct gate *g)
{
	for (size_t i = 0; g->clients && i <= g->bucket_mask; i++) {
		while (g->clients[i]) {
			struct gate_client *c = g->clients[i];

			g->clients[i] = c->next;
			while (c->pinholes) {
				struct gate_pinhole *p = c->pinholes;

				c->pinholes = p->next;
				free(p);
			}
			free(c);
		}
	}
	for (size_t i = 0; g->hosts && i <= g->bucket_mask; i++) {
		while (g->hosts[i]) {
			struct gate_host *h = g->hosts[i];

			g->hosts[i] = h->next;
			free(h);
		}
	}
	free(g->clients);
	free(g->hosts);
	free(g->index);
	free(g->biggest);
	memset(g, 0, sizeof(*g));
}

static size_t bucket_of(const struct gate *g, uint8_t family,
			const uint8_t *addr)
{
	uint32_t h = 2166136261u ^ family;

	for (size_t i = 0; i < addr_len(family); i++)
		h = (h ^ addr[i]) * 16777619u;
	return h & g->bucket_mask;
}

static struct gate_client **find_client(struct gate *g, uint8_t family,
					const uint8_t *addr)
{
	struct gate_client **link = &g->clients[bucket_of(g, family, addr)];

	while (*link && ((*link)->family != family ||
			 memcmp((*link)->addr, addr, addr_len(family)) != 0))
		link = &(*link)->next;
	return link;
}

static struct gate_host **find_host(struct gate *g, const struct host_key *key)
{
	struct gate_host **link = &g->hosts[bucket_of(g, key->family, key->addr)];

	while (*link && !host_key_equal(&(*link)->key, key))
		link = &(*link)->next;
	return link;
}

/* ---- the hosts by pinholes held: a max-heap ---------------------------- */

static void heap_place(struct gate *g, size_t i, struct gate_host *h)
{
	g->biggest[i] = h;
	h->heap_index = i;
}

static void heap_up(struct gate *g, size_t i)
{
	struct gate_host *h = g->biggest[i];

	while (i > 0 && g->biggest[(i - 1) / 2]->n_pinholes < h->n_pinholes) {
		heap_place(g, i, g->biggest[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	heap_place(g, i, h);
}

static void heap_down(struct gate *g, size_t i)
{
	struct gate_host *h = g->biggest[i];

	for (;;) {
		size_t child = 2 * i + 1;

		if (child >= g->n_hosts)
			break;
		if (child + 1 < g->n_hosts &&
		    g->biggest[child + 1]->n_pinholes > g->biggest[child]->n_pinholes)
			child++;
		if (g->biggest[child]->n_pinholes <= h->n_pinholes)
			break;
		heap_place(g, i, g->biggest[child]);
		i = child;
	}
	heap_place(g, i, h);
}

static bool heap_reserve(struct gate *g)
{
	struct gate_host **grown;
	size_t cap;

	if (g->n_hosts < g->cap_hosts)
		return true;
	cap = g->cap_hosts ? 2 * g->cap_hosts : 64;
	grown = realloc(g->biggest, cap * sizeof(*grown));
	if (!grown)
		return false;
	g->biggest = grown;
	g->cap_hosts = cap;
	return true;
}

/* A host with no pinholes left leaves the heap and the table. */
static void host_forget(struct gate *g, struct gate_host *h)
{
	struct gate_host *last = g->biggest[--g->n_hosts];
	size_t i = h->heap_index;

	if (last != h) {
		heap_place(g, i, last);
		heap_up(g, i);
		heap_down(g, last->heap_index);
	}
	*find_host(g, &h->key) = h->next;
	free(h);
}

/* ---- the record --------------------------------------------------------- */

static bool same_pinhole(const struct pinhole *a, const struct pinhole *b)
{
	return a->family == b->family && a->proto == b->proto &&
	       a->port == b->port &&
	       memcmp(a->client, b->client, addr_len(a->family)) == 0 &&
	       memcmp(a->server, b->server, addr_len(a->family)) == 0;
}

static struct gate_pinhole **index_bucket(struct gate *g,
					  const struct pinhole *p)
{
	uint32_t h = 2166136261u;
	const uint8_t fields[] = { p->family, p->proto, (uint8_t)(p->port >> 8),
				   (uint8_t)p->port };

	for (size_t i = 0; i < sizeof(fields); i++)
		h = (h ^ fields[i]) * 16777619u;
	for (size_t i = 0; i < addr_len(p->family); i++)
		h = (h ^ p->client[i]) * 16777619u;
	for (size_t i = 0; i < addr_len(p->family); i++)
		h = (h ^ p->server[i]) * 16777619u;
	return &g->index[h & g->index_mask];
}

struct gate_pinhole *gate_find(struct gate *g, const struct pinhole *p)
{
	for (struct gate_pinhole *h = *index_bucket(g, p); h; h = h->index_next)
		if (same_pinhole(&h->key, p))
			return h;
	return NULL;
}

static void index_unlink(struct gate *g, struct gate_pinhole *p)
{
	struct gate_pinhole **link = index_bucket(g, &p->key);

	while (*link != p)
		link = &(*link)->index_next;
	*link = p->index_next;
}

enum nft_element_write gate_element_write(const struct gate *g,
					  const struct gate_pinhole *known,
					  uint64_t now_ms)
{
	uint64_t left_ms;

	if (g->kernel_updates_timeouts)
		return NFT_ELEMENT_REFRESH;
	if (!known)
		return g->kernel_may_hold_unrecorded ? NFT_ELEMENT_REPLACE :
						       NFT_ELEMENT_ADD;
	left_ms = known->expires_ms > now_ms ? known->expires_ms - now_ms : 0;
	return 2 * left_ms > (uint64_t)g->cfg->pinhole_timeout * 1000 ?
		       NFT_ELEMENT_KEEP : NFT_ELEMENT_REPLACE;
}

static void host_append(struct gate_host *h, struct gate_pinhole *p)
{
	p->host_older = h->newest;
	p->host_newer = NULL;
	if (h->newest)
		h->newest->host_newer = p;
	else
		h->oldest = p;
	h->newest = p;
}

static void host_unlink(struct gate_host *h, struct gate_pinhole *p)
{
	if (p->host_older)
		p->host_older->host_newer = p->host_newer;
	else
		h->oldest = p->host_newer;
	if (p->host_newer)
		p->host_newer->host_older = p->host_older;
	else
		h->newest = p->host_older;
}

/*
 * Forgets the pinhole *link points to in its client's list; the client
 * itself stays, even when empty, for the caller to drop.
 */
static void forget(struct gate *g, struct gate_pinhole **link)
{
	struct gate_pinhole *p = *link;
	struct gate_client *c = p->client;
	struct gate_host *h = c->host;

	*link = p->next;
	if (p->next)
		p->next->pprev = link;
	index_unlink(g, p);
	c->n_pinholes--;
	host_unlink(h, p);
	h->n_pinholes--;
	if (h->n_pinholes == 0)
		host_forget(g, h);
	else
		heap_down(g, h->heap_index);
	g->n_pinholes--;
	free(p);
}

/* The biggest holder's oldest pinhole gives way: copied out, forgotten. */
static void evict_from(struct gate *g, struct gate_host *h,
		       struct gate_eviction *evicted)
{
	struct gate_pinhole *p = h->oldest;
	struct gate_client *c = p->client, **clink;

	evicted->evicted = true;
	evicted->host = h->key;
	evicted->key = p->key;
	evicted->published = p->published;
	memcpy(evicted->public_addr, p->public_addr, sizeof(p->public_addr));
	forget(g, p->pprev);
	if (c->n_pinholes == 0) {
		clink = find_client(g, c->family, c->addr);
		*clink = c->next;
		free(c);
	}
}

/*
 * policy_decide on facts, then the caps; records the pinhole until
 * expires_ms (unless its element is kept as it is).  may_evict: when
 * max_pinholes is full, the biggest holder may give way (an answer), or
 * not (a pinhole restored at start).
 */
static enum gate_reason admit_facts(struct gate *g,
				    const struct policy_facts *facts,
				    uint64_t now_ms, uint64_t expires_ms,
				    bool may_evict,
				    struct pinhole *out,
				    struct gate_eviction *evicted)
{
	enum gate_reason reason;
	struct gate_client **clink, *c;
	struct gate_host **hlink, *h, *biggest;
	struct host_key host;
	struct gate_pinhole *p;

	memset(evicted, 0, sizeof(*evicted));
	reason = policy_decide(g->cfg, facts, out);
	if (reason != GATE_OPEN)
		return reason;
	p = gate_find(g, out);
	if (p) {
		/* renewed: now the host's newest */
		h = p->client->host;
		host_unlink(h, p);
		host_append(h, p);
		p->write = gate_element_write(g, p, now_ms);
		goto record;
	}
	clink = find_client(g, facts->family, facts->client);
	c = *clink;
	if (c && c->n_pinholes >= g->cfg->max_pinholes_per_client)
		return GATE_CLIENT_CAP;
	host_key_of(facts->family, facts->client, g->v6_host_prefix, &host);
	hlink = find_host(g, &host);
	h = *hlink;
	biggest = g->n_hosts ? g->biggest[0] : NULL;
	if (g->n_pinholes >= g->cfg->max_pinholes &&
	    (!may_evict || !biggest ||
	     (h ? h->n_pinholes : 0) >= biggest->n_pinholes))
		return GATE_TOTAL_CAP;
	/*
	 * Everything is allocated and linked before anything gives way: the
	 * eviction may free a client or host whose next field clink or
	 * hlink points to.
	 */
	p = calloc(1, sizeof(*p));
	if (!p || (!h && !heap_reserve(g)))
		goto no_memory;
	if (!h) {
		h = calloc(1, sizeof(*h));
		if (!h)
			goto no_memory;
		h->key = host;
		*hlink = h;
		heap_place(g, g->n_hosts++, h);
	}
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c) {
			if (h->n_pinholes == 0)
				host_forget(g, h);
			goto no_memory;
		}
		c->family = facts->family;
		memcpy(c->addr, facts->client, addr_len(facts->family));
		c->host = h;
		*clink = c;
	}
	/* the newcomer's host holds fewer than the biggest: another one */
	if (g->n_pinholes >= g->cfg->max_pinholes)
		evict_from(g, biggest, evicted);
	p->key = *out;
	p->write = gate_element_write(g, NULL, now_ms);
	p->client = c;
	p->next = c->pinholes;
	if (p->next)
		p->next->pprev = &p->next;
	p->pprev = &c->pinholes;
	c->pinholes = p;
	p->index_next = *index_bucket(g, &p->key);
	*index_bucket(g, &p->key) = p;
	c->n_pinholes++;
	host_append(h, p);
	h->n_pinholes++;
	heap_up(g, h->heap_index);
	g->n_pinholes++;
record:
	p->facts = *facts;
	if (p->write != NFT_ELEMENT_KEEP)
		p->expires_ms = expires_ms;
	return GATE_OPEN;
no_memory:
	free(p);
	return GATE_TOTAL_CAP;
}

enum gate_reason gate_admit(struct gate *g, const struct flow_key *flow,
			    const struct dce_answer *ans,
			    const struct epm_endpoint *ep, uint64_t now_ms,
			    struct pinhole *out, struct gate_eviction *evicted)
{
	struct policy_facts facts;

	policy_facts_of(flow->family, flow->client, flow->server, ans->req, ep,
			&facts);
	return admit_facts(g, &facts, now_ms,
			   now_ms + (uint64_t)g->cfg->pinhole_timeout * 1000,
			   true, out, evicted);
}

enum gate_reason gate_restore(struct gate *g, const struct policy_facts *facts,
			      uint64_t now_ms, uint64_t expires_ms, bool published,
			      const uint8_t *public_addr, struct pinhole *out)
{
	struct gate_eviction none;
	enum gate_reason reason;
	struct gate_pinhole *p;

	reason = admit_facts(g, facts, now_ms, expires_ms, false, out, &none);
	if (reason != GATE_OPEN)
		return reason;
	p = gate_find(g, out);
	p->published = published;
	if (published)
		memcpy(p->public_addr, public_addr, sizeof(p->public_addr));
	return GATE_OPEN;
}

uint16_t gate_iface_fingerprint(const struct uuid *iface)
{
	const uint8_t *b = (const uint8_t *)iface;
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < sizeof(*iface); i++)
		h = (h ^ b[i]) * 16777619u;
	return (uint16_t)(h ^ (h >> 16));
}

/* The interfaces the server's group names (allowed, or with fixed ports). */
static const struct uuid *iface_by_fingerprint(const struct server_policy *policy,
					       uint16_t fingerprint)
{
	for (size_t i = 0; i < policy->n_ifaces; i++)
		if (gate_iface_fingerprint(&policy->ifaces[i]) == fingerprint)
			return &policy->ifaces[i];
	for (size_t i = 0; i < policy->n_fixed; i++)
		if (!policy->fixed[i].any_iface &&
		    gate_iface_fingerprint(&policy->fixed[i].iface) == fingerprint)
			return &policy->fixed[i].iface;
	return NULL;
}

enum gate_reason gate_adopt(struct gate *g, const struct pinhole *key,
			    uint16_t iface_fingerprint, uint64_t now_ms,
			    uint64_t lifetime_ms, struct gate_eviction *evicted)
{
	const struct server_policy *policy =
		policy_of_server(g->cfg, key->family, key->server);
	const struct uuid *iface = policy ?
		iface_by_fingerprint(policy, iface_fingerprint) : NULL;
	struct policy_facts facts = {
		.family = key->family,
		.op = EPM_OP_MAP,
		.proto = key->proto == IPPROTO_UDP ? EPM_PROTO_UDP : EPM_PROTO_TCP,
		.port = key->port,
	};
	struct pinhole out;

	memset(evicted, 0, sizeof(*evicted));
	if (key->proto != IPPROTO_TCP && key->proto != IPPROTO_UDP)
		return GATE_PROTO;
	memcpy(facts.client, key->client, addr_len(key->family));
	memcpy(facts.epm_server, key->server, addr_len(key->family));
	/* an interface no name of the group matches stays the nil UUID:
	 * only a group that allows any interface admits it */
	if (iface)
		facts.iface = *iface;
	return admit_facts(g, &facts, now_ms, now_ms + lifetime_ms, true, &out,
			   evicted);
}

void gate_visit(struct gate *g, gate_visit_fn fn, void *arg)
{
	for (size_t i = 0; i <= g->bucket_mask; i++) {
		struct gate_client **clink = &g->clients[i];

		while (*clink) {
			struct gate_client *c = *clink;
			struct gate_pinhole **plink = &c->pinholes;

			while (*plink) {
				if (fn(arg, *plink))
					forget(g, plink);
				else
					plink = &(*plink)->next;
			}
			if (c->n_pinholes == 0) {
				*clink = c->next;
				free(c);
			} else {
				clink = &c->next;
			}
		}
	}
}

bool gate_still_allowed(const struct rpcgate_config *cfg,
			const struct gate_pinhole *p)
{
	struct pinhole again;

	return policy_decide(cfg, &p->facts, &again) == GATE_OPEN;
}

static const struct {
	const char *code;
	const char *text;
} reasons[] = {
	[GATE_OPEN] = { "open", "opened" },
	[GATE_NOT_SERVER] = { "not-server",
			      "the answering endpoint mapper is not in servers" },
	[GATE_LOOKUP] = { "lookup", "ept_lookup answers open nothing" },
	[GATE_IFACE] = { "iface", "interface not in interfaces" },
	[GATE_NOT_ASKED] = { "not-asked",
			     "the answer names an interface the client did not ask for" },
	[GATE_PROTO] = { "proto", "not a TCP endpoint" },
	[GATE_PORT_RANGE] = { "port-range", "port outside port_range" },
	[GATE_PORT_DENIED] = { "port-denied", "port in deny_ports" },
	[GATE_TOWER_ADDR] = { "tower-addr",
			      "the tower names a host that is not a configured server" },
	[GATE_CLIENT_CAP] = { "client-cap",
			      "the client has max_pinholes_per_client pinholes open" },
	[GATE_TOTAL_CAP] = { "total-cap",
			     "max_pinholes pinholes are open, and the client's "
			     "host holds as many as any" },
	[GATE_FIXED] = { "fixed", "a fixed port, open to every client" },
	[GATE_DRIFT] = { "drift", "not one of the fixed ports (drift)" },
};

const char *gate_registry_value(const struct uuid *iface)
{
	const char *value = report_registry_value(iface);

	return value ? value : "the service's fixed-port setting";
}

const char *gate_reason_text(enum gate_reason reason)
{
	return reasons[reason].text;
}

const char *gate_reason_code(enum gate_reason reason)
{
	return reasons[reason].code;
}
