#include <netinet/in.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "nft_batch.h"

struct nft_batch *nft_batch_new(struct nft *owner, uint32_t *seq,
			       const struct rpcgate_config *cfg)
{
	struct nft_batch *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->nft = owner;
	b->seq = seq;
	b->cfg = cfg;
	b->batch = nftnl_batch_alloc(MNL_SOCKET_BUFFER_SIZE * 2,
				     MNL_SOCKET_BUFFER_SIZE);
	if (!b->batch) {
		free(b);
		return NULL;
	}
	nftnl_batch_begin(nftnl_batch_buffer(b->batch), (*seq)++);
	nftnl_batch_update(b->batch);
	return b;
}

void nft_batch_free(struct nft_batch *b)
{
	nftnl_batch_free(b->batch);
	free(b->sent);
	free(b);
}

/* Starts the next message; `what` names it in error reports. */
struct nlmsghdr *nft_batch_message(struct nft_batch *b, uint16_t type,
				   uint16_t flags, const char *what)
{
	struct sent_message *m;

	if (b->n_sent == b->cap_sent) {
		size_t cap = b->cap_sent ? 2 * b->cap_sent : 16;
		struct sent_message *grown = realloc(b->sent, cap * sizeof(*grown));

		if (!grown) {
			b->failed_alloc = true;
			return NULL;
		}
		b->sent = grown;
		b->cap_sent = cap;
	}
	m = &b->sent[b->n_sent++];
	m->seq = *b->seq;
	m->queue_rule = false;
	snprintf(m->what, sizeof(m->what), "%s", what);
	return nftnl_nlmsg_build_hdr(nftnl_batch_buffer(b->batch), type,
				     NFPROTO_INET, flags | NLM_F_ACK,
				     (*b->seq)++);
}

void nft_batch_message_done(struct nft_batch *b)
{
	nftnl_batch_update(b->batch);
}

/* Sends a set's elements (or, with none, flushes it on delete). */
void nft_batch_put_elements(struct nft_batch *b, uint16_t type, struct nftnl_set *s,
			 const char *what)
{
	struct nlmsghdr *nlh = nft_batch_message(b, type,
				       type == NFT_MSG_NEWSETELEM ? NLM_F_CREATE : 0,
				       what);

	if (nlh) {
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		nft_batch_message_done(b);
	}
}

struct nftnl_set *nft_element_list(const char *table, const char *set)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (!s)
		return NULL;
	nftnl_set_set_str(s, NFTNL_SET_TABLE, table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, set);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	return s;
}

struct nftnl_set_elem *nft_element_add(struct nftnl_set *s, const void *key,
					  uint32_t len, uint32_t flags,
					  uint64_t timeout_ms)
{
	struct nftnl_set_elem *e = nftnl_set_elem_alloc();

	if (!e)
		return NULL;
	nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY, key, len);
	if (flags)
		nftnl_set_elem_set_u32(e, NFTNL_SET_ELEM_FLAGS, flags);
	if (timeout_ms)
		nftnl_set_elem_set_u64(e, NFTNL_SET_ELEM_TIMEOUT, timeout_ms);
	nftnl_set_elem_add(s, e);
	return e;
}

void nft_batch_flush_set(struct nft_batch *b, const char *table, const char *name)
{
	struct nftnl_set *s = nft_element_list(table, name);
	char what[96];

	if (!s)
		return;
	snprintf(what, sizeof(what), "flush set %s", name);
	nft_batch_put_elements(b, NFT_MSG_DELSETELEM, s, what);
	nftnl_set_free(s);
}

const struct nft_family nft_families[2] = {
	{ NFPROTO_IPV4, 4, 12, 16, TYPE_IPADDR, "servers4", "pinholes4",
	  "fixed4", "dnat4", NFT_REG_1, NFT_REG32_01, NFT_REG32_02, NFT_REG32_03,
	  NFT_REG32_01 },
	{ NFPROTO_IPV6, 16, 8, 24, TYPE_IP6ADDR, "servers6", "pinholes6",
	  "fixed6", "dnat6", NFT_REG_1, NFT_REG_2, NFT_REG32_08, NFT_REG32_09,
	  NFT_REG32_04 },
};

const char *nft_rules_table(const struct rpcgate_config *cfg)
{
	return cfg->nft_mode == NFT_MODE_SETS ? QUEUE_TABLE : cfg->nft_table;
}

const struct nft_family *nft_family_of(uint8_t af)
{
	return af == AF_INET ? &nft_families[0] : &nft_families[1];
}

/* Concatenated keys pad every field to 4 bytes. */
uint32_t nft_pinhole_key_len(const struct nft_family *f)
{
	return 2u * f->addr_len + 4 + 4;
}