#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "conntrack.h"

#define MAX_REVOKED 4096

/*
 * One netlink socket for the daemon's life: closing a NETLINK_NETFILTER
 * socket waits for nf_tables' pending destroy work (an RCU grace period,
 * ~15 ms) whenever a pinhole batch deleted something, so a socket per
 * query would put that wait on the verdict path.
 */
struct conntrack {
	struct nfct_handle *h;
};

struct conntrack *conntrack_open(void)
{
	struct conntrack *ct = calloc(1, sizeof(*ct));

	if (ct && !(ct->h = nfct_open(CONNTRACK, 0))) {
		free(ct);
		return NULL;
	}
	return ct;
}

/*
 * What an earlier query left unread (an interrupted dump, a reply after
 * an error) would be taken for the next query's answer: the kept socket
 * starts every query empty.
 */
static void drain(struct nfct_handle *h)
{
	char buf[8192];

	while (recv(nfct_fd(h), buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

void conntrack_close(struct conntrack *ct)
{
	if (!ct)
		return;
	nfct_close(ct->h);
	free(ct);
}

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

int conntrack_revoke(struct conntrack *ct, const struct pinhole *p, uint32_t mark)
{
	struct nfct_handle *h = ct->h;
	struct nfct_filter_dump *filter = nfct_filter_dump_create();
	struct nfct_filter_dump_mark marked = { .val = mark, .mask = mark };
	struct matches *m = calloc(1, sizeof(*m));
	int rc = 0, deleted = 0;

	if (!filter || !m) {
		rc = -ENOMEM;
		goto out;
	}
	m->p = p;
	drain(h);
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
	/* a registration allocates; the handle outlives the query */
	nfct_callback_unregister(h);
	for (size_t i = 0; m && i < m->n; i++)
		nfct_destroy(m->found[i]);
	free(m);
	if (filter)
		nfct_filter_dump_destroy(filter);
	return rc;
}

struct published {
	const struct flow_key *flow;
	bool found;
	uint8_t public_addr[16];
};

/* The EPM conversation (TCP or UDP): the client's port, and the server
 * answers it. */
static int match_published(enum nf_conntrack_msg_type type,
			   struct nf_conntrack *ct, void *data)
{
	struct published *pub = data;
	const struct flow_key *k = pub->flow;
	size_t alen = addr_len(k->family);

	(void)type;
	if (pub->found ||
	    nfct_get_attr_u8(ct, ATTR_L4PROTO) != k->proto ||
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
	/* not NFCT_CB_STOP: that leaves the query's acknowledgement unread
	 * in the kept socket, where the next query would take it for its own */
	return NFCT_CB_CONTINUE;
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
	nfct_set_attr_u8(ct, ATTR_L4PROTO, flow->proto);
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
int conntrack_public_addr(struct conntrack *conntrack, const struct flow_key *flow,
			  uint8_t *public_addr)
{
	struct nfct_handle *h = conntrack->h;
	struct nf_conntrack *ct = nfct_new();
	struct nfct_filter_dump *filter = nfct_filter_dump_create();
	struct nfct_filter_dump_mark dnat = { .val = IPS_DST_NAT,
					      .mask = IPS_DST_NAT };
	struct published pub = { .flow = flow };
	int rc = -ENOENT;

	if (!ct || !filter) {
		rc = -ENOMEM;
		goto out;
	}
	drain(h);
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
	nfct_callback_unregister(h);
	if (filter)
		nfct_filter_dump_destroy(filter);
	if (ct)
		nfct_destroy(ct);
	return rc;
}
