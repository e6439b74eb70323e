/*
 * The ruleset check without a kernel: what an install batch creates, a
 * dump that shows all of it (the batch's own messages, which share the
 * dump's layout), one that lacks a rule, a table, a set's elements, or
 * shows a re-created pinhole set; which events concern rpcgated; the
 * pinhole elements a dump holds.
 */
#include "../../daemon/nft_watch.c"

#include <arpa/inet.h>
#include <libnftnl/rule.h>
#include <libnftnl/table.h>

#include "unit.h"

static struct rpcgate_config cfg;
static struct nft_expected x;
static struct nft_watch_baseline base;
static struct nft_damage d;

static void reset(enum nft_mode mode)
{
	config_defaults(&cfg);
	cfg.n_servers = 2;
	prefix_parse("198.51.100.20", &cfg.servers[0]);
	prefix_parse("2001:db8:2::20", &cfg.servers[1]);
	cfg.nft_mode = mode;
	if (mode == NFT_MODE_SETS)
		snprintf(cfg.nft_table, sizeof(cfg.nft_table), "filter");
	memset(&base, 0, sizeof(base));
	CHECK(nft_expected_build(&x, &cfg, NFT_QUEUE_XT));
}

static const struct nft_object *object(enum nft_object_kind kind,
				       const char *table, const char *name)
{
	return find_object(&x, kind, table, name);
}

/* Feeds the install batch to the check as if the kernel dumped it,
 * leaving out the skip-th message of type skip_type (NONE: none). */
#define NONE UINT16_MAX
struct feeding {
	uint16_t skip_type;
	int skip;
	int seen;
};

static void feed_one(void *arg, const struct nlmsghdr *nlh)
{
	struct feeding *f = arg;

	if (NFNL_MSG_TYPE(nlh->nlmsg_type) == f->skip_type && f->seen++ == f->skip)
		return;
	nft_expected_observe(&x, nlh);
}

static void feed_install(uint16_t skip_type, int skip)
{
	uint32_t seq = 0;
	struct nft_batch *b = nft_batch_new(NULL, &seq, &cfg);
	struct feeding f = { skip_type, skip, 0 };

	nft_rules_build(b, false, NFT_QUEUE_XT);
	CHECK(batch_walk(b, feed_one, &f));
	nft_batch_free(b);
}

/* A table the kernel shows, with its handle. */
static void feed_table(const char *name, uint64_t handle)
{
	char buf[512];
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_NEWTABLE,
						     NFPROTO_INET, 0, 1);

	nftnl_table_set_str(t, NFTNL_TABLE_NAME, name);
	nftnl_table_nlmsg_build_payload(nlh, t);
	nftnl_table_free(t);
	mnl_attr_put_u64(nlh, NFTA_TABLE_HANDLE, htobe64(handle));
	nft_expected_observe(&x, nlh);
}

static void test_expected_table_mode(void)
{
	const struct nft_object *o;

	reset(NFT_MODE_TABLE);
	CHECK(!x.overflow);
	CHECK(object(NFT_OBJECT_TABLE, "rpcgate", "rpcgate") != NULL);
	o = object(NFT_OBJECT_CHAIN, "rpcgate", "forward");
	/* per family: 6 queue rules (to, from a published server, from;
	 * TCP and UDP), fixed ports, pinhole, 2 drops */
	CHECK(o && o->expected == 20);
	o = object(NFT_OBJECT_CHAIN, "rpcgate", "answers");
	CHECK(o && o->expected == 4);
	o = object(NFT_OBJECT_CHAIN, "rpcgate", "prerouting");
	CHECK(o && o->expected == 2);
	o = object(NFT_OBJECT_SET, "rpcgate", "servers4");
	CHECK(o && o->fixed_elements && o->expected == 2);	/* start, end */
	o = object(NFT_OBJECT_SET, "rpcgate", "epm_ports");
	CHECK(o && o->fixed_elements && o->expected == 2);	/* 135, 593 */
	o = object(NFT_OBJECT_SET, "rpcgate", "pure_acks6");
	CHECK(o && o->fixed_elements && o->expected == 11);	/* data offsets 5-15 */
	o = object(NFT_OBJECT_SET, "rpcgate", "pinholes4");
	CHECK(o && o->pinholes && !o->fixed_elements);
	o = object(NFT_OBJECT_SET, "rpcgate", "dnat6");
	CHECK(o && !o->pinholes && !o->fixed_elements);
}

static void test_all_there(void)
{
	reset(NFT_MODE_TABLE);
	feed_install(NONE, 0);
	nft_expected_judge(&x, &base, &d);
	CHECK(!d.replace && !d.pinholes_suspect && !d.foreign_table_gone);
	CHECK(d.what[0] == '\0');
	CHECK(base.known);
}

static void test_rule_deleted(void)
{
	reset(NFT_MODE_TABLE);
	feed_install(NFT_MSG_NEWRULE, 9);	/* one of forward's */
	nft_expected_judge(&x, &base, &d);
	CHECK(d.replace);
	CHECK(strcmp(d.what, "chain inet rpcgate forward lost 1 of its 20 rules") == 0);
}

static void test_set_flushed(void)
{
	reset(NFT_MODE_TABLE);
	feed_install(NFT_MSG_NEWSETELEM, 1);	/* servers6's */
	nft_expected_judge(&x, &base, &d);
	CHECK(d.replace);
	CHECK(strstr(d.what, "lost 2 of its 2 elements") != NULL);
}

static void test_table_gone(void)
{
	reset(NFT_MODE_TABLE);
	nft_expected_judge(&x, &base, &d);
	CHECK(d.replace && !d.foreign_table_gone);
	/* named once, not with every chain and set in it */
	CHECK(strcmp(d.what, "table inet rpcgate was removed") == 0);
}

static void test_sets_mode(void)
{
	const struct nft_object *o;

	reset(NFT_MODE_SETS);
	o = object(NFT_OBJECT_TABLE, "filter", "filter");
	CHECK(o && o->foreign);
	CHECK(object(NFT_OBJECT_SET, "filter", "pinholes6")->pinholes);
	CHECK(object(NFT_OBJECT_CHAIN, "rpcgate_queue", "forward")->expected == 14);
	/* the administrator's table gone: nowhere for the sets */
	feed_install(NONE, 0);
	nft_expected_judge(&x, &base, &d);
	CHECK(d.foreign_table_gone && !d.replace);
	CHECK(strcmp(d.what, "table inet filter was removed") == 0);

	/* there, and the first check learns its handles */
	reset(NFT_MODE_SETS);
	feed_table("filter", 7);
	feed_install(NONE, 0);
	nft_expected_judge(&x, &base, &d);
	CHECK(!d.replace && !d.pinholes_suspect && base.known);

	/* re-created by the administrator's nft -f: a new handle */
	CHECK(nft_expected_build(&x, &cfg, NFT_QUEUE_XT));
	feed_table("filter", 8);
	feed_install(NONE, 0);
	nft_expected_judge(&x, &base, &d);
	CHECK(d.pinholes_suspect && !d.replace);
	CHECK(strstr(d.what, "set inet filter pinholes4 was replaced") != NULL);
	/* until it is repaired, still so */
	CHECK(base.table_handle[0] == 7);
}

/* An event of type about table/name from port pid. */
static bool event(uint16_t type, const char *table, const char *name,
		  uint32_t pid)
{
	char buf[512];
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, type, NFPROTO_INET, 0, 1);

	mnl_attr_put_strz(nlh, NFTA_TABLE_NAME, table);
	if (type == NFT_MSG_DELRULE || type == NFT_MSG_NEWRULE)
		mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, name);
	else if (type == NFT_MSG_DELCHAIN)
		mnl_attr_put_strz(nlh, NFTA_CHAIN_NAME, name);
	else if (type != NFT_MSG_DELTABLE && type != NFT_MSG_NEWTABLE)
		mnl_attr_put_strz(nlh, NFTA_SET_NAME, name);
	nlh->nlmsg_pid = pid;
	return nft_event_concerns(nlh, 1234, &cfg);
}

static void test_events(void)
{
	reset(NFT_MODE_TABLE);
	CHECK(event(NFT_MSG_DELRULE, "rpcgate", "forward", 99));
	CHECK(!event(NFT_MSG_DELRULE, "rpcgate", "forward", 1234));	/* its own */
	CHECK(!event(NFT_MSG_NEWRULE, "rpcgate", "forward", 99));
	CHECK(event(NFT_MSG_DELTABLE, "rpcgate", "rpcgate", 0));
	CHECK(event(NFT_MSG_DELSETELEM, "rpcgate", "pinholes6", 99));
	CHECK(!event(NFT_MSG_DELTABLE, "filter", "filter", 99));
	CHECK(!event(NFT_MSG_DELSETELEM, "filter", "blocked", 99));

	reset(NFT_MODE_SETS);
	CHECK(event(NFT_MSG_DELCHAIN, "rpcgate_queue", "forward", 99));
	CHECK(event(NFT_MSG_DELSETELEM, "filter", "pinholes4", 99));
	CHECK(event(NFT_MSG_NEWSET, "filter", "pinholes6", 99));
	CHECK(event(NFT_MSG_DELTABLE, "filter", "filter", 99));
	CHECK(!event(NFT_MSG_DELSETELEM, "filter", "pinholes4", 1234));
	CHECK(!event(NFT_MSG_DELSETELEM, "filter", "blocked", 99));
	CHECK(!event(NFT_MSG_DELRULE, "filter", "forward", 99));
	CHECK(!event(NFT_MSG_DELTABLE, "other", "other", 99));
}

static void held_one(void *arg, const struct nlmsghdr *nlh)
{
	if (NFNL_MSG_TYPE(nlh->nlmsg_type) == NFT_MSG_NEWSETELEM)
		nft_held_observe(arg, nlh);
}

static void test_held(void)
{
	struct nft_held_pinholes h = { 0 };
	struct pinhole p[3] = {
		{ .family = AF_INET, .proto = IPPROTO_TCP, .port = 49160 },
		{ .family = AF_INET6, .proto = IPPROTO_TCP, .port = 49160 },
		{ .family = AF_INET, .proto = IPPROTO_TCP, .port = 49161 },
	};
	uint32_t seq = 0;
	struct nft_batch *b;

	reset(NFT_MODE_TABLE);
	inet_pton(AF_INET, "192.0.2.10", p[0].client);
	inet_pton(AF_INET, "198.51.100.20", p[0].server);
	inet_pton(AF_INET6, "2001:db8:1::10", p[1].client);
	inet_pton(AF_INET6, "2001:db8:2::20", p[1].server);
	memcpy(p[2].client, p[0].client, 4);
	memcpy(p[2].server, p[0].server, 4);
	b = nft_batch_new(NULL, &seq, &cfg);
	nft_batch_pinhole_add(b, &p[1], 60, NFT_ELEMENT_REPLACE);
	nft_batch_pinhole_add(b, &p[0], 60, NFT_ELEMENT_REPLACE);
	CHECK(batch_walk(b, held_one, &h));
	nft_batch_free(b);
	nft_held_sort(&h);
	/* a replace is add, delete, add: each pinhole twice here, where the
	 * kernel's dump has it once */
	CHECK(h.n == 4 && !h.failed_alloc);
	CHECK(nft_held_find(&h, &p[0]) >= 0);
	CHECK(nft_held_find(&h, &p[1]) >= 0);
	CHECK(nft_held_find(&h, &p[2]) == -1);
	nft_held_release(&h);
	CHECK(nft_held_find(&h, &p[0]) == -1);
}

int main(void)
{
	RUN(test_expected_table_mode);
	RUN(test_all_there);
	RUN(test_rule_deleted);
	RUN(test_set_flushed);
	RUN(test_table_gone);
	RUN(test_sets_mode);
	RUN(test_events);
	RUN(test_held);
	UNIT_EXIT();
}
