#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <stdlib.h>
#include <string.h>

#include "conntrack.h"

#define MAX_REVOKED 4096

struct matches {
	const struct pinhole *p;
	size_t n;
	struct nf_conntrack *found[MAX_REVOKED];
};

static size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

static const void *attr_addr(const struct nf_conntrack *ct, uint8_t family,
			     int v4, int v6)
{
	return nfct_get_attr(ct, family == AF_INET ? v4 : v6);
}

static bool same_addr(const struct nf_conntrack *ct, uint8_t family, int v4,
		      int v6, const uint8_t *addr)
{
	return memcmp(attr_addr(ct, family, v4, v6), addr, addr_len(family)) == 0;
}

static int collect(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
		   void *data)
{
	struct matches *m = data;
	const struct pinhole *p = m->p;

	/* the server side is read from the reply direction, which a DNAT
	 * to a published server does not hide */
	(void)type;
	if (nfct_get_attr_u8(ct, ATTR_L3PROTO) != p->family ||
	    nfct_get_attr_u8(ct, ATTR_L4PROTO) != p->proto ||
	    ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC)) != p->port ||
	    !same_addr(ct, p->family, ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC,
		       p->client) ||
	    !same_addr(ct, p->family, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC,
		       p->server) ||
	    m->n == MAX_REVOKED)
		return NFCT_CB_CONTINUE;
	m->found[m->n] = nfct_clone(ct);
	if (m->found[m->n])
		m->n++;
	return NFCT_CB_CONTINUE;
}

int conntrack_revoke(const struct pinhole *p, uint32_t mark)
{
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	struct nfct_filter_dump *filter = nfct_filter_dump_create();
	struct nfct_filter_dump_mark marked = { .val = mark, .mask = mark };
	struct matches *m = calloc(1, sizeof(*m));
	int rc = 0, deleted = 0;

	if (!h || !filter || !m) {
		rc = -ENOMEM;
		goto out;
	}
	m->p = p;
	/* the kernel hands over only connections a pinhole admitted */
	nfct_filter_dump_set_attr(filter, NFCT_FILTER_DUMP_MARK, &marked);
	nfct_filter_dump_set_attr_u8(filter, NFCT_FILTER_DUMP_L3NUM, p->family);
	nfct_callback_register(h, NFCT_T_ALL, collect, m);
	if (nfct_query(h, NFCT_Q_DUMP_FILTER, filter) < 0) {
		rc = -errno;
		goto out;
	}
	for (size_t i = 0; i < m->n; i++)
		if (nfct_query(h, NFCT_Q_DESTROY, m->found[i]) == 0)
			deleted++;
	rc = deleted;
out:
	for (size_t i = 0; m && i < m->n; i++)
		nfct_destroy(m->found[i]);
	free(m);
	if (filter)
		nfct_filter_dump_destroy(filter);
	if (h)
		nfct_close(h);
	return rc;
}

struct published {
	const struct flow_key *flow;
	bool found;
	uint8_t public_addr[16];
};

/* The EPM connection: the client's port, and the server answers it. */
static int match_published(enum nf_conntrack_msg_type type,
			   struct nf_conntrack *ct, void *data)
{
	struct published *pub = data;
	const struct flow_key *k = pub->flow;
	size_t alen = addr_len(k->family);

	(void)type;
	if (nfct_get_attr_u8(ct, ATTR_L4PROTO) != IPPROTO_TCP ||
	    ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC)) != k->client_port ||
	    ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC)) != k->server_port ||
	    !same_addr(ct, k->family, ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC,
		       k->client) ||
	    !same_addr(ct, k->family, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC,
		       k->server))
		return NFCT_CB_CONTINUE;
	pub->found = true;
	memcpy(pub->public_addr,
	       attr_addr(ct, k->family, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST),
	       alen);
	return NFCT_CB_STOP;
}

static void set_addr(struct nf_conntrack *ct, uint8_t family, int v4, int v6,
		     const uint8_t *addr)
{
	nfct_set_attr(ct, family == AF_INET ? v4 : v6, addr);
}

/*
 * GET of the EPM connection by the tuple of one direction: the original
 * one as the forward hook sees it (client -> server), or the reply one
 * (server -> client).
 */
static int get_by_tuple(struct nfct_handle *h, struct nf_conntrack *ct,
			const struct flow_key *flow, bool reply)
{
	const uint8_t *src = reply ? flow->server : flow->client;
	const uint8_t *dst = reply ? flow->client : flow->server;

	nfct_set_attr_u8(ct, ATTR_L3PROTO, flow->family);
	nfct_set_attr_u8(ct, ATTR_L4PROTO, IPPROTO_TCP);
	set_addr(ct, flow->family, reply ? ATTR_REPL_IPV4_SRC : ATTR_ORIG_IPV4_SRC,
		 reply ? ATTR_REPL_IPV6_SRC : ATTR_ORIG_IPV6_SRC, src);
	set_addr(ct, flow->family, reply ? ATTR_REPL_IPV4_DST : ATTR_ORIG_IPV4_DST,
		 reply ? ATTR_REPL_IPV6_DST : ATTR_ORIG_IPV6_DST, dst);
	nfct_set_attr_u16(ct, reply ? ATTR_REPL_PORT_SRC : ATTR_ORIG_PORT_SRC,
			  htons(reply ? flow->server_port : flow->client_port));
	nfct_set_attr_u16(ct, reply ? ATTR_REPL_PORT_DST : ATTR_ORIG_PORT_DST,
			  htons(reply ? flow->client_port : flow->server_port));
	return nfct_query(h, NFCT_Q_GET, ct);
}

/*
 * The common case costs one lookup by the original direction (no DNAT),
 * the next one by the reply direction (DNAT, no SNAT).  A client that is
 * also masqueraded hides behind both, and only a walk of the translated
 * connections finds it.
 */
int conntrack_public_addr(const struct flow_key *flow, uint8_t *public_addr)
{
	struct nfct_handle *h = nfct_open(CONNTRACK, 0);
	struct nf_conntrack *ct = nfct_new();
	struct nfct_filter_dump *filter = nfct_filter_dump_create();
	struct nfct_filter_dump_mark dnat = { .val = IPS_DST_NAT,
					      .mask = IPS_DST_NAT };
	struct published pub = { .flow = flow };
	int rc = -ENOENT;

	if (!h || !ct || !filter) {
		rc = -ENOMEM;
		goto out;
	}
	nfct_callback_register(h, NFCT_T_ALL, match_published, &pub);
	if (get_by_tuple(h, ct, flow, false) == 0 && pub.found) {
		rc = memcmp(pub.public_addr, flow->server, addr_len(flow->family)) != 0;
		goto out;
	}
	nfct_destroy(ct);
	ct = nfct_new();
	if (!ct) {
		rc = -ENOMEM;
		goto out;
	}
	if (get_by_tuple(h, ct, flow, true) != 0 || !pub.found) {
		nfct_filter_dump_set_attr(filter, NFCT_FILTER_DUMP_STATUS, &dnat);
		nfct_filter_dump_set_attr_u8(filter, NFCT_FILTER_DUMP_L3NUM,
					     flow->family);
		/* kernels without status filtering get the whole table */
		if (nfct_query(h, NFCT_Q_DUMP_FILTER, filter) != 0 && !pub.found) {
			uint32_t family = flow->family;

			nfct_query(h, NFCT_Q_DUMP, &family);
		}
	}
	if (pub.found)
		rc = memcmp(pub.public_addr, flow->server, addr_len(flow->family)) != 0;
out:
	if (rc == 1)
		memcpy(public_addr, pub.public_addr, addr_len(flow->family));
	if (filter)
		nfct_filter_dump_destroy(filter);
	if (ct)
		nfct_destroy(ct);
	if (h)
		nfct_close(h);
	return rc;
}
