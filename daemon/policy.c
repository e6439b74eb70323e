#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "policy.h"

void policy_facts_of(uint8_t family, const uint8_t *client,
		     const uint8_t *epm_server, const struct epm_request *req,
		     const struct epm_endpoint *ep, struct policy_facts *out)
{
	size_t alen = family == AF_INET ? 4 : 16;

	memset(out, 0, sizeof(*out));
	out->family = family;
	memcpy(out->client, client, alen);
	memcpy(out->epm_server, epm_server, alen);
	out->op = req->op;
	out->has_asked_iface = req->has_iface;
	out->asked_iface = req->iface;
	out->iface = ep->iface;
	out->proto = ep->proto;
	out->port = ep->port;
	out->has_addr = ep->has_addr;
	memcpy(out->addr, ep->addr, sizeof(out->addr));
}

/*
 * A fixed-mode group admits its fixed ports and calls anything else
 * drift; a dynamic one admits the configured range less the denied ports.
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
	if (policy_denies_port(cfg, port))
		return GATE_PORT_DENIED;
	return GATE_OPEN;
}

enum gate_reason policy_decide(const struct rpcgate_config *cfg,
			       const struct policy_facts *f,
			       struct pinhole *out)
{
	static const uint8_t any[4];
	const struct server_policy *policy;
	size_t alen = f->family == AF_INET ? 4 : 16;

	memset(out, 0, sizeof(*out));
	if (!policy_has_server(cfg, f->family, f->epm_server))
		return GATE_NOT_SERVER;
	out->family = f->family;
	out->proto = f->proto == EPM_PROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP;
	out->port = f->port;
	memcpy(out->client, f->client, alen);
	memcpy(out->server, f->epm_server, alen);
	/*
	 * The tower's address: 0.0.0.0 or absent means the answering server;
	 * an IPv4 address must be that server or another configured one, and
	 * only an IPv4 conversation can name one.  Whoever it names is the
	 * server the endpoint is about, and its group's policy decides.
	 */
	if (f->has_addr && memcmp(f->addr, any, sizeof(any)) != 0) {
		if (f->family != AF_INET ||
		    !policy_has_server(cfg, AF_INET, f->addr))
			return GATE_TOWER_ADDR;
		memcpy(out->server, f->addr, sizeof(f->addr));
	}
	policy = policy_of_server(cfg, out->family, out->server);
	if (f->op != EPM_OP_MAP && !policy->allow_lookup)
		return GATE_LOOKUP;
	if (!policy_allows_iface(policy, &f->iface))
		return GATE_IFACE;
	/* an ept_map answer is about the interface the client asked for */
	if (f->op == EPM_OP_MAP && f->has_asked_iface &&
	    !uuid_equal(&f->asked_iface, &f->iface))
		return GATE_NOT_ASKED;
	if (f->proto != EPM_PROTO_TCP && f->proto != EPM_PROTO_UDP)
		return GATE_PROTO;
	return check_port(cfg, policy, &f->iface, f->port);
}

const struct server_policy *policy_of_server(const struct rpcgate_config *cfg,
					     uint8_t family,
					     const uint8_t *addr)
{
	/* a server is in one group: the loader refuses overlaps across groups */
	for (size_t i = 0; i < cfg->n_servers; i++)
		if (prefix_contains(&cfg->servers[i], family, addr))
			return &cfg->groups[cfg->server_group[i]];
	return NULL;
}

bool policy_has_server(const struct rpcgate_config *cfg, uint8_t family,
		       const uint8_t *addr)
{
	return policy_of_server(cfg, family, addr) != NULL;
}

bool policy_allows_iface(const struct server_policy *p,
			 const struct uuid *iface)
{
	if (p->any_iface)
		return true;
	for (size_t i = 0; i < p->n_ifaces; i++)
		if (uuid_equal(&p->ifaces[i], iface))
			return true;
	return false;
}

bool policy_fixed_port(const struct server_policy *p,
		       const struct uuid *iface, uint16_t port)
{
	if (p->mode != MODE_FIXED)
		return false;
	for (size_t i = 0; i < p->n_fixed; i++)
		if (p->fixed[i].port == port &&
		    (p->fixed[i].any_iface || uuid_equal(&p->fixed[i].iface, iface)))
			return true;
	return false;
}

bool policy_denies_port(const struct rpcgate_config *cfg, uint16_t port)
{
	for (size_t i = 0; i < cfg->n_deny_ports; i++)
		if (cfg->deny_ports[i] == port)
			return true;
	return false;
}
