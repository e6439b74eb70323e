#include <arpa/inet.h>
#include <errno.h>
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

static bool same_addr(const struct nf_conntrack *ct, int attr_v4, int attr_v6,
		      const struct pinhole *p, const uint8_t *addr)
{
	if (p->family == AF_INET)
		return memcmp(nfct_get_attr(ct, attr_v4), addr, 4) == 0;
	return memcmp(nfct_get_attr(ct, attr_v6), addr, 16) == 0;
}

static int collect(enum nf_conntrack_msg_type type, struct nf_conntrack *ct,
		   void *data)
{
	struct matches *m = data;
	const struct pinhole *p = m->p;

	(void)type;
	if (nfct_get_attr_u8(ct, ATTR_L3PROTO) != p->family ||
	    nfct_get_attr_u8(ct, ATTR_L4PROTO) != p->proto ||
	    ntohs(nfct_get_attr_u16(ct, ATTR_PORT_DST)) != p->port ||
	    !same_addr(ct, ATTR_IPV4_SRC, ATTR_IPV6_SRC, p, p->client) ||
	    !same_addr(ct, ATTR_IPV4_DST, ATTR_IPV6_DST, p, p->server) ||
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
