#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gate.h"

#define CLIENT_BUCKETS 4096

struct gate_client {
	struct gate_client *next;
	uint8_t family;
	uint8_t addr[16];
	uint32_t n_pinholes;
	struct gate_pinhole *pinholes;
};

static size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

bool gate_init(struct gate *g, const struct rpcgate_config *cfg)
{
	memset(g, 0, sizeof(*g));
	g->cfg = cfg;
	g->buckets = calloc(CLIENT_BUCKETS, sizeof(*g->buckets));
	g->bucket_mask = CLIENT_BUCKETS - 1;
	return g->buckets != NULL;
}

void gate_release(struct gate *g)
{
	for (size_t i = 0; g->buckets && i <= g->bucket_mask; i++) {
		while (g->buckets[i]) {
			struct gate_client *c = g->buckets[i];

			g->buckets[i] = c->next;
			while (c->pinholes) {
				struct gate_pinhole *p = c->pinholes;

				c->pinholes = p->next;
				free(p);
			}
			free(c);
		}
	}
	free(g->buckets);
	g->buckets = NULL;
}

/*
 * The port rules, shared by the first decision and the re-check on reload:
 * a fixed-mode group admits its fixed ports and calls anything else drift;
 * a dynamic one admits the configured range less the denied ports.
 */
static enum gate_reason check_port(const struct rpcgate_config *cfg,
				   const struct server_policy *policy,
				   const struct uuid *iface, uint16_t port)
{
	if (policy->mode == MODE_FIXED) {
		if (!policy_fixed_port(policy, iface, port))
			return GATE_DRIFT;
		return policy->fixed_require_lookup ? GATE_OPEN : GATE_FIXED;
	}
	if (port < cfg->port_min || port > cfg->port_max)
		return GATE_PORT_RANGE;
	if (config_denies_port(cfg, port))
		return GATE_PORT_DENIED;
	return GATE_OPEN;
}

enum gate_reason gate_check(const struct rpcgate_config *cfg,
			    const struct flow_key *flow,
			    const struct dce_answer *ans,
			    const struct epm_endpoint *ep, struct pinhole *out)
{
	const struct epm_request *req = ans->req;
	const struct server_policy *policy;
	static const uint8_t any[4];
	size_t alen = addr_len(flow->family);

	memset(out, 0, sizeof(*out));
	policy = config_policy_of(cfg, flow->family, flow->server);
	if (!policy)
		return GATE_NOT_SERVER;
	if (req->op != EPM_OP_MAP && !policy->allow_lookup)
		return GATE_LOOKUP;
	if (!policy_allows_iface(policy, &ep->iface))
		return GATE_IFACE;
	/* an ept_map answer is about the interface the client asked for */
	if (req->op == EPM_OP_MAP && req->has_iface &&
	    !uuid_equal(&req->iface, &ep->iface))
		return GATE_NOT_ASKED;
	if (ep->proto == EPM_PROTO_HTTP)
		return GATE_PROTO;

	out->family = flow->family;
	out->proto = ep->proto == EPM_PROTO_TCP ? IPPROTO_TCP : IPPROTO_UDP;
	out->port = ep->port;
	memcpy(out->client, flow->client, alen);
	memcpy(out->server, flow->server, alen);
	/*
	 * The tower's address: 0.0.0.0 or absent means the server itself; an
	 * IPv4 address must be the server or another configured server, and
	 * only an IPv4 conversation can name one.
	 */
	if (ep->has_addr && memcmp(ep->addr, any, sizeof(any)) != 0) {
		if (flow->family != AF_INET ||
		    !config_has_server(cfg, AF_INET, ep->addr))
			return GATE_TOWER_ADDR;
		memcpy(out->server, ep->addr, 4);
	}
	return check_port(cfg, policy, &ep->iface, ep->port);
}

static size_t client_hash(const struct gate *g, uint8_t family,
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
	struct gate_client **link = &g->buckets[client_hash(g, family, addr)];

	while (*link && ((*link)->family != family ||
			 memcmp((*link)->addr, addr, addr_len(family)) != 0))
		link = &(*link)->next;
	return link;
}

static bool same_pinhole(const struct pinhole *a, const struct pinhole *b)
{
	return a->family == b->family && a->proto == b->proto &&
	       a->port == b->port &&
	       memcmp(a->client, b->client, addr_len(a->family)) == 0 &&
	       memcmp(a->server, b->server, addr_len(a->family)) == 0;
}

struct gate_pinhole *gate_find(struct gate *g, const struct pinhole *p)
{
	struct gate_client *c = *find_client(g, p->family, p->client);

	for (struct gate_pinhole *h = c ? c->pinholes : NULL; h; h = h->next)
		if (same_pinhole(&h->key, p))
			return h;
	return NULL;
}

enum gate_reason gate_admit(struct gate *g, const struct flow_key *flow,
			    const struct dce_answer *ans,
			    const struct epm_endpoint *ep, uint64_t now_ms,
			    struct pinhole *out)
{
	enum gate_reason reason = gate_check(g->cfg, flow, ans, ep, out);
	struct gate_client **link, *c;
	struct gate_pinhole *p;

	if (reason != GATE_OPEN)
		return reason;
	link = find_client(g, flow->family, flow->client);
	c = *link;
	p = gate_find(g, out);
	if (!p) {
		if (c && c->n_pinholes >= g->cfg->max_pinholes_per_client)
			return GATE_CLIENT_CAP;
		if (g->n_pinholes >= g->cfg->max_pinholes)
			return GATE_TOTAL_CAP;
		if (!c) {
			c = calloc(1, sizeof(*c));
			if (!c)
				return GATE_TOTAL_CAP;
			c->family = flow->family;
			memcpy(c->addr, flow->client, addr_len(flow->family));
			*link = c;
		}
		p = calloc(1, sizeof(*p));
		if (!p)
			return GATE_TOTAL_CAP;
		p->key = *out;
		p->next = c->pinholes;
		c->pinholes = p;
		c->n_pinholes++;
		g->n_pinholes++;
	}
	p->iface = ep->iface;
	memcpy(p->epm_server, flow->server, addr_len(flow->family));
	p->expires_ms = now_ms + (uint64_t)g->cfg->pinhole_timeout * 1000;
	return GATE_OPEN;
}

void gate_visit(struct gate *g, gate_visit_fn fn, void *arg)
{
	for (size_t i = 0; i <= g->bucket_mask; i++) {
		struct gate_client **clink = &g->buckets[i];

		while (*clink) {
			struct gate_client *c = *clink;
			struct gate_pinhole **plink = &c->pinholes;

			while (*plink) {
				struct gate_pinhole *p = *plink;

				if (!fn(arg, p)) {
					plink = &p->next;
					continue;
				}
				*plink = p->next;
				free(p);
				c->n_pinholes--;
				g->n_pinholes--;
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
	const struct server_policy *policy =
		config_policy_of(cfg, p->key.family, p->epm_server);

	return policy && config_has_server(cfg, p->key.family, p->key.server) &&
	       policy_allows_iface(policy, &p->iface) &&
	       check_port(cfg, policy, &p->iface, p->key.port) == GATE_OPEN;
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
	[GATE_TOTAL_CAP] = { "total-cap", "max_pinholes pinholes are open" },
	[GATE_FIXED] = { "fixed", "a fixed port, open to every client" },
	[GATE_DRIFT] = { "drift", "not one of the fixed ports (drift)" },
};

/* Where Exchange keeps the port of each interface it lets you pin. */
static const struct uuid_text_map registry_values[] = {
	{ "a4f1db00-ca47-1067-b31f-00dd010662da",
	  "Exchange 2010: HKLM\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeRPC"
	  "\\ParametersSystem\\TCP/IP Port; Exchange 2000/2003: "
	  "...\\Services\\MSExchangeIS\\ParametersSystem\\TCP/IP Port" },
	{ "5261574a-4572-206e-b268-6b199213b4e4",
	  "Exchange 2010: HKLM\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeRPC"
	  "\\ParametersSystem\\TCP/IP Port" },
	{ "f5cc5a18-4264-101a-8c59-08002b2f8426",
	  "Exchange 2010: HKLM\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeAB"
	  "\\Parameters\\RpcTcpPort; Exchange 2000/2003: "
	  "...\\Services\\MSExchangeSA\\Parameters\\TCP/IP NSPI Port" },
	{ "1544f5e0-613c-11d1-93df-00c04fd7bd09",
	  "Exchange 2010: HKLM\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeAB"
	  "\\Parameters\\RpcTcpPort; Exchange 2000/2003: "
	  "...\\Services\\MSExchangeSA\\Parameters\\TCP/IP Port" },
};

const char *gate_registry_value(const struct uuid *iface)
{
	const char *value = uuid_map_find(
		registry_values,
		sizeof(registry_values) / sizeof(registry_values[0]), iface);

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
