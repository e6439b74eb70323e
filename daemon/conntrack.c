#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>
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
	/* carrier entries (sync_pinholes): written without waiting for the
	 * kernel's answer, and the new entries that carry a mark */
	struct nfct_handle *carriers, *events;
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
	if (ct->carriers)
		nfct_close(ct->carriers);
	if (ct->events)
		nfct_close(ct->events);
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

/* ---- carrier entries ------------------------------------------------------ */

static void set_carrier_tuple(struct nf_conntrack *ct, const struct pinhole *p)
{
	nfct_set_attr_u8(ct, ATTR_L3PROTO, p->family);
	nfct_set_attr_u8(ct, ATTR_L4PROTO, p->proto);
	set_addr(ct, p->family, ATTR_ORIG_IPV4_SRC, ATTR_ORIG_IPV6_SRC, p->client);
	set_addr(ct, p->family, ATTR_ORIG_IPV4_DST, ATTR_ORIG_IPV6_DST, p->server);
	/* port 0: no connection the client makes has this tuple */
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_SRC, 0);
	nfct_set_attr_u16(ct, ATTR_ORIG_PORT_DST, htons(p->port));
	/* the kernel creates an entry only with both directions given */
	nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, p->family);
	nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, p->proto);
	set_addr(ct, p->family, ATTR_REPL_IPV4_SRC, ATTR_REPL_IPV6_SRC, p->server);
	set_addr(ct, p->family, ATTR_REPL_IPV4_DST, ATTR_REPL_IPV6_DST, p->client);
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(p->port));
	nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, 0);
}

/*
 * The answer (an error, an acknowledgement) is not waited for: the
 * carrier follows the pinhole on the verdict path.  What earlier sends
 * left in the socket is read away first so that it never fills.
 */
static int send_carrier(struct conntrack *c, enum nf_conntrack_query q,
			const struct pinhole *p, uint32_t mark, uint32_t timeout_s)
{
	struct nf_conntrack *ct;
	int rc = 0;

	if (!c->carriers) {
		c->carriers = nfct_open(CONNTRACK, 0);
		if (!c->carriers)
			return -errno;
		fcntl(nfct_fd(c->carriers), F_SETFL, O_NONBLOCK);
	}
	drain(c->carriers);
	ct = nfct_new();
	if (!ct)
		return -ENOMEM;
	set_carrier_tuple(ct, p);
	if (q != NFCT_Q_DESTROY) {
		/* ESTABLISHED: conntrackd's state filters pass it, and
		 * the kernel gives it the timeout asked for */
		if (p->proto == IPPROTO_TCP)
			nfct_set_attr_u8(ct, ATTR_TCP_STATE, TCP_CONNTRACK_ESTABLISHED);
		nfct_set_attr_u32(ct, ATTR_MARK, mark);
		nfct_set_attr_u32(ct, ATTR_TIMEOUT, timeout_s);
	}
	if (nfct_send(c->carriers, q, ct) < 0)
		rc = -errno;
	nfct_destroy(ct);
	return rc;
}

int conntrack_carrier_put(struct conntrack *ct, const struct pinhole *p,
			  uint32_t mark, uint32_t timeout_s)
{
	return send_carrier(ct, NFCT_Q_CREATE_UPDATE, p, mark, timeout_s);
}

int conntrack_carrier_del(struct conntrack *ct, const struct pinhole *p)
{
	return send_carrier(ct, NFCT_Q_DESTROY, p, 0, 0);
}

int conntrack_carriers_watch(struct conntrack *c, uint32_t sync_mark)
{
	struct nfct_filter *filter;
	struct nfct_filter_dump_mark marked = { .val = sync_mark, .mask = sync_mark };

	if (c->events)
		return nfct_fd(c->events);
	c->events = nfct_open(CONNTRACK, NF_NETLINK_CONNTRACK_NEW);
	if (!c->events)
		return -errno;
	/* the kernel tells of every new connection; a socket filter keeps
	 * those that do not carry the mark from waking the daemon */
	filter = nfct_filter_create();
	if (filter) {
		nfct_filter_add_attr(filter, NFCT_FILTER_MARK, &marked);
		nfct_filter_attach(nfct_fd(c->events), filter);
		nfct_filter_destroy(filter);
	}
	fcntl(nfct_fd(c->events), F_SETFL, O_NONBLOCK);
	return nfct_fd(c->events);
}

int conntrack_carriers_fd(const struct conntrack *c)
{
	return c->events ? nfct_fd(c->events) : -1;
}

struct carrier_walk {
	uint32_t sync_mark;
	conntrack_carrier_fn fn;
	void *arg;
};

static int carrier_seen(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
			void *data)
{
	struct carrier_walk *w = data;
	struct conntrack_carrier c = { .key.family = nfct_get_attr_u8(ct, ATTR_L3PROTO) };
	uint8_t proto = nfct_get_attr_u8(ct, ATTR_L4PROTO);

	(void)type;
	/* a real connection with the mark (an administrator's rule) is not
	 * a carrier: a carrier comes from port 0 */
	if (!nfct_attr_is_set(ct, ATTR_MARK) ||
	    !(nfct_get_attr_u32(ct, ATTR_MARK) & w->sync_mark) ||
	    (c.key.family != AF_INET && c.key.family != AF_INET6) ||
	    (proto != IPPROTO_TCP && proto != IPPROTO_UDP) ||
	    nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC) != 0 ||
	    !nfct_attr_is_set(ct, ATTR_TIMEOUT))
		return NFCT_CB_CONTINUE;
	c.key.proto = proto;
	c.key.port = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
	memcpy(c.key.client, attr_addr(ct, c.key.family, ATTR_ORIG_IPV4_SRC,
				       ATTR_ORIG_IPV6_SRC), addr_len(c.key.family));
	memcpy(c.key.server, attr_addr(ct, c.key.family, ATTR_ORIG_IPV4_DST,
				       ATTR_ORIG_IPV6_DST), addr_len(c.key.family));
	c.mark = nfct_get_attr_u32(ct, ATTR_MARK);
	c.timeout_s = nfct_get_attr_u32(ct, ATTR_TIMEOUT);
	if (c.key.port != 0 && c.timeout_s > 0)
		w->fn(w->arg, &c);
	return NFCT_CB_CONTINUE;
}

int conntrack_carriers_read(struct conntrack *c, uint32_t sync_mark,
			    conntrack_carrier_fn fn, void *arg)
{
	struct carrier_walk w = { .sync_mark = sync_mark, .fn = fn, .arg = arg };
	int rc;

	if (!c->events)
		return -EBADF;
	nfct_callback_register(c->events, NFCT_T_NEW, carrier_seen, &w);
	/* the socket is non-blocking: nfct_catch returns once it is empty */
	rc = nfct_catch(c->events) < 0 && errno == ENOBUFS ? -ENOBUFS : 0;
	nfct_callback_unregister(c->events);
	return rc;
}

int conntrack_carriers_dump(struct conntrack *c, uint8_t family,
			    uint32_t sync_mark, conntrack_carrier_fn fn, void *arg)
{
	struct carrier_walk w = { .sync_mark = sync_mark, .fn = fn, .arg = arg };
	struct nfct_filter_dump *filter = nfct_filter_dump_create();
	struct nfct_filter_dump_mark marked = { .val = sync_mark, .mask = sync_mark };
	int rc = 0;

	if (!filter)
		return -ENOMEM;
	drain(c->h);
	nfct_filter_dump_set_attr(filter, NFCT_FILTER_DUMP_MARK, &marked);
	nfct_filter_dump_set_attr_u8(filter, NFCT_FILTER_DUMP_L3NUM, family);
	nfct_callback_register(c->h, NFCT_T_ALL, carrier_seen, &w);
	if (nfct_query(c->h, NFCT_Q_DUMP_FILTER, filter) < 0)
		rc = -errno;
	nfct_callback_unregister(c->h);
	nfct_filter_dump_destroy(filter);
	return rc;
}
