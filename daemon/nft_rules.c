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

static void put_set(struct nft_batch *b, const struct nft_set_spec *spec,
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

/* ------------------------------------------------------------------ */
/* the description: what goes into the ruleset                         */

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

static int range_order(const void *a, const void *b)
{
	return memcmp(((const struct nft_range *)a)->first,
		      ((const struct nft_range *)b)->first, 16);
}

/*
 * The server prefixes of one family (of one group, or all for group -1)
 * as sorted ranges, overlapping and adjacent ones merged: the kernel
 * refuses overlapping interval elements.  Returns how many.
 */
static size_t server_ranges(const struct rpcgate_config *cfg, uint8_t af,
			    size_t addr_len, int group,
			    struct nft_range ranges[CONFIG_MAX_SERVERS])
{
	size_t n = 0, merged = 0;

	for (size_t i = 0; i < cfg->n_servers; i++) {
		const struct addr_prefix *p = &cfg->servers[i];

		if (p->family != af || (group >= 0 && cfg->server_group[i] != group))
			continue;
		memset(&ranges[n], 0, sizeof(ranges[n]));
		memcpy(ranges[n].first, p->addr, addr_len);
		prefix_last(p, addr_len, ranges[n].last);
		n++;
	}
	if (n == 0)
		return 0;
	qsort(ranges, n, sizeof(ranges[0]), range_order);
	for (size_t i = 1; i < n; i++) {
		uint8_t after[16];
		bool to_top;

		memcpy(after, ranges[merged].last, 16);
		to_top = !addr_increment(after, addr_len);
		if (to_top || memcmp(ranges[i].first, after, 16) <= 0) {
			if (memcmp(ranges[i].last, ranges[merged].last, 16) > 0)
				memcpy(ranges[merged].last, ranges[i].last, 16);
		} else {
			ranges[++merged] = ranges[i];
		}
	}
	return merged + 1;
}

/*
 * The fixed-mode groups that open their ports to every client (those
 * that ask for a lookup first open pinholes instead), each with its
 * servers of this family and its ports, once each.
 */
static void describe_fixed(const struct rpcgate_config *cfg,
			   struct nft_family_rules *fr)
{
	for (size_t g = 0; g < cfg->n_groups; g++) {
		const struct server_policy *policy = &cfg->groups[g];
		struct nft_fixed_group *group = &fr->fixed_groups[fr->n_fixed_groups];

		if (policy->mode != MODE_FIXED || policy->fixed_require_lookup)
			continue;
		group->first_range = fr->n_fixed_ranges;
		group->n_ranges = server_ranges(cfg, fr->af, fr->family->addr_len,
						(int)g,
						&fr->fixed_ranges[fr->n_fixed_ranges]);
		group->n_ports = 0;
		for (size_t k = 0; k < policy->n_fixed; k++) {
			bool seen = false;

			for (size_t m = 0; m < group->n_ports; m++)
				seen |= group->ports[m] == policy->fixed[k].port;
			if (!seen)
				group->ports[group->n_ports++] = policy->fixed[k].port;
		}
		if (group->n_ranges == 0 || group->n_ports == 0) {
			memset(group, 0, sizeof(*group));
			continue;
		}
		fr->n_fixed_ranges += group->n_ranges;
		fr->n_fixed_groups++;
	}
}

static uint32_t pinhole_key_type(const struct nft_family *f)
{
	return ((f->addr_type << TYPE_BITS | f->addr_type) << TYPE_BITS |
		TYPE_INET_PROTOCOL) << TYPE_BITS | TYPE_INET_SERVICE;
}

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
/*
 * The key's type is only for nft's listing, which needs a size for each
 * field (it aborts on a concatenation of plain integers): the network
 * word shows as a mark, TCP's as a port number.
 */
#define TYPE_MARK 19
#define TCP_DOFF_MIN 5
#define TCP_DOFF_MAX 15

static const char *pure_acks_set(const struct nft_family *f)
{
	return f->nfproto == NFPROTO_IPV4 ? "pure_acks4" : "pure_acks6";
}

void nft_ruleset_describe(const struct rpcgate_config *cfg, struct nft_ruleset *rs)
{
	const char *table = nft_rules_table(cfg);

	memset(rs, 0, sizeof(*rs));
	rs->cfg = cfg;
	rs->epm_ports_set = (struct nft_set_spec){
		.table = table,
		.name = SET_EPM_PORTS,
		.key_type = TYPE_INET_SERVICE,
		.key_len = 2,
	};
	for (size_t i = 0; i < 2; i++) {
		const struct nft_family *f = &nft_families[i];
		struct nft_family_rules *fr = &rs->families[i];

		fr->family = f;
		fr->af = f->nfproto == NFPROTO_IPV4 ? AF_INET : AF_INET6;
		fr->n_servers = server_ranges(cfg, fr->af, f->addr_len, -1,
					      fr->servers);
		describe_fixed(cfg, fr);
		fr->servers_set = (struct nft_set_spec){
			.table = table,
			.name = f->servers_set,
			.flags = NFT_SET_INTERVAL,
			.key_type = f->addr_type,
			.key_len = f->addr_len,
		};
		/* server . port of the fixed groups */
		fr->fixed_set = (struct nft_set_spec){
			.table = table,
			.name = f->fixed_set,
			.flags = NFT_SET_INTERVAL | NFT_SET_CONCAT,
			.key_type = f->addr_type << TYPE_BITS | TYPE_INET_SERVICE,
			.key_len = f->addr_len + 4u,
			.fields = { f->addr_len, 2 },
			.n_fields = 2,
		};
		/* client . public address . l4proto . port : server . port */
		fr->dnat_map = (struct nft_set_spec){
			.table = table,
			.name = f->dnat_map,
			.flags = NFT_SET_MAP | NFT_SET_TIMEOUT,
			.key_type = pinhole_key_type(f),
			.key_len = nft_pinhole_key_len(f),
			.data_type = f->addr_type << TYPE_BITS | TYPE_INET_SERVICE,
			.data_len = f->addr_len + 4u,
			.size = cfg->max_pinholes,
		};
		/*
		 * In rpcgated's own table each element counts the new
		 * connections it admits (rpcgatectl pinholes).  In the
		 * administrator's table the sets are declared as
		 * --print-ruleset prints them, without a counter: the kernel
		 * refuses a set declaration that differs from the existing
		 * one, so both sides must agree, and they count nothing there.
		 */
		fr->pinholes_set = (struct nft_set_spec){
			.table = cfg->nft_table,
			.name = f->pinholes_set,
			.flags = NFT_SET_TIMEOUT | NFT_SET_EVAL,
			.key_type = pinhole_key_type(f),
			.key_len = nft_pinhole_key_len(f),
			.size = cfg->max_pinholes,
			.counter = cfg->nft_mode == NFT_MODE_TABLE,
		};
		fr->pure_acks_set = (struct nft_set_spec){
			.table = table,
			.name = pure_acks_set(f),
			.key_type = TYPE_MARK << TYPE_BITS | TYPE_INET_SERVICE,
			.key_len = 8,	/* two fields, each padded to 4 bytes */
		};
	}
}

/* ------------------------------------------------------------------ */
/* elements                                                            */

/* The servers of one family as an interval set: start and end elements. */
static void put_servers(struct nft_batch *b, const struct nft_family_rules *fr)
{
	size_t addr_len = fr->family->addr_len;
	struct nftnl_set *s;

	if (fr->n_servers == 0 ||
	    !(s = nft_element_list(fr->servers_set.table, fr->servers_set.name)))
		return;
	for (size_t i = 0; i < fr->n_servers; i++) {
		uint8_t after[16];

		nft_element_add(s, fr->servers[i].first, addr_len, 0, 0);
		memcpy(after, fr->servers[i].last, 16);
		/* a range that runs to the top has no end element */
		if (addr_increment(after, addr_len))
			nft_element_add(s, after, addr_len,
					NFT_SET_ELEM_INTERVAL_END, 0);
	}
	nft_batch_put_elements(b, NFT_MSG_NEWSETELEM, s, "add server elements");
	nftnl_set_free(s);
}

static void put_epm_ports(struct nft_batch *b, const struct nft_ruleset *rs)
{
	struct nftnl_set *s = nft_element_list(rs->epm_ports_set.table,
					       rs->epm_ports_set.name);

	if (!s)
		return;
	for (size_t i = 0; i < rs->cfg->n_epm_ports; i++) {
		uint16_t port = htons(rs->cfg->epm_ports[i]);

		nft_element_add(s, &port, sizeof(port), 0, 0);
	}
	nft_batch_put_elements(b, NFT_MSG_NEWSETELEM, s, "add " SET_EPM_PORTS " elements");
	nftnl_set_free(s);
}

/* Fixed ports open to every client: server range . port. */
static void put_fixed_elements(struct nft_batch *b, const struct nft_family_rules *fr)
{
	size_t addr_len = fr->family->addr_len;
	struct nftnl_set *s;

	if (fr->n_fixed_groups == 0 ||
	    !(s = nft_element_list(fr->fixed_set.table, fr->fixed_set.name)))
		return;
	for (size_t g = 0; g < fr->n_fixed_groups; g++) {
		const struct nft_fixed_group *group = &fr->fixed_groups[g];

		for (size_t k = 0; k < group->n_ports; k++) {
			uint16_t port = htons(group->ports[k]);

			for (size_t i = 0; i < group->n_ranges; i++) {
				const struct nft_range *r =
					&fr->fixed_ranges[group->first_range + i];
				uint8_t first[20] = { 0 }, last[20] = { 0 };
				struct nftnl_set_elem *e;

				memcpy(first, r->first, addr_len);
				memcpy(last, r->last, addr_len);
				memcpy(first + addr_len, &port, sizeof(port));
				memcpy(last + addr_len, &port, sizeof(port));
				e = nft_element_add(s, first, addr_len + 4, 0, 0);
				if (e)
					nftnl_set_elem_set(e, NFTNL_SET_ELEM_KEY_END,
							   last, addr_len + 4);
			}
		}
	}
	nft_batch_put_elements(b, NFT_MSG_NEWSETELEM, s, "add fixed-port elements");
	nftnl_set_free(s);
}

/* ------------------------------------------------------------------ */
/* rules                                                               */

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
/* pure acknowledgements: the rule and the set's elements              */

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

/* The set and its constant elements: each data offset, no payload. */
static void put_pure_acks(struct nft_batch *b, const struct nft_family_rules *fr)
{
	const struct nft_set_spec *spec = &fr->pure_acks_set;
	bool ip4 = fr->af == AF_INET;
	struct nftnl_set *s;

	put_set(b, spec, NLM_F_CREATE | NLM_F_EXCL);
	if (!(s = nft_element_list(spec->table, spec->name)))
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

void nft_rules_build(struct nft_batch *b, bool reload, enum nft_queue_kind kind)
{
	static const uint8_t protos[] = { IPPROTO_TCP, IPPROTO_UDP };
	bool own_pinholes = b->cfg->nft_mode == NFT_MODE_TABLE;
	struct nft_ruleset rs;

	nft_ruleset_describe(b->cfg, &rs);
	if (!reload) {
		put_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
		put_set(b, &rs.epm_ports_set, NLM_F_CREATE | NLM_F_EXCL);
		for (size_t i = 0; i < 2; i++) {
			put_set(b, &rs.families[i].servers_set, NLM_F_CREATE | NLM_F_EXCL);
			put_set(b, &rs.families[i].fixed_set, NLM_F_CREATE | NLM_F_EXCL);
			put_set(b, &rs.families[i].dnat_map, NLM_F_CREATE | NLM_F_EXCL);
		}
		/* in the administrator's table they may exist already */
		for (size_t i = 0; i < 2; i++)
			put_set(b, &rs.families[i].pinholes_set,
				own_pinholes ? NLM_F_CREATE | NLM_F_EXCL : NLM_F_CREATE);
		put_chain(b, &answers_chain);
		put_chain(b, &forward_chain);
		put_chain(b, &dnat_chain);
		for (size_t i = 0; i < 2; i++)
			put_dnat_rule(b, &nft_families[i]);
	} else {
		flush_chain(b, answers_chain.name);
		flush_chain(b, CHAIN_NAME);
		for (size_t i = 0; i < 2; i++)
			nft_batch_flush_set(b, rs.families[i].servers_set.table,
					    rs.families[i].servers_set.name);
		nft_batch_flush_set(b, rs.epm_ports_set.table, rs.epm_ports_set.name);
		for (size_t i = 0; i < 2; i++)
			nft_batch_flush_set(b, rs.families[i].fixed_set.table,
					    rs.families[i].fixed_set.name);
	}
	for (size_t i = 0; i < 2; i++) {
		put_servers(b, &rs.families[i]);
		put_fixed_elements(b, &rs.families[i]);
	}
	put_epm_ports(b, &rs);
	/* constant: a reload leaves them as they are */
	for (size_t i = 0; i < 2 && !reload; i++)
		put_pure_acks(b, &rs.families[i]);
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

void nft_rules_build_replace(struct nft_batch *b, enum nft_queue_kind kind)
{
	/* "add" makes the delete succeed whether or not the table is there */
	put_table(b, NFT_MSG_NEWTABLE, NLM_F_CREATE);
	put_table(b, NFT_MSG_DELTABLE, 0);
	nft_rules_build(b, false, kind);
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

/* ------------------------------------------------------------------ */
/* the printed ruleset                                                 */

static bool addr_bit(const uint8_t *addr, size_t bit)
{
	return addr[bit / 8] & (0x80 >> (bit % 8));
}

/*
 * One address bare, a prefix as "addr/len", any other range as nft's
 * "first-last": as `nft list` shows an interval set's elements.
 */
static void print_range(FILE *out, const struct nft_family_rules *fr,
			const struct nft_range *r)
{
	size_t bits = 8u * fr->family->addr_len, len = 0;
	char first[INET6_ADDRSTRLEN], last[INET6_ADDRSTRLEN];
	bool prefix = true;

	while (len < bits && addr_bit(r->first, len) == addr_bit(r->last, len))
		len++;
	for (size_t bit = len; bit < bits && prefix; bit++)
		prefix = !addr_bit(r->first, bit) && addr_bit(r->last, bit);
	inet_ntop(fr->af, r->first, first, sizeof(first));
	if (len == bits) {
		fputs(first, out);
	} else if (prefix) {
		fprintf(out, "%s/%zu", first, len);
	} else {
		inet_ntop(fr->af, r->last, last, sizeof(last));
		fprintf(out, "%s-%s", first, last);
	}
}

static void print_ranges(FILE *out, const struct nft_family_rules *fr,
			 const struct nft_range *ranges, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ", " : "", out);
		print_range(out, fr, &ranges[i]);
	}
}

static void print_ports(FILE *out, const uint16_t *ports, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s%u", i ? ", " : "", ports[i]);
}

/*
 * "ip daddr { servers } meta l4proto { tcp, udp } th dport { EPM ports }
 * ACTION" (saddr and sport for packets from the servers); false, and
 * nothing printed, when the family has no servers.
 */
static bool print_epm_rule(FILE *out, const struct nft_ruleset *rs,
			   const struct nft_family_rules *fr, bool from_server,
			   const char *action)
{
	if (fr->n_servers == 0)
		return false;
	fprintf(out, "\t\t%s %s { ", fr->af == AF_INET ? "ip" : "ip6",
		from_server ? "saddr" : "daddr");
	print_ranges(out, fr, fr->servers, fr->n_servers);
	fprintf(out, " } meta l4proto { tcp, udp } th %s { ",
		from_server ? "sport" : "dport");
	print_ports(out, rs->cfg->epm_ports, rs->cfg->n_epm_ports);
	fprintf(out, " } %s\n", action);
	return true;
}

/* The fixed-mode groups' ports, open to every client. */
static void print_fixed_ports(FILE *out, const struct nft_family_rules *fr)
{
	for (size_t g = 0; g < fr->n_fixed_groups; g++) {
		const struct nft_fixed_group *group = &fr->fixed_groups[g];

		fprintf(out, "\t\t%s daddr { ", fr->af == AF_INET ? "ip" : "ip6");
		print_ranges(out, fr, &fr->fixed_ranges[group->first_range],
			     group->n_ranges);
		fprintf(out, " } tcp dport { ");
		print_ports(out, group->ports, group->n_ports);
		fprintf(out, " } accept\n");
	}
}

/* A set key's type: a concatenation packs its parts TYPE_BITS each. */
static void print_set_type(FILE *out, uint32_t type)
{
	static const char *const names[] = {
		[TYPE_IPADDR] = "ipv4_addr",
		[TYPE_IP6ADDR] = "ipv6_addr",
		[TYPE_INET_PROTOCOL] = "inet_proto",
		[TYPE_INET_SERVICE] = "inet_service",
	};
	uint32_t part = type & ((1u << TYPE_BITS) - 1);

	if (type >> TYPE_BITS) {
		print_set_type(out, type >> TYPE_BITS);
		fputs(" . ", out);
	}
	/* a type without a name here makes nft -f refuse the file, loudly */
	if (part < sizeof(names) / sizeof(names[0]) && names[part])
		fputs(names[part], out);
	else
		fprintf(out, "type%u", part);
}

/* A set's declaration as the batch makes it (NFT_SET_CONCAT nft infers). */
static void print_set(FILE *out, const struct nft_set_spec *spec)
{
	static const struct {
		uint32_t flag;
		const char *name;
	} flags[] = {
		{ NFT_SET_EVAL, "dynamic" },
		{ NFT_SET_INTERVAL, "interval" },
		{ NFT_SET_TIMEOUT, "timeout" },
	};
	const char *sep = "\t\tflags ";

	fprintf(out, "\tset %s {\n\t\ttype ", spec->name);
	print_set_type(out, spec->key_type);
	fputs("\n", out);
	if (spec->size)
		fprintf(out, "\t\tsize %u\n", spec->size);
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (spec->flags & flags[i].flag) {
			fprintf(out, "%s%s", sep, flags[i].name);
			sep = ",";
		}
	}
	if (*sep == ',')
		fputs("\n", out);
	if (spec->counter)
		fputs("\t\tcounter\n", out);
	fputs("\t}\n", out);
}

void nft_print_ruleset(FILE *out, const struct rpcgate_config *cfg)
{
	bool sets = cfg->nft_mode == NFT_MODE_SETS;
	struct nft_ruleset rs;

	nft_ruleset_describe(cfg, &rs);

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
		print_set(out, &rs.families[i].pinholes_set);
	/* rpcgated's own rules drop these too, but only while it runs */
	fprintf(out, "\tchain prerouting {\n"
		     "\t\ttype filter hook prerouting priority raw; policy accept;\n");
	for (size_t i = 0; i < 2; i++)
		print_epm_rule(out, &rs, &rs.families[i], true,
			       "fib saddr . iif oif missing drop");
	fprintf(out, "\t}\n");
	fprintf(out, "\tchain forward {\n"
		     "\t\ttype filter hook forward priority filter; policy drop;\n"
		     "\t\tct state established,related accept\n");
	for (size_t i = 0; i < 2; i++) {
		const struct nft_family_rules *fr = &rs.families[i];
		const char *ip = fr->af == AF_INET ? "ip" : "ip6";

		if (!print_epm_rule(out, &rs, fr, false, "accept"))
			continue;
		if (sets)
			fprintf(out,
				"\t\tct state new %s saddr . %s daddr . meta l4proto . "
				"th dport @%s update @%s { %s saddr . "
				"%s daddr . meta l4proto . th dport timeout %us } accept\n",
				ip, ip, fr->pinholes_set.name, fr->pinholes_set.name,
				ip, ip, cfg->pinhole_timeout);
	}
	for (size_t i = 0; sets && i < 2; i++)
		print_fixed_ports(out, &rs.families[i]);
	if (!sets)
		fprintf(out, "\t\tct mark & 0x%08x == 0x%08x accept\n",
			cfg->pinhole_mark, cfg->pinhole_mark);
	fprintf(out, "\t}\n}\n");
}
