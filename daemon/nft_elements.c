#include <netinet/in.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/set.h>
#include <linux/netfilter/nf_tables.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nft_elements.h"

void nft_pinhole_key(const struct pinhole *p, uint8_t key[NFT_PINHOLE_KEY_MAX],
		     uint32_t *len)
{
	const struct nft_family *f = nft_family_of(p->family);
	uint16_t port = htons(p->port);
	uint8_t *k = key;

	memset(key, 0, NFT_PINHOLE_KEY_MAX);
	memcpy(k, p->client, f->addr_len);
	k += f->addr_len;
	memcpy(k, p->server, f->addr_len);
	k += f->addr_len;
	k[0] = p->proto;
	memcpy(k + 4, &port, sizeof(port));
	*len = nft_pinhole_key_len(f);
}

/*
 * One element of a pinhole set, or of a DNAT map (then `public_addr` takes
 * the server's place in the key and the data says where to go).
 */
struct element {
	const struct pinhole *p;
	const uint8_t *public_addr;	/* NULL: the pinhole set */
	uint64_t timeout_ms;
};

/*
 * With expires_ms: the add says the expiration too, which is what makes a
 * kernel that updates timeouts renew an element it holds (the same
 * timeout alone changes nothing), and what gives an adopted pinhole its
 * remaining time.
 */
static void element_message(struct nft_batch *b, uint16_t type,
			    const struct element *el, uint64_t timeout_ms,
			    uint64_t expires_ms)
{
	const struct nft_family *f = nft_family_of(el->p->family);
	const char *table = el->public_addr ? nft_rules_table(b->cfg) :
					      b->cfg->nft_table;
	struct nftnl_set *s = nft_element_list(table, el->public_addr ?
					   f->dnat_map : f->pinholes_set);
	struct pinhole key = *el->p;
	struct nftnl_set_elem *e;
	uint8_t bytes[40], data[20] = { 0 };
	uint16_t port = htons(el->p->port);
	uint32_t len;

	if (!s) {
		b->failed_alloc = true;
		return;
	}
	if (el->public_addr)
		memcpy(key.server, el->public_addr, f->addr_len);
	nft_pinhole_key(&key, bytes, &len);
	e = nft_element_add(s, bytes, len, 0, timeout_ms);
	if (e && expires_ms)
		nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_EXPIRATION, expires_ms);
	if (e && el->public_addr) {
		memcpy(data, el->p->server, f->addr_len);
		memcpy(data + f->addr_len, &port, sizeof(port));
		nftnl_set_elem_set(e, NFTNL_SET_ELEM_DATA, data, f->addr_len + 4u);
	}
	nft_batch_put_elements(b, type, s,
		     el->public_addr ? (type == NFT_MSG_NEWSETELEM ? "add DNAT mapping" :
								   "delete DNAT mapping") :
				       (type == NFT_MSG_NEWSETELEM ? "add pinhole" :
								   "delete pinhole"));
	nftnl_set_free(s);
}

static void write_element(struct nft_batch *b, const struct element *el,
			  enum nft_element_write how)
{
	switch (how) {
	case NFT_ELEMENT_KEEP:
		break;
	case NFT_ELEMENT_ADD:
	case NFT_ELEMENT_REFRESH:
		element_message(b, NFT_MSG_NEWSETELEM, el, el->timeout_ms,
				how == NFT_ELEMENT_REFRESH ? el->timeout_ms : 0);
		break;
	case NFT_ELEMENT_REPLACE:
		/* makes sure it exists: never a delete of something absent */
		element_message(b, NFT_MSG_NEWSETELEM, el, el->timeout_ms, 0);
		element_message(b, NFT_MSG_DELSETELEM, el, 0, 0);
		element_message(b, NFT_MSG_NEWSETELEM, el, el->timeout_ms, 0);
		break;
	}
}

static void delete_element(struct nft_batch *b, const struct element *el)
{
	/* absent already is fine: make sure it exists, then delete */
	element_message(b, NFT_MSG_NEWSETELEM, el, 1000, 0);
	element_message(b, NFT_MSG_DELSETELEM, el, 0, 0);
}

void nft_batch_pinhole_add(struct nft_batch *b, const struct pinhole *p,
			   uint32_t timeout_s, enum nft_element_write how)
{
	struct element el = { p, NULL, (uint64_t)timeout_s * 1000 };

	write_element(b, &el, how);
}

void nft_batch_pinhole_adopt(struct nft_batch *b, const struct pinhole *p,
			     uint32_t timeout_s, uint64_t remaining_ms)
{
	struct element el = { p, NULL, (uint64_t)timeout_s * 1000 };

	element_message(b, NFT_MSG_NEWSETELEM, &el, el.timeout_ms, remaining_ms);
}

void nft_batch_pinhole_del(struct nft_batch *b, const struct pinhole *p)
{
	struct element el = { p, NULL, 0 };

	delete_element(b, &el);
}

void nft_batch_dnat_add(struct nft_batch *b, const struct pinhole *p,
			const uint8_t *public_addr, uint64_t timeout_ms,
			enum nft_element_write how)
{
	struct element el = { p, public_addr, timeout_ms };

	write_element(b, &el, how);
}

void nft_batch_dnat_del(struct nft_batch *b, const struct pinhole *p,
			const uint8_t *public_addr)
{
	struct element el = { p, public_addr, 0 };

	delete_element(b, &el);
}

static int counter_cb(struct nftnl_expr *e, void *data)
{
	struct nft_element_state *r = data;
	const char *name = nftnl_expr_get_str(e, NFTNL_EXPR_NAME);

	if (name && strcmp(name, "counter") == 0) {
		r->counted = true;
		r->packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
	}
	return 0;
}

/* Hands each element of a GETSETELEM answer to fn. */
static int each_element(const struct nlmsghdr *nlh,
			void (*fn)(struct nftnl_set_elem *e, void *arg), void *arg)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nftnl_set_elems_iter *it;
	struct nftnl_set_elem *e;

	if (!s)
		return MNL_CB_ERROR;
	if (nftnl_set_elems_nlmsg_parse(nlh, s) < 0) {
		nftnl_set_free(s);
		return MNL_CB_ERROR;
	}
	it = nftnl_set_elems_iter_create(s);
	while (it && (e = nftnl_set_elems_iter_next(it)) != NULL)
		fn(e, arg);
	if (it)
		nftnl_set_elems_iter_destroy(it);
	nftnl_set_free(s);
	return MNL_CB_OK;
}

static void note_state(struct nftnl_set_elem *e, void *arg)
{
	struct nft_element_state *r = arg;

	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_EXPIRATION))
		r->ms = (int64_t)nftnl_set_elem_get_u64(e, NFTNL_SET_ELEM_EXPIRATION);
	nftnl_set_elem_expr_foreach(e, counter_cb, r);
}

int nft_element_state_cb(const struct nlmsghdr *nlh, void *data)
{
	return each_element(nlh, note_state, data);
}
