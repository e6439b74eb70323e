#include <netinet/in.h>
#include <endian.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "nft_watch.h"

/* the highest top-level attribute read (NFTA_SET_HANDLE) */
#define ATTR_MAX 16

/* object_attrs reads every kind's table from the same attribute */
_Static_assert((int)NFTA_TABLE_NAME == (int)NFTA_CHAIN_TABLE &&
	       (int)NFTA_TABLE_NAME == (int)NFTA_RULE_TABLE &&
	       (int)NFTA_TABLE_NAME == (int)NFTA_SET_TABLE &&
	       (int)NFTA_TABLE_NAME == (int)NFTA_SET_ELEM_LIST_TABLE,
	       "the table is every nftables object's first attribute");

/* What one nftables message says of the object it is about. */
struct object_attrs {
	uint16_t type;		/* NFT_MSG_* */
	const char *table;
	const char *name;	/* a chain's or set's; a rule's chain; an element list's set */
	uint64_t handle;	/* a table's or a set's */
	uint32_t set_flags;
	const struct nlattr *elements;	/* of an element list */
	uint32_t n_elements;
};

static int store_attr(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	uint16_t type = mnl_attr_get_type(a);

	if (type <= ATTR_MAX)
		tb[type] = a;
	return MNL_CB_OK;
}

static const char *string_attr(const struct nlattr *a)
{
	return a && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0 ?
		       mnl_attr_get_str(a) : NULL;
}

static uint64_t u64_attr(const struct nlattr *a)
{
	return a && mnl_attr_validate(a, MNL_TYPE_U64) == 0 ?
		       be64toh(mnl_attr_get_u64(a)) : 0;
}

/*
 * Reads an inet nftables message (from a batch, a dump or an event; all
 * share the attribute layout); false for anything else.
 */
static bool object_attrs(const struct nlmsghdr *nlh, struct object_attrs *o)
{
	const struct nlattr *tb[ATTR_MAX + 1] = { 0 };
	const struct nfgenmsg *nfg;
	const struct nlattr *e;

	memset(o, 0, sizeof(*o));
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_NFTABLES ||
	    nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*nfg)))
		return false;
	nfg = mnl_nlmsg_get_payload(nlh);
	if (nfg->nfgen_family != NFPROTO_INET ||
	    mnl_attr_parse(nlh, sizeof(*nfg), store_attr, tb) < 0)
		return false;
	o->type = NFNL_MSG_TYPE(nlh->nlmsg_type);
	/* the table comes first in every kind of object */
	o->table = string_attr(tb[NFTA_TABLE_NAME]);
	switch (o->type) {
	case NFT_MSG_NEWTABLE:
	case NFT_MSG_DELTABLE:
		o->name = o->table;
		o->handle = u64_attr(tb[NFTA_TABLE_HANDLE]);
		break;
	case NFT_MSG_NEWCHAIN:
	case NFT_MSG_DELCHAIN:
		o->name = string_attr(tb[NFTA_CHAIN_NAME]);
		break;
	case NFT_MSG_NEWRULE:
	case NFT_MSG_DELRULE:
		o->name = string_attr(tb[NFTA_RULE_CHAIN]);
		break;
	case NFT_MSG_NEWSET:
	case NFT_MSG_DELSET:
		o->name = string_attr(tb[NFTA_SET_NAME]);
		o->handle = u64_attr(tb[NFTA_SET_HANDLE]);
		if (tb[NFTA_SET_FLAGS] &&
		    mnl_attr_validate(tb[NFTA_SET_FLAGS], MNL_TYPE_U32) == 0)
			o->set_flags = ntohl(mnl_attr_get_u32(tb[NFTA_SET_FLAGS]));
		break;
	case NFT_MSG_NEWSETELEM:
	case NFT_MSG_DELSETELEM:
		o->name = string_attr(tb[NFTA_SET_ELEM_LIST_SET]);
		o->elements = tb[NFTA_SET_ELEM_LIST_ELEMENTS];
		if (o->elements)
			mnl_attr_for_each_nested(e, o->elements)
				o->n_elements++;
		break;
	default:
		return false;
	}
	return o->table && o->name;
}

bool nft_message_ok(const struct nlmsghdr *nlh, int left)
{
	return mnl_nlmsg_ok(nlh, left) && nlh->nlmsg_len <= (uint32_t)left;
}

/* ------------------------------------------------------------------ */
/* what rpcgated installs                                              */

static struct nft_object *find_object(struct nft_expected *x,
				      enum nft_object_kind kind,
				      const char *table, const char *name)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->o[i].kind == kind && strcmp(x->o[i].table, table) == 0 &&
		    strcmp(x->o[i].name, name) == 0)
			return &x->o[i];
	return NULL;
}

static struct nft_object *add_object(struct nft_expected *x,
				     enum nft_object_kind kind,
				     const char *table, const char *name)
{
	struct nft_object *o = find_object(x, kind, table, name);

	if (o)
		return o;
	if (x->n == NFT_WATCH_MAX_OBJECTS) {
		x->overflow = true;
		return NULL;
	}
	o = &x->o[x->n++];
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	snprintf(o->table, sizeof(o->table), "%s", table);
	snprintf(o->name, sizeof(o->name), "%s", name);
	return o;
}

static bool is_pinhole_set(const struct rpcgate_config *cfg, const char *table,
			   const char *name)
{
	return strcmp(table, cfg->nft_table) == 0 &&
	       (strcmp(name, nft_families[0].pinholes_set) == 0 ||
		strcmp(name, nft_families[1].pinholes_set) == 0);
}

/*
 * One message: of the install batch (cfg given), what it creates or adds
 * to; of a dump (cfg NULL), what is there.  Rules count towards their
 * chain, elements towards their set.
 */
static void account(struct nft_expected *x, const struct rpcgate_config *cfg,
		    const struct nlmsghdr *nlh)
{
	enum nft_object_kind kind;
	struct object_attrs a;
	struct nft_object *o;
	uint32_t counted = 0;

	if (!object_attrs(nlh, &a))
		return;
	switch (a.type) {
	case NFT_MSG_NEWTABLE:
		kind = NFT_OBJECT_TABLE;
		break;
	case NFT_MSG_NEWCHAIN:
		kind = NFT_OBJECT_CHAIN;
		break;
	case NFT_MSG_NEWRULE:
		kind = NFT_OBJECT_CHAIN;
		counted = 1;
		break;
	case NFT_MSG_NEWSET:
		kind = NFT_OBJECT_SET;
		break;
	case NFT_MSG_NEWSETELEM:
		kind = NFT_OBJECT_SET;
		counted = a.n_elements;
		break;
	default:
		return;
	}
	if (a.type == NFT_MSG_NEWRULE || a.type == NFT_MSG_NEWSETELEM) {
		if (!(o = find_object(x, kind, a.table, a.name)))
			return;
		if (!cfg)
			o->found += counted;
		else if (kind == NFT_OBJECT_CHAIN || o->fixed_elements)
			o->expected += counted;
		return;
	}
	if (!cfg) {
		if ((o = find_object(x, kind, a.table, a.name))) {
			o->present = true;
			o->handle = a.handle;
		}
		return;
	}
	/* sets rpcgated puts in a table it did not create (sets mode) */
	if (kind == NFT_OBJECT_SET &&
	    !find_object(x, NFT_OBJECT_TABLE, a.table, a.table) &&
	    (o = add_object(x, NFT_OBJECT_TABLE, a.table, a.table)))
		o->foreign = true;
	if (!(o = add_object(x, kind, a.table, a.name)) || kind != NFT_OBJECT_SET)
		return;
	o->pinholes = is_pinhole_set(cfg, a.table, a.name);
	/* timeouts and the gate's records change the others' elements */
	o->fixed_elements = !(a.set_flags & NFT_SET_TIMEOUT);
}

/* Every message of a batch built in memory, in order. */
static bool batch_walk(struct nft_batch *b,
		       void (*fn)(void *arg, const struct nlmsghdr *nlh),
		       void *arg)
{
	int n_iov = nftnl_batch_iovec_len(b->batch);
	struct iovec *iov = calloc((size_t)n_iov, sizeof(*iov));

	if (!iov || b->failed_alloc) {
		free(iov);
		return false;
	}
	nftnl_batch_iovec(b->batch, iov, (uint32_t)n_iov);
	for (int i = 0; i < n_iov; i++) {
		int left = (int)iov[i].iov_len;
		const struct nlmsghdr *nlh;

		for (nlh = iov[i].iov_base; nft_message_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left))
			fn(arg, nlh);
	}
	free(iov);
	return true;
}

struct expecting {
	struct nft_expected *x;
	const struct rpcgate_config *cfg;
};

static void expect_one(void *arg, const struct nlmsghdr *nlh)
{
	struct expecting *e = arg;

	account(e->x, e->cfg, nlh);
}

bool nft_expected_build(struct nft_expected *x, const struct rpcgate_config *cfg,
			enum nft_queue_kind kind)
{
	uint32_t seq = 0;
	struct nft_batch *b = nft_batch_new(NULL, &seq, cfg);
	struct expecting e = { x, cfg };
	bool ok;

	memset(x, 0, sizeof(*x));
	if (!b)
		return false;
	nft_rules_build(b, false, kind);
	ok = batch_walk(b, expect_one, &e);
	nft_batch_free(b);
	return ok;
}

void nft_expected_observe(struct nft_expected *x, const struct nlmsghdr *nlh)
{
	account(x, NULL, nlh);
}

/* ------------------------------------------------------------------ */
/* judging                                                             */

void nft_damage_note(struct nft_damage *d, const char *fmt, ...)
{
	size_t used = strlen(d->what);
	va_list ap;

	if (used + 8 >= sizeof(d->what))
		return;
	if (used)
		used += (size_t)snprintf(d->what + used, sizeof(d->what) - used, "; ");
	va_start(ap, fmt);
	vsnprintf(d->what + used, sizeof(d->what) - used, fmt, ap);
	va_end(ap);
}

static const struct nft_object *table_of(const struct nft_expected *x,
					 const struct nft_object *o)
{
	for (size_t i = 0; i < x->n; i++)
		if (x->o[i].kind == NFT_OBJECT_TABLE &&
		    strcmp(x->o[i].name, o->table) == 0)
			return &x->o[i];
	return NULL;
}

/* The pinhole sets' handles against the baseline; true when one changed. */
static bool pinhole_sets_replaced(const struct nft_expected *x,
				  struct nft_watch_baseline *base,
				  struct nft_damage *d)
{
	struct nft_watch_baseline now = { .known = true };
	bool replaced = false;

	for (size_t i = 0; i < x->n; i++) {
		const struct nft_object *o = &x->o[i], *t = table_of(x, o);
		size_t f = strcmp(o->name, nft_families[0].pinholes_set) == 0 ? 0 : 1;

		if (!o->pinholes || !o->present || !t)
			continue;
		now.table_handle[f] = t->handle;
		now.set_handle[f] = o->handle;
		if (base->known && (base->table_handle[f] != t->handle ||
				    base->set_handle[f] != o->handle)) {
			nft_damage_note(d, "set inet %s %s was replaced, and its "
					   "elements went with it", o->table, o->name);
			replaced = true;
		}
	}
	if (!replaced)
		*base = now;
	return replaced;
}

void nft_expected_judge(struct nft_expected *x, struct nft_watch_baseline *base,
			struct nft_damage *d)
{
	memset(d, 0, sizeof(*d));
	if (x->overflow)
		nft_damage_note(d, "(more objects than the check follows)");
	for (size_t i = 0; i < x->n; i++) {
		const struct nft_object *o = &x->o[i], *t = table_of(x, o);

		if (o->kind == NFT_OBJECT_TABLE) {
			if (o->present)
				continue;
			nft_damage_note(d, "table inet %s was removed", o->name);
			if (o->foreign)
				d->foreign_table_gone = true;
			else
				d->replace = true;
			continue;
		}
		/* a removed table says it for everything in it */
		if (t && !t->present)
			continue;
		if (!o->present) {
			nft_damage_note(d, "%s inet %s %s was removed",
					o->kind == NFT_OBJECT_CHAIN ? "chain" : "set",
					o->table, o->name);
			d->replace = true;
		} else if (o->kind == NFT_OBJECT_CHAIN && o->found < o->expected) {
			nft_damage_note(d, "chain inet %s %s lost %u of its %u rules",
					o->table, o->name, o->expected - o->found,
					o->expected);
			d->replace = true;
		} else if (o->fixed_elements && o->found < o->expected) {
			nft_damage_note(d, "set inet %s %s lost %u of its %u elements",
					o->table, o->name, o->expected - o->found,
					o->expected);
			d->replace = true;
		}
	}
	if (pinhole_sets_replaced(x, base, d))
		d->pinholes_suspect = true;
}

/* ------------------------------------------------------------------ */
/* events                                                              */

bool nft_event_concerns(const struct nlmsghdr *nlh, uint32_t own_portid,
			const struct rpcgate_config *cfg)
{
	bool admin_table, pinhole_set;
	struct object_attrs a;

	/* rpcgated's own batches: installs, reloads, pinholes */
	if (nlh->nlmsg_pid == own_portid || !object_attrs(nlh, &a))
		return false;
	if (strcmp(a.table, nft_rules_table(cfg)) == 0)
		return a.type == NFT_MSG_DELTABLE || a.type == NFT_MSG_DELCHAIN ||
		       a.type == NFT_MSG_DELRULE || a.type == NFT_MSG_DELSET ||
		       a.type == NFT_MSG_DELSETELEM;
	if (cfg->nft_mode != NFT_MODE_SETS)
		return false;
	admin_table = strcmp(a.table, cfg->nft_table) == 0;
	pinhole_set = is_pinhole_set(cfg, a.table, a.name);
	switch (a.type) {
	case NFT_MSG_NEWTABLE:	/* back after a removal: the sets can go in */
	case NFT_MSG_DELTABLE:
		return admin_table;
	case NFT_MSG_NEWSET:	/* re-created: empty */
	case NFT_MSG_DELSET:
	case NFT_MSG_DELSETELEM:
		return pinhole_set;
	default:
		return false;
	}
}

/* ------------------------------------------------------------------ */
/* the pinhole sets' elements                                          */

/* One element of a list (NFTA_LIST_ELEM): its key and expiration. */
static void held_element(struct nft_held_pinholes *h, const struct nlattr *e)
{
	const struct nlattr *tb[ATTR_MAX + 1] = { 0 }, *key[ATTR_MAX + 1] = { 0 };
	struct nft_held_pinhole *p;
	uint16_t len;

	if (mnl_attr_get_type(e) != NFTA_LIST_ELEM ||
	    mnl_attr_parse_nested(e, store_attr, tb) < 0 ||
	    !tb[NFTA_SET_ELEM_KEY] ||
	    mnl_attr_parse_nested(tb[NFTA_SET_ELEM_KEY], store_attr, key) < 0 ||
	    !key[NFTA_DATA_VALUE])
		return;
	len = mnl_attr_get_payload_len(key[NFTA_DATA_VALUE]);
	if (len == 0 || len > NFT_PINHOLE_KEY_MAX)
		return;
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 64;
		struct nft_held_pinhole *grown = realloc(h->e, cap * sizeof(*grown));

		if (!grown) {
			h->failed_alloc = true;
			return;
		}
		h->e = grown;
		h->cap = cap;
	}
	p = &h->e[h->n++];
	memset(p->key, 0, sizeof(p->key));
	memcpy(p->key, mnl_attr_get_payload(key[NFTA_DATA_VALUE]), len);
	p->len = len;
	p->expires_ms = u64_attr(tb[NFTA_SET_ELEM_EXPIRATION]);
}

void nft_held_observe(struct nft_held_pinholes *h, const struct nlmsghdr *nlh)
{
	struct object_attrs a;
	const struct nlattr *e;

	if (!object_attrs(nlh, &a) || a.type != NFT_MSG_NEWSETELEM || !a.elements)
		return;
	mnl_attr_for_each_nested(e, a.elements)
		held_element(h, e);
}

static int held_order(const void *a, const void *b)
{
	const struct nft_held_pinhole *x = a, *y = b;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->key, y->key, x->len);
}

void nft_held_sort(struct nft_held_pinholes *h)
{
	if (h->n)
		qsort(h->e, h->n, sizeof(h->e[0]), held_order);
}

int64_t nft_held_find(const struct nft_held_pinholes *h, const struct pinhole *p)
{
	struct nft_held_pinhole want;
	const struct nft_held_pinhole *found;

	if (!h || h->n == 0)
		return -1;
	nft_pinhole_key(p, want.key, &want.len);
	found = bsearch(&want, h->e, h->n, sizeof(h->e[0]), held_order);
	return found ? (int64_t)found->expires_ms : -1;
}

void nft_held_release(struct nft_held_pinholes *h)
{
	free(h->e);
	memset(h, 0, sizeof(*h));
}
