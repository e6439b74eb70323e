#include <netinet/in.h>
#include <arpa/inet.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <stdlib.h>
#include <string.h>

#include "nft_rules.h"

#define CHAIN_NAME "forward"
#define CHAIN_PRIORITY (-10)	/* before the usual filter chains */
#define SET_EPM_PORTS "epm_ports"

/* ------------------------------------------------------------------ */
/* expressions                                                         */

static void expr_add(struct nftnl_rule *r, struct nftnl_expr *e)
{
	if (e)
		nftnl_rule_add_expr(r, e);
}

static void meta_load(struct nftnl_rule *r, uint32_t key, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("meta");

	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, dreg);
	expr_add(r, e);
}

static void payload_load(struct nftnl_rule *r, uint32_t base, uint32_t offset,
			 uint32_t len, uint32_t dreg)
{
	struct nftnl_expr *e = nftnl_expr_alloc("payload");

	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, dreg);
	expr_add(r, e);
}

static void compare(struct nftnl_rule *r, uint32_t op, const void *data,
		    uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("cmp");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	expr_add(r, e);
}

static void lookup(struct nftnl_rule *r, const char *set, bool inverted)
{
	struct nftnl_expr *e = nftnl_expr_alloc("lookup");

	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	if (inverted)
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
	expr_add(r, e);
}

static void bitwise(struct nftnl_rule *r, uint32_t mask, uint32_t xor)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");

	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, sizeof(uint32_t));
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, &mask, sizeof(mask));
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &xor, sizeof(xor));
	expr_add(r, e);
}

static void ct_expr(struct nftnl_rule *r, uint32_t key, bool set)
{
	struct nftnl_expr *e = nftnl_expr_alloc("ct");

	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, set ? NFTNL_EXPR_CT_SREG : NFTNL_EXPR_CT_DREG,
			   NFT_REG_1);
	expr_add(r, e);
}

/* ct KEY & bits != 0 (state, status) */
static void match_ct_bits(struct nftnl_rule *r, uint32_t key, uint32_t bits)
{
	uint32_t zero = 0;

	ct_expr(r, key, false);
	bitwise(r, bits, 0);
	compare(r, NFT_CMP_NEQ, &zero, sizeof(zero));
}

/* ct state & states != 0 */
static void match_ct_state(struct nftnl_rule *r, uint32_t states)
{
	match_ct_bits(r, NFT_CT_STATE, states);
}

static void match_u8(struct nftnl_rule *r, uint32_t meta_key, uint8_t value)
{
	meta_load(r, meta_key, NFT_REG_1);
	compare(r, NFT_CMP_EQ, &value, sizeof(value));
}

static void verdict(struct nftnl_rule *r, int code)
{
	struct nftnl_expr *e = nftnl_expr_alloc("immediate");

	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)code);
	expr_add(r, e);
}

static void queue(struct nftnl_rule *r, enum nft_queue_kind kind,
		  const struct rpcgate_config *cfg)
{
	bool bypass = cfg->on_failure == ON_FAILURE_OPEN;
	struct nftnl_expr *e;

	if (kind == NFT_QUEUE_NATIVE) {
		e = nftnl_expr_alloc("queue");
		nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_NUM, cfg->queue_num);
		nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_TOTAL, 1);
		nftnl_expr_set_u16(e, NFTNL_EXPR_QUEUE_FLAGS,
				   bypass ? NFT_QUEUE_FLAG_BYPASS : 0);
	} else {
		/* libnftnl keeps this pointer and frees it with the expression */
		struct xt_NFQ_info_v3 *info = calloc(1, sizeof(*info));

		e = nftnl_expr_alloc("target");
		if (!info || !e) {
			free(info);
			nftnl_expr_free(e);
			return;
		}
		info->queuenum = cfg->queue_num;
		info->queues_total = 1;
		info->flags = bypass ? NFQ_FLAG_BYPASS : 0;
		nftnl_expr_set_str(e, NFTNL_EXPR_TG_NAME, "NFQUEUE");
		nftnl_expr_set_u32(e, NFTNL_EXPR_TG_REV, 3);
		nftnl_expr_set(e, NFTNL_EXPR_TG_INFO, info, sizeof(*info));
	}
	expr_add(r, e);
}

/* client . server . l4proto . dport into the family's concat registers */
static void load_pinhole_key(struct nftnl_rule *r, const struct nft_family *f)
{
	payload_load(r, NFT_PAYLOAD_NETWORK_HEADER, f->saddr_offset,
		     f->addr_len, f->reg_client);
	payload_load(r, NFT_PAYLOAD_NETWORK_HEADER, f->daddr_offset,
		     f->addr_len, f->reg_server);
	meta_load(r, NFT_META_L4PROTO, f->reg_proto);
	payload_load(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, f->reg_port);
}

/* ------------------------------------------------------------------ */
/* objects                                                             */

static void put_table(struct nft_batch *b, uint16_t type, uint16_t flags)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh;
	char what[96];

	snprintf(what, sizeof(what), "%s table inet %s",
		 type == NFT_MSG_NEWTABLE ? "add" : "delete", nft_rules_table(b->cfg));
	nlh = nft_batch_message(b, type, flags, what);
	if (!t || !nlh) {
		nftnl_table_free(t);
		return;
	}
	nftnl_table_set_str(t, NFTNL_TABLE_NAME, nft_rules_table(b->cfg));
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	nft_batch_message_done(b);
}

struct chain_spec {
	const char *name;
	const char *type;
	uint32_t hook;
	int32_t priority;
};

static const struct chain_spec forward_chain = {
	CHAIN_NAME, "filter", NF_INET_FORWARD, CHAIN_PRIORITY,
};
/* before the usual dstnat chains (-100), so a published server's
 * dynamic ports are mapped before anything else looks at them */
static const struct chain_spec dnat_chain = {
	"prerouting", "nat", NF_INET_PRE_ROUTING, -110,
};
/*
 * Forged answers are judged as they come in, before conntrack (-200) and
 * before the router forwards them: a forwarded IPv6 packet that leaves by
 * the interface it came in on earns its source -- the server it claims
 * to be -- an ICMPv6 redirect, sent before the forward hook runs, which
 * sends the server's genuine answers astray.  Before the printed
 * ruleset's own check at priority raw (-300), so the daemon sees what it
 * drops.
 */
static const struct chain_spec answers_chain = {
	"answers", "filter", NF_INET_PRE_ROUTING, -310,
};

static void put_chain(struct nft_batch *b, const struct chain_spec *spec)
{
	struct nftnl_chain *c = nftnl_chain_alloc();
	struct nlmsghdr *nlh;
	char what[96];

	snprintf(what, sizeof(what), "add chain %s", spec->name);
	nlh = nft_batch_message(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, what);
	if (!c || !nlh) {
		nftnl_chain_free(c);
		return;
	}
	nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, nft_rules_table(b->cfg));
	nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, spec->name);
	nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, spec->type);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, spec->hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, spec->priority);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nftnl_chain_nlmsg_build_payload(nlh, c);
	nftnl_chain_free(c);
	nft_batch_message_done(b);
}

static void flush_chain(struct nft_batch *b, const char *chain)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr *nlh;
	char what[96];

	snprintf(what, sizeof(what), "flush chain %s", chain);
	nlh = nft_batch_message(b, NFT_MSG_DELRULE, 0, what);
	if (!r || !nlh) {
		nftnl_rule_free(r);
		return;
	}
	nftnl_rule_set_str(r, NFTNL_RULE_TABLE, nft_rules_table(b->cfg));
	nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	nft_batch_message_done(b);
}

struct set_spec {
	const char *table;
	const char *name;
	uint32_t flags;
	uint32_t key_type, key_len;
	uint32_t data_type, data_len;	/* maps only */
	uint32_t size;			/* 0: the kernel's default */
	uint8_t fields[2];		/* concatenated interval keys: part lengths */
	uint32_t n_fields;
	bool counter;			/* each element counts what matches it */
};

static void put_set(struct nft_batch *b, const struct set_spec *spec,
		    uint16_t msg_flags)
{
	struct nftnl_set *s = nftnl_set_alloc();
	struct nlmsghdr *nlh;
	char what[96];

	snprintf(what, sizeof(what), "add set %s", spec->name);
	nlh = nft_batch_message(b, NFT_MSG_NEWSET, msg_flags, what);
	if (!s || !nlh) {
		nftnl_set_free(s);
		return;
	}
	nftnl_set_set_str(s, NFTNL_SET_TABLE, spec->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, spec->name);
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFPROTO_INET);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, spec->flags);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, spec->key_type);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, spec->key_len);
	nftnl_set_set_u32(s, NFTNL_SET_ID, ++b->set_ids);
	if (spec->data_len) {
		nftnl_set_set_u32(s, NFTNL_SET_DATA_TYPE, spec->data_type);
		nftnl_set_set_u32(s, NFTNL_SET_DATA_LEN, spec->data_len);
	}
	if (spec->size)
		nftnl_set_set_u32(s, NFTNL_SET_DESC_SIZE, spec->size);
	if (spec->n_fields)
		nftnl_set_set_data(s, NFTNL_SET_DESC_CONCAT, spec->fields,
				   spec->n_fields);
	if (spec->counter) {
		struct nftnl_expr *counter = nftnl_expr_alloc("counter");

		if (counter)
			nftnl_set_add_expr(s, counter);
	}
	nftnl_set_nlmsg_build_payload(nlh, s);
	nftnl_set_free(s);
	nft_batch_message_done(b);
}

/* addr += 1 over len bytes; false when it wrapped past the top. */
static bool addr_increment(uint8_t *addr, size_t len)
{
	for (size_t i = len; i-- > 0;)
		if (++addr[i] != 0)
			return true;
	return false;
}

/* The last address of a prefix (host bits all set). */
static void prefix_last(const struct addr_prefix *p, size_t addr_len,
			uint8_t last[16])
{
	memcpy(last, p->addr, addr_len);
	for (size_t bit = p->len; bit < 8 * addr_len; bit++)
		last[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
}

struct range {
	uint8_t first[16];
	uint8_t last[16];	/* inclusive */
};

static int range_order(const void *a, const void *b)
{
	return memcmp(((const struct range *)a)->first,
		      ((const struct range *)b)->first, 16);
}

/*
 * The server prefixes of one family (of one group, or all for group -1)
 * as sorted ranges, overlapping and adjacent ones merged: the kernel
 * refuses overlapping interval elements.  Returns how many.
 */
static size_t server_ranges(const struct rpcgate_config *cfg,
			    const struct nft_family *f, uint8_t af, int group,
			    struct range ranges[CONFIG_MAX_SERVERS])
{
	size_t n = 0, merged = 0;

	for (size_t i = 0; i < cfg->n_servers; i++) {
		const struct addr_prefix *p = &cfg->servers[i];

		if (p->family != af || (group >= 0 && cfg->server_group[i] != group))
			continue;
		memset(&ranges[n], 0, sizeof(ranges[n]));
		memcpy(ranges[n].first, p->addr, f->addr_len);
		prefix_last(p, f->addr_len, ranges[n].last);
		n++;
	}
	if (n == 0)
		return 0;
	qsort(ranges, n, sizeof(ranges[0]), range_order);
	for (size_t i = 1; i < n; i++) {
		uint8_t after[16];
		bool to_top;

		memcpy(after, ranges[merged].last, 16);
		to_top = !addr_increment(after, f->addr_len);
		if (to_top || memcmp(ranges[i].first, after, 16) <= 0) {
			if (memcmp(ranges[i].last, ranges[merged].last, 16) > 0)
				memcpy(ranges[merged].last, ranges[i].last, 16);
		} else {
			ranges[++merged] = ranges[i];
		}
	}
	return merged + 1;
}

/* The servers of one family as an interval set: start and end elements. */
static void put_servers(struct nft_batch *b, const struct nft_family *f, uint8_t af)
{
	struct range ranges[CONFIG_MAX_SERVERS];
	size_t n = server_ranges(b->cfg, f, af, -1, ranges);
	struct nftnl_set *s;

	if (n == 0 || !(s = nft_element_list(nft_rules_table(b->cfg), f->servers_set)))
		return;
	for (size_t i = 0; i < n; i++) {
		uint8_t after[16];

		nft_element_add(s, ranges[i].first, f->addr_len, 0, 0);
		memcpy(after, ranges[i].last, 16);
		/* a range that runs to the top has no end element */
		if (addr_increment(after, f->addr_len))
			nft_element_add(s, after, f->addr_len,
				    NFT_SET_ELEM_INTERVAL_END, 0);
	}
	nft_batch_put_elements(b, NFT_MSG_NEWSETELEM, s, "add server elements");
	nftnl_set_free(s);
}

static void put_epm_ports(struct nft_batch *b)
{
	struct nftnl_set *s = nft_element_list(nft_rules_table(b->cfg), SET_EPM_PORTS);

	if (!s)
		return;
	for (size_t i = 0; i < b->cfg->n_epm_ports; i++) {
		uint16_t port = htons(b->cfg->epm_ports[i]);

		nft_element_add(s, &port, sizeof(port), 0, 0);
	}
	nft_batch_put_elements(b, NFT_MSG_NEWSETELEM, s, "add " SET_EPM_PORTS " elements");
	nftnl_set_free(s);
}

/*
 * Fixed ports open to every client: server range . port, one element per
 * server prefix and port of each fixed-mode group that does not ask for
 * a lookup first.
 */
static void put_fixed_elements(struct nft_batch *b, const struct nft_family *f,
			       uint8_t af)
{
	const struct rpcgate_config *cfg = b->cfg;
	struct nftnl_set *s = nft_element_list(nft_rules_table(cfg), f->fixed_set);
	struct range ranges[CONFIG_MAX_SERVERS];
	bool any = false;

	if (!s)
		return;
	for (size_t g = 0; g < cfg->n_groups; g++) {
		const struct server_policy *policy = &cfg->groups[g];
		size_t n;

		if (policy->mode != MODE_FIXED || policy->fixed_require_lookup)
			continue;
		n = server_ranges(cfg, f, af, (int)g, ranges);
		for (size_t k = 0; k < policy->n_fixed; k++) {
			uint16_t port = htons(policy->fixed[k].port);
			bool seen = false;

			for (size_t m = 0; m < k; m++)
				seen |= policy->fixed[m].port == policy->fixed[k].port;
			for (size_t i = 0; i < n && !seen; i++) {
				uint8_t first[20] = { 0 }, last[20] = { 0 };
				struct nftnl_set_elem *e;

				memcpy(first, ranges[i].first, f->addr_len);
				memcpy(last, ranges[i].last, f->addr_len);
				memcpy(first + f->addr_len, &port, sizeof(port));
				memcpy(last + f->addr_len, &port, sizeof(port));
				e = nft_element_add(s, first, f->addr_len + 4, 0, 0);
				if (e)
					nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY_END,
							   last, f->addr_len + 4);
				any = true;
			}
		}
	}
	if (any)
		nft_batch_put_elements(b, NFT_MSG_NEWSETELEM, s, "add fixed-port elements");
	nftnl_set_free(s);
}

static void put_fixed_set(struct nft_batch *b, const struct nft_family *f)
{
	struct set_spec spec = {
		.table = nft_rules_table(b->cfg),
		.name = f->fixed_set,
		.flags = NFT_SET_INTERVAL | NFT_SET_CONCAT,
		.key_type = f->addr_type << TYPE_BITS | TYPE_INET_SERVICE,
		.key_len = f->addr_len + 4u,
		.fields = { f->addr_len, 2 },
		.n_fields = 2,
	};

	put_set(b, &spec, NLM_F_CREATE | NLM_F_EXCL);
}

static uint32_t pinhole_key_type(const struct nft_family *f)
{
	return ((f->addr_type << TYPE_BITS | f->addr_type) << TYPE_BITS |
		TYPE_INET_PROTOCOL) << TYPE_BITS | TYPE_INET_SERVICE;
}

/* client . public address . l4proto . port : server . port */
static void put_dnat_map(struct nft_batch *b, const struct nft_family *f)
{
	struct set_spec spec = {
		.table = nft_rules_table(b->cfg),
		.name = f->dnat_map,
		.flags = NFT_SET_MAP | NFT_SET_TIMEOUT,
		.key_type = pinhole_key_type(f),
		.key_len = nft_pinhole_key_len(f),
		.data_type = f->addr_type << TYPE_BITS | TYPE_INET_SERVICE,
		.data_len = f->addr_len + 4u,
		.size = b->cfg->max_pinholes,
	};

	put_set(b, &spec, NLM_F_CREATE | NLM_F_EXCL);
}

/* ct mark |= pinhole_mark, so that a policy-drop chain can admit it */
static void mark_admitted(struct nftnl_rule *r, uint32_t mark)
{
	ct_expr(r, NFT_CT_MARK, false);
	bitwise(r, ~mark, mark);
	ct_expr(r, NFT_CT_MARK, true);
}

static void put_rule_in(struct nft_batch *b, const char *chain,
			struct nftnl_rule *r, const char *what, bool queue_rule)
{
	struct nlmsghdr *nlh = nft_batch_message(b, NFT_MSG_NEWRULE,
				       NLM_F_CREATE | NLM_F_APPEND, what);

	if (nlh) {
		b->sent[b->n_sent - 1].queue_rule = queue_rule;
		nftnl_rule_set_str(r, NFTNL_RULE_TABLE, nft_rules_table(b->cfg));
		nftnl_rule_set_str(r, NFTNL_RULE_CHAIN, chain);
		nftnl_rule_nlmsg_build_payload(nlh, r);
		nft_batch_message_done(b);
	}
	nftnl_rule_free(r);
}

static void put_rule(struct nft_batch *b, struct nftnl_rule *r,
		     const char *what, bool queue_rule)
{
	put_rule_in(b, CHAIN_NAME, r, what, queue_rule);
}

static struct nftnl_rule *rule_for(const struct nft_family *f)
{
	struct nftnl_rule *r = nftnl_rule_alloc();

	if (r)
		match_u8(r, NFT_META_NFPROTO, f->nfproto);
	return r;
}

/* ------------------------------------------------------------------ */
/* pure acknowledgements                                               */

/*
 * A TCP segment without payload and without SYN, FIN or RST carries
 * nothing the stream decoder uses: it is not queued.  The test is exact,
 * a lookup of (network header word . TCP data offset and flags) in a
 * constant set:
 *   IPv4: version/IHL, total length (TOS masked out) . data offset,
 *         FIN/SYN/RST; the set holds IHL 5 with total length
 *         20 + 4 * data offset and no flag: no payload, no IP options;
 *   IPv6: payload length, next header (hop limit masked out) . the same;
 *         the set holds next header TCP with payload length 4 * data
 *         offset: no payload, no extension header.
 * Anything else -- IP options, extension headers, a GSO packet whose
 * length field is 0, one payload byte -- is not in the set and is queued.
 */
#define PURE_ACK_FLAGS 0xf007	/* data offset, RST, SYN, FIN */
#define TYPE_INTEGER 4
#define TCP_DOFF_MIN 5
#define TCP_DOFF_MAX 15

static const char *pure_acks_set(const struct nft_family *f)
{
	return f->nfproto == NFPROTO_IPV4 ? "pure_acks4" : "pure_acks6";
}

/* reg &= mask over len bytes (mask in network order) */
static void mask_register(struct nftnl_rule *r, uint32_t reg, const void *mask,
			  uint32_t len)
{
	struct nftnl_expr *e = nftnl_expr_alloc("bitwise");
	uint32_t zero = 0;

	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, &zero, len);
	expr_add(r, e);
}

/* The key: the network header word in NFT_REG32_00, TCP's in _01. */
static void load_pure_ack_key(struct nftnl_rule *r, const struct nft_family *f)
{
	static const uint8_t ip4_mask[4] = { 0xff, 0x00, 0xff, 0xff };
	static const uint8_t ip6_mask[4] = { 0xff, 0xff, 0xff, 0x00 };
	uint16_t tcp_mask = htons(PURE_ACK_FLAGS);
	bool ip4 = f->nfproto == NFPROTO_IPV4;

	payload_load(r, NFT_PAYLOAD_NETWORK_HEADER, ip4 ? 0 : 4, 4, NFT_REG32_00);
	mask_register(r, NFT_REG32_00, ip4 ? ip4_mask : ip6_mask, 4);
	payload_load(r, NFT_PAYLOAD_TRANSPORT_HEADER, 12, 2, NFT_REG32_01);
	mask_register(r, NFT_REG32_01, &tcp_mask, sizeof(tcp_mask));
}

static void put_pure_acks(struct nft_batch *b, const struct nft_family *f)
{
	bool ip4 = f->nfproto == NFPROTO_IPV4;
	struct set_spec spec = {
		.table = nft_rules_table(b->cfg),
		.name = pure_acks_set(f),
		.key_type = TYPE_INTEGER << TYPE_BITS | TYPE_INTEGER,
		.key_len = 8,	/* two fields, each padded to 4 bytes */
	};
	struct nftnl_set *s;

	put_set(b, &spec, NLM_F_CREATE | NLM_F_EXCL);
	if (!(s = nft_element_list(spec.table, spec.name)))
		return;
	for (unsigned doff = TCP_DOFF_MIN; doff <= TCP_DOFF_MAX; doff++) {
		uint16_t length = htons((uint16_t)((ip4 ? 20 : 0) + 4 * doff));
		uint8_t key[8] = { 0 };

		if (ip4) {
			key[0] = 0x45;
			memcpy(key + 2, &length, 2);
		} else {
			memcpy(key, &length, 2);
			key[2] = IPPROTO_TCP;
		}
		key[4] = (uint8_t)(doff << 4);
		nft_element_add(s, key, sizeof(key), 0, 0);
	}
	nft_batch_put_elements(b, NFT_MSG_NEWSETELEM, s, "add pure-ACK elements");
	nftnl_set_free(s);
}

static void mark_packet(struct nftnl_rule *r, uint32_t bit);

/*
 * Endpoint-mapper traffic with a server, one direction and protocol, goes
 * to the daemon, pure acknowledgements excepted.  With `published`, only
 * the server's packets of connections DNAT translated, marked with
 * published_mark: the daemon asks conntrack for the public address of
 * those conversations only, and clears the bit again at the verdict.
 */
static void put_queue_rule(struct nft_batch *b, const struct nft_family *f,
			   uint8_t proto, bool to_server, bool published,
			   enum nft_queue_kind kind)
{
	struct nftnl_rule *r = rule_for(f);
	char what[96];

	if (!r)
		return;
	match_u8(r, NFT_META_L4PROTO, proto);
	payload_load(r, NFT_PAYLOAD_NETWORK_HEADER,
		     to_server ? f->daddr_offset : f->saddr_offset, f->addr_len,
		     NFT_REG_1);
	lookup(r, f->servers_set, false);
	payload_load(r, NFT_PAYLOAD_TRANSPORT_HEADER, to_server ? 2 : 0, 2,
		     NFT_REG_1);
	lookup(r, SET_EPM_PORTS, false);
	match_ct_state(r, NF_CT_STATE_BIT(IP_CT_NEW) |
				  NF_CT_STATE_BIT(IP_CT_ESTABLISHED));
	if (proto == IPPROTO_TCP) {
		load_pure_ack_key(r, f);
		lookup(r, pure_acks_set(f), true);
	}
	if (published) {
		match_ct_bits(r, NFT_CT_STATUS, IPS_DST_NAT);
		mark_packet(r, b->cfg->published_mark);
	}
	queue(r, kind, b->cfg);
	snprintf(what, sizeof(what), "add rule: %s %s EPM traffic %s a %sserver -> %s",
		 f->nfproto == NFPROTO_IPV4 ? "IPv4" : "IPv6",
		 proto == IPPROTO_TCP ? "TCP" : "UDP", to_server ? "to" : "from",
		 published ? "published " : "",
		 kind == NFT_QUEUE_NATIVE ? "queue" : "xt NFQUEUE");
	put_rule(b, r, what, true);
}

/*
 * Strict reverse path: the route back to the packet's source leaves by
 * the interface the packet came in on.  NFT_REG_1 holds that interface,
 * or 0 ("missing") when the route leaves elsewhere.
 */
static void fib_source_via_iif(struct nftnl_rule *r)
{
	struct nftnl_expr *e = nftnl_expr_alloc("fib");

	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_FLAGS,
			   NFTA_FIB_F_SADDR | NFTA_FIB_F_IIF);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_RESULT, NFT_FIB_RESULT_OIF);
	nftnl_expr_set_u32(e, NFTNL_EXPR_FIB_DREG, NFT_REG_1);
	expr_add(r, e);
}

/* meta mark |= bit */
static void mark_packet(struct nftnl_rule *r, uint32_t bit)
{
	struct nftnl_expr *e;

	meta_load(r, NFT_META_MARK, NFT_REG_1);
	bitwise(r, ~bit, bit);
	e = nftnl_expr_alloc("meta");
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, NFT_META_MARK);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_SREG, NFT_REG_1);
	expr_add(r, e);
}

/*
 * A packet from a server's EPM port that came in where the route back to
 * the server does not leave: someone else speaking in the server's name
 * (a client's forgery hairpinned back out of its own interface).  It is
 * marked with reverse_path_mark and queued, in the answers chain, so
 * that the daemon drops it and says where it came from.
 */
static void put_forged_answer_rule(struct nft_batch *b, const struct nft_family *f,
				   uint8_t proto, enum nft_queue_kind kind)
{
	struct nftnl_rule *r = rule_for(f);
	uint32_t missing = 0;
	char what[96];

	if (!r)
		return;
	match_u8(r, NFT_META_L4PROTO, proto);
	payload_load(r, NFT_PAYLOAD_NETWORK_HEADER, f->saddr_offset, f->addr_len,
		     NFT_REG_1);
	lookup(r, f->servers_set, false);
	payload_load(r, NFT_PAYLOAD_TRANSPORT_HEADER, 0, 2, NFT_REG_1);
	lookup(r, SET_EPM_PORTS, false);
	fib_source_via_iif(r);
	compare(r, NFT_CMP_EQ, &missing, sizeof(missing));
	mark_packet(r, b->cfg->reverse_path_mark);
	queue(r, kind, b->cfg);
	snprintf(what, sizeof(what),
		 "add rule: %s %s answers failing the reverse path -> %s",
		 f->nfproto == NFPROTO_IPV4 ? "IPv4" : "IPv6",
		 proto == IPPROTO_TCP ? "TCP" : "UDP",
		 kind == NFT_QUEUE_NATIVE ? "queue" : "xt NFQUEUE");
	put_rule_in(b, answers_chain.name, r, what, true);
}

/* A new connection through a pinhole: refresh it, mark it, accept. */
static void put_pinhole_rule(struct nft_batch *b, const struct nft_family *f)
{
	struct nftnl_rule *r = rule_for(f);
	struct nftnl_expr *e;
	uint32_t mark = b->cfg->pinhole_mark;

	if (!r)
		return;
	match_ct_state(r, NF_CT_STATE_BIT(IP_CT_NEW));
	load_pinhole_key(r, f);
	lookup(r, f->pinholes_set, false);
	e = nftnl_expr_alloc("dynset");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_SREG_KEY, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_DYNSET_OP, NFT_DYNSET_OP_UPDATE);
		nftnl_expr_set_u64(e, NFTNL_EXPR_DYNSET_TIMEOUT,
				   (uint64_t)b->cfg->pinhole_timeout * 1000);
		nftnl_expr_set_str(e, NFTNL_EXPR_DYNSET_SET_NAME, f->pinholes_set);
		expr_add(r, e);
	}
	mark_admitted(r, mark);
	verdict(r, NF_ACCEPT);
	put_rule(b, r, "add rule: pinhole", false);
}

/* A new TCP connection to a fixed port of a fixed-mode server: accept. */
static void put_fixed_rule(struct nft_batch *b, const struct nft_family *f)
{
	struct nftnl_rule *r = rule_for(f);

	if (!r)
		return;
	match_ct_state(r, NF_CT_STATE_BIT(IP_CT_NEW));
	match_u8(r, NFT_META_L4PROTO, IPPROTO_TCP);
	payload_load(r, NFT_PAYLOAD_NETWORK_HEADER, f->daddr_offset, f->addr_len,
		     NFT_REG_1);
	payload_load(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, f->reg_port_after_addr);
	lookup(r, f->fixed_set, false);
	mark_admitted(r, b->cfg->pinhole_mark);
	verdict(r, NF_ACCEPT);
	put_rule(b, r, "add rule: fixed ports", false);
}

/*
 * A published server's dynamic port, reached through its public address:
 * client . public address . l4proto . port, looked up in the DNAT map,
 * gives the server and port to translate to.
 */
static void put_dnat_rule(struct nft_batch *b, const struct nft_family *f)
{
	struct nftnl_rule *r = rule_for(f);
	struct nftnl_expr *e;

	if (!r)
		return;
	load_pinhole_key(r, f);
	e = nftnl_expr_alloc("lookup");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_1);
		nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, f->dnat_map);
		expr_add(r, e);
	}
	e = nftnl_expr_alloc("nat");
	if (e) {
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_TYPE, NFT_NAT_DNAT);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_FAMILY, f->nfproto);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_ADDR_MIN, NFT_REG_1);
		nftnl_expr_set_u32(e, NFTNL_EXPR_NAT_REG_PROTO_MIN,
				   f->reg_port_after_addr);
		expr_add(r, e);
	}
	put_rule_in(b, dnat_chain.name, r, "add rule: DNAT map", false);
}

/* Any other new connection to a server's pinhole port range: drop. */
static void put_drop_rule(struct nft_batch *b, const struct nft_family *f,
			  uint8_t proto)
{
	struct nftnl_rule *r = rule_for(f);
	uint16_t low = htons(b->cfg->port_min), high = htons(b->cfg->port_max);

	if (!r)
		return;
	match_ct_state(r, NF_CT_STATE_BIT(IP_CT_NEW));
	payload_load(r, NFT_PAYLOAD_NETWORK_HEADER, f->daddr_offset, f->addr_len,
		     NFT_REG_1);
	lookup(r, f->servers_set, false);
	match_u8(r, NFT_META_L4PROTO, proto);
	payload_load(r, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2, NFT_REG_1);
	compare(r, NFT_CMP_GTE, &low, sizeof(low));
	compare(r, NFT_CMP_LTE, &high, sizeof(high));
	lookup(r, SET_EPM_PORTS, true);
	verdict(r, NF_DROP);
	put_rule(b, r, "add rule: drop unadmitted", false);
}

/*
 * In rpcgated's own table each element counts the new connections it
 * admits (rpcgatectl pinholes).  In the administrator's table the sets
 * are declared as --print-ruleset prints them, without a counter: the
 * kernel refuses a set declaration that differs from the existing one,
 * so both sides must agree, and they count nothing there.
 */
static void put_pinhole_sets(struct nft_batch *b, uint16_t msg_flags,
			     bool counter)
{
	for (size_t i = 0; i < 2; i++) {
		struct set_spec spec = {
			.table = b->cfg->nft_table,
			.name = nft_families[i].pinholes_set,
			.flags = NFT_SET_TIMEOUT | NFT_SET_EVAL,
			.key_type = pinhole_key_type(&nft_families[i]),
			.key_len = nft_pinhole_key_len(&nft_families[i]),
			.size = b->cfg->max_pinholes,
			.counter = counter,
		};

		put_set(b, &spec, msg_flags);
	}
}

void nft_rules_build(struct nft_batch *b, bool reload, enum nft_queue_kind kind)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	const char *table = nft_rules_table(b->cfg);
	bool own_pinholes = b->cfg->nft_mode == NFT_MODE_TABLE;

	if (!reload) {
		put_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
		struct set_spec epm_ports = {
			.table = table,
			.name = SET_EPM_PORTS,
			.key_type = TYPE_INET_SERVICE,
			.key_len = 2,
		};

		put_set(b, &epm_ports, NLM_F_CREATE | NLM_F_EXCL);
		for (size_t i = 0; i < 2; i++) {
			struct set_spec servers = {
				.table = table,
				.name = nft_families[i].servers_set,
				.flags = NFT_SET_INTERVAL,
				.key_type = nft_families[i].addr_type,
				.key_len = nft_families[i].addr_len,
			};

			put_set(b, &servers, NLM_F_CREATE | NLM_F_EXCL);
			put_fixed_set(b, &nft_families[i]);
			put_dnat_map(b, &nft_families[i]);
			put_pure_acks(b, &nft_families[i]);
		}
		/* in the administrator's table they may exist already */
		put_pinhole_sets(b, own_pinholes ? NLM_F_CREATE | NLM_F_EXCL :
						   NLM_F_CREATE, own_pinholes);
		put_chain(b, &answers_chain);
		put_chain(b, &forward_chain);
		put_chain(b, &dnat_chain);
		for (size_t i = 0; i < 2; i++)
			put_dnat_rule(b, &nft_families[i]);
	} else {
		flush_chain(b, answers_chain.name);
		flush_chain(b, CHAIN_NAME);
		nft_batch_flush_set(b, table, nft_families[0].servers_set);
		nft_batch_flush_set(b, table, nft_families[1].servers_set);
		nft_batch_flush_set(b, table, SET_EPM_PORTS);
		nft_batch_flush_set(b, table, nft_families[0].fixed_set);
		nft_batch_flush_set(b, table, nft_families[1].fixed_set);
	}
	for (size_t i = 0; i < 2; i++) {
		put_servers(b, &nft_families[i], i == 0 ? AF_INET : AF_INET6);
		put_fixed_elements(b, &nft_families[i], i == 0 ? AF_INET : AF_INET6);
	}
	put_epm_ports(b);
	for (size_t i = 0; i < 2; i++) {
		for (size_t p = 0; p < 2; p++) {
			put_forged_answer_rule(b, &nft_families[i], protos[p], kind);
			put_queue_rule(b, &nft_families[i], protos[p], true, false, kind);
			put_queue_rule(b, &nft_families[i], protos[p], false, true, kind);
			put_queue_rule(b, &nft_families[i], protos[p], false, false, kind);
		}
		put_fixed_rule(b, &nft_families[i]);
		if (own_pinholes) {
			put_pinhole_rule(b, &nft_families[i]);
			put_drop_rule(b, &nft_families[i], IPPROTO_TCP);
			put_drop_rule(b, &nft_families[i], IPPROTO_UDP);
		}
	}
}

void nft_rules_build_remove(struct nft_batch *b, bool pinhole_sets)
{
	if (pinhole_sets) {
		nft_batch_flush_set(b, b->cfg->nft_table, nft_families[0].pinholes_set);
		nft_batch_flush_set(b, b->cfg->nft_table, nft_families[1].pinholes_set);
	} else {
		put_table(b, NFT_MSG_DELTABLE, 0);
	}
}

/* The prefixes of one family, of one group or (group -1) of all. */
static bool print_prefixes(FILE *out, const struct rpcgate_config *cfg,
			   uint8_t af, int group)
{
	const char *sep = "";

	for (size_t i = 0; i < cfg->n_servers; i++) {
		char text[INET6_ADDRSTRLEN];

		if (cfg->servers[i].family != af ||
		    (group >= 0 && cfg->server_group[i] != group))
			continue;
		inet_ntop(af, cfg->servers[i].addr, text, sizeof(text));
		if (out)
			fprintf(out, "%s%s/%u", sep, text, cfg->servers[i].len);
		sep = ", ";
	}
	return *sep != '\0';
}

static void print_ports(FILE *out, const struct rpcgate_config *cfg)
{
	for (size_t i = 0; i < cfg->n_epm_ports; i++)
		fprintf(out, "%s%u", i ? ", " : "", cfg->epm_ports[i]);
}

/*
 * "ip daddr { servers } meta l4proto { tcp, udp } th dport { EPM ports }
 * ACTION" (saddr and sport for packets from the servers); false, and
 * nothing printed, when the family has no servers.
 */
static bool print_epm_rule(FILE *out, const struct rpcgate_config *cfg,
			   uint8_t af, bool from_server, const char *action)
{
	if (!print_prefixes(NULL, cfg, af, -1))
		return false;
	fprintf(out, "\t\t%s %s { ", af == AF_INET ? "ip" : "ip6",
		from_server ? "saddr" : "daddr");
	print_prefixes(out, cfg, af, -1);
	fprintf(out, " } meta l4proto { tcp, udp } th %s { ",
		from_server ? "sport" : "dport");
	print_ports(out, cfg);
	fprintf(out, " } %s\n", action);
	return true;
}

/* A fixed-mode group's ports, open to every client. */
static void print_fixed_ports(FILE *out, const struct rpcgate_config *cfg,
			      size_t g)
{
	static const char *const ip[] = { "ip", "ip6" };
	static const uint8_t af[] = { AF_INET, AF_INET6 };
	const struct server_policy *policy = &cfg->groups[g];

	if (policy->mode != MODE_FIXED || policy->fixed_require_lookup)
		return;
	for (size_t i = 0; i < 2; i++) {
		if (!print_prefixes(NULL, cfg, af[i], (int)g))
			continue;
		fprintf(out, "\t\t%s daddr { ", ip[i]);
		print_prefixes(out, cfg, af[i], (int)g);
		fprintf(out, " } tcp dport { ");
		for (size_t k = 0; k < policy->n_fixed; k++)
			fprintf(out, "%s%u", k ? ", " : "", policy->fixed[k].port);
		fprintf(out, " } accept\n");
	}
}

void nft_print_ruleset(FILE *out, const struct rpcgate_config *cfg)
{
	static const char *const ip[] = { "ip", "ip6" };
	static const uint8_t af[] = { AF_INET, AF_INET6 };
	bool sets = cfg->nft_mode == NFT_MODE_SETS;

	fprintf(out, "# A router whose forward policy is drop, for rpcgated "
		     "(nft -f FILE).\n"
		     "# Answers count only from the server's side: a packet from "
		     "a server's\n"
		     "# endpoint-mapper port that came in where the route back to "
		     "the server\n"
		     "# does not leave is dropped as it comes in (strict reverse "
		     "path; while\n"
		     "# rpcgated runs, its own rules mark such a packet with "
		     "0x%08x and the\n"
		     "# daemon drops and logs it).\n",
		cfg->reverse_path_mark);
	if (sets)
		fprintf(out,
			"# nft_mode \"sets\": rpcgated fills pinholes4 and pinholes6 below,\n"
			"# and its own table, inet " QUEUE_TABLE ", queues endpoint-mapper\n"
			"# traffic to the daemon.\n");
	else
		fprintf(out,
			"# rpcgated adds its own table, inet %s, when it starts: that\n"
			"# table queues endpoint-mapper traffic to the daemon, and marks\n"
			"# new connections that one of its pinholes admits with ct mark\n"
			"# 0x%08x; the last rule below admits those.\n",
			cfg->nft_table, cfg->pinhole_mark);
	fprintf(out, "table inet %s {\n", sets ? cfg->nft_table : "filter");
	for (size_t i = 0; sets && i < 2; i++)
		fprintf(out,
			"\tset pinholes%s {\n"
			"\t\ttype %s_addr . %s_addr . inet_proto . inet_service\n"
			"\t\tsize %u\n\t\tflags dynamic,timeout\n\t}\n",
			i ? "6" : "4", i ? "ipv6" : "ipv4", i ? "ipv6" : "ipv4",
			cfg->max_pinholes);
	/* rpcgated's own rules drop these too, but only while it runs */
	fprintf(out, "\tchain prerouting {\n"
		     "\t\ttype filter hook prerouting priority raw; policy accept;\n");
	for (size_t i = 0; i < 2; i++)
		print_epm_rule(out, cfg, af[i], true,
			       "fib saddr . iif oif missing drop");
	fprintf(out, "\t}\n");
	fprintf(out, "\tchain forward {\n"
		     "\t\ttype filter hook forward priority filter; policy drop;\n"
		     "\t\tct state established,related accept\n");
	for (size_t i = 0; i < 2; i++) {
		if (!print_epm_rule(out, cfg, af[i], false, "accept"))
			continue;
		if (sets)
			fprintf(out,
				"\t\tct state new %s saddr . %s daddr . meta l4proto . "
				"th dport @pinholes%s update @pinholes%s { %s saddr . "
				"%s daddr . meta l4proto . th dport timeout %us } accept\n",
				ip[i], ip[i], i ? "6" : "4", i ? "6" : "4", ip[i],
				ip[i], cfg->pinhole_timeout);
	}
	for (size_t g = 0; sets && g < cfg->n_groups; g++)
		print_fixed_ports(out, cfg, g);
	if (!sets)
		fprintf(out, "\t\tct mark & 0x%08x == 0x%08x accept\n",
			cfg->pinhole_mark, cfg->pinhole_mark);
	fprintf(out, "\t}\n}\n");
}