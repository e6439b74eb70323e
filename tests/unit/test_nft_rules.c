/*
 * rpcgate's ruleset without a kernel: the description both the batch and
 * the printed ruleset come from, and golden files of both, as nftables'
 * tests/py/ *.t.payload files hold what nft puts on the wire.
 *
 * For each configuration in `cases` the install batch (first install and
 * reload, native queue and xt NFQUEUE) and the removal are built with
 * nft_rules_build, every netlink message is printed in a stable text form
 * -- what it is for, its type and flags, then the table, chain, set
 * declaration, element list, or rule with libnftnl's expression listing --
 * and compared with tests/nft/NAME.payload; --print-ruleset's text with
 * tests/nft/NAME.nft.  RPCGATE_UPDATE_GOLDENS=1 writes the files instead
 * (then read their diff before committing it).  Byte strings print as
 * libnftnl prints them, 32-bit words in host order: the goldens are those
 * of a little-endian machine.  Run from the repository root (tests/run.sh
 * does).
 */
#include <libmnl/libmnl.h>
#include <libnftnl/batch.h>
#include <linux/netfilter/nfnetlink.h>
#include <stdlib.h>
#include <sys/uio.h>

#include "../../daemon/nft_rules.c"
#include "unit.h"

struct golden_case {
	const char *name;	/* tests/nft/NAME.payload, tests/nft/NAME.nft */
	const char *config;
};

static const struct golden_case cases[] = {
	/* one server, every default: table mode */
	{ "minimal", "tests/config/minimal.conf" },
	/* every key: nft_mode "sets", prefixes and single addresses */
	{ "full", "tests/config/full.conf" },
	/* fixed-mode groups with and without a lookup first, a dynamic one */
	{ "fixed", "tests/config/fixed-valid.conf" },
	/* overlapping, adjacent and nested prefixes; sets mode; fixed ports */
	{ "merged", "tests/nft/merged.conf" },
};

/* ------------------------------------------------------------------ */
/* the batch as text                                                   */

/* Bytes as libnftnl prints them: 32-bit words, host order. */
static void print_words(FILE *out, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i += 4) {
		uint32_t word = 0;

		memcpy(&word, p + i, len - i < 4 ? len - i : 4);
		fprintf(out, "%s%08x", i ? " " : "", word);
	}
}

static void print_msg_flags(FILE *out, uint16_t flags)
{
	static const struct {
		uint16_t flag;
		const char *name;
	} names[] = {
		{ NLM_F_CREATE, "create" },
		{ NLM_F_EXCL, "excl" },
		{ NLM_F_APPEND, "append" },
		{ NLM_F_ACK, "ack" },
	};
	const char *sep = " ";

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (flags & names[i].flag) {
			fprintf(out, "%s%s", sep, names[i].name);
			sep = ",";
			flags &= (uint16_t)~names[i].flag;
		}
	}
	if (flags & ~NLM_F_REQUEST)
		fprintf(out, "%s0x%x", sep, flags & ~NLM_F_REQUEST);
}

static const char *msg_name(uint16_t type)
{
	switch (type) {
	case NFT_MSG_NEWTABLE: return "NEWTABLE";
	case NFT_MSG_DELTABLE: return "DELTABLE";
	case NFT_MSG_NEWCHAIN: return "NEWCHAIN";
	case NFT_MSG_NEWRULE: return "NEWRULE";
	case NFT_MSG_DELRULE: return "DELRULE";
	case NFT_MSG_NEWSET: return "NEWSET";
	case NFT_MSG_NEWSETELEM: return "NEWSETELEM";
	case NFT_MSG_DELSETELEM: return "DELSETELEM";
	default: return NULL;
	}
}

/* An nft_data nest (NFTA_SET_ELEM_KEY, _KEY_END, _DATA). */
static void print_data(FILE *out, const struct nlattr *nest)
{
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest) {
		if (mnl_attr_get_type(a) == NFTA_DATA_VALUE)
			print_words(out, mnl_attr_get_payload(a),
				    mnl_attr_get_payload_len(a));
		else
			fprintf(out, "(data attribute %u)", mnl_attr_get_type(a));
	}
}

/* One element: key [- key end] [: data] [interval-end] [timeout]. */
static void print_element(FILE *out, const struct nlattr *elem)
{
	const struct nlattr *attr, *part[NFTA_SET_ELEM_MAX + 1] = { NULL };

	mnl_attr_for_each_nested(attr, elem) {
		if (mnl_attr_get_type(attr) <= NFTA_SET_ELEM_MAX)
			part[mnl_attr_get_type(attr)] = attr;
		else
			fprintf(out, " (attribute %u)", mnl_attr_get_type(attr));
	}
	fputs("\telement ", out);
	if (part[NFTA_SET_ELEM_KEY])
		print_data(out, part[NFTA_SET_ELEM_KEY]);
	if (part[NFTA_SET_ELEM_KEY_END]) {
		fputs(" - ", out);
		print_data(out, part[NFTA_SET_ELEM_KEY_END]);
	}
	if (part[NFTA_SET_ELEM_DATA]) {
		fputs(" : ", out);
		print_data(out, part[NFTA_SET_ELEM_DATA]);
	}
	if (part[NFTA_SET_ELEM_FLAGS]) {
		uint32_t flags = ntohl(mnl_attr_get_u32(part[NFTA_SET_ELEM_FLAGS]));

		if (flags & NFT_SET_ELEM_INTERVAL_END)
			fputs(" interval-end", out);
		if (flags & ~(uint32_t)NFT_SET_ELEM_INTERVAL_END)
			fprintf(out, " flags 0x%x", flags & ~(uint32_t)NFT_SET_ELEM_INTERVAL_END);
	}
	if (part[NFTA_SET_ELEM_TIMEOUT])
		fprintf(out, " timeout %llums", (unsigned long long)be64toh(
				mnl_attr_get_u64(part[NFTA_SET_ELEM_TIMEOUT])));
	for (unsigned t = 0; t <= NFTA_SET_ELEM_MAX; t++)
		if (part[t] && t != NFTA_SET_ELEM_KEY && t != NFTA_SET_ELEM_KEY_END &&
		    t != NFTA_SET_ELEM_DATA && t != NFTA_SET_ELEM_FLAGS &&
		    t != NFTA_SET_ELEM_TIMEOUT)
			fprintf(out, " (attribute %u)", t);
	fputs("\n", out);
}

/*
 * An element list, read with libmnl: libnftnl's own parser wants every
 * element nested as NFTA_LIST_ELEM, as the kernel sends them, but its
 * builder numbers them 1, 2, 3... (the kernel ignores the number).
 */
static void print_elements(FILE *out, const struct nlmsghdr *nlh)
{
	const struct nlattr *a, *elem, *list[NFTA_SET_ELEM_LIST_MAX + 1] = { NULL };

	mnl_attr_for_each(a, nlh, sizeof(struct nfgenmsg)) {
		if (mnl_attr_get_type(a) <= NFTA_SET_ELEM_LIST_MAX)
			list[mnl_attr_get_type(a)] = a;
		CHECK(mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_TABLE ||
		      mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_SET ||
		      mnl_attr_get_type(a) == NFTA_SET_ELEM_LIST_ELEMENTS);
	}
	CHECK(list[NFTA_SET_ELEM_LIST_TABLE] && list[NFTA_SET_ELEM_LIST_SET]);
	if (!list[NFTA_SET_ELEM_LIST_TABLE] || !list[NFTA_SET_ELEM_LIST_SET])
		return;
	fprintf(out, "elements of set %s table %s\n",
		mnl_attr_get_str(list[NFTA_SET_ELEM_LIST_SET]),
		mnl_attr_get_str(list[NFTA_SET_ELEM_LIST_TABLE]));
	if (list[NFTA_SET_ELEM_LIST_ELEMENTS])
		mnl_attr_for_each_nested(elem, list[NFTA_SET_ELEM_LIST_ELEMENTS])
			print_element(out, elem);
}

static int print_set_expr(struct nftnl_expr *e, void *data)
{
	fprintf(data, " expr %s", nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
	return MNL_CB_OK;
}

static void print_set_declaration(FILE *out, const struct nlmsghdr *nlh)
{
	static const struct {
		uint32_t flag;
		const char *name;
	} flags[] = {
		{ NFT_SET_ANONYMOUS, "anonymous" }, { NFT_SET_CONSTANT, "constant" },
		{ NFT_SET_INTERVAL, "interval" }, { NFT_SET_MAP, "map" },
		{ NFT_SET_TIMEOUT, "timeout" }, { NFT_SET_EVAL, "eval" },
		{ NFT_SET_OBJECT, "object" }, { NFT_SET_CONCAT, "concat" },
	};
	struct nftnl_set *s = nftnl_set_alloc();
	const char *sep = " flags ";
	uint32_t set_flags;

	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(nftnl_set_nlmsg_parse(nlh, s) == 0);
	set_flags = nftnl_set_get_u32(s, NFTNL_SET_FLAGS);
	fprintf(out, "set %s table %s", nftnl_set_get_str(s, NFTNL_SET_NAME),
		nftnl_set_get_str(s, NFTNL_SET_TABLE));
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (set_flags & flags[i].flag) {
			fprintf(out, "%s%s", sep, flags[i].name);
			sep = ",";
		}
	}
	fputs(" key ", out);
	print_set_type(out, nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE));
	fprintf(out, " len %u", nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN));
	if (nftnl_set_is_set(s, NFTNL_SET_DATA_LEN)) {
		fputs(" data ", out);
		print_set_type(out, nftnl_set_get_u32(s, NFTNL_SET_DATA_TYPE));
		fprintf(out, " len %u", nftnl_set_get_u32(s, NFTNL_SET_DATA_LEN));
	}
	if (nftnl_set_is_set(s, NFTNL_SET_DESC_SIZE))
		fprintf(out, " size %u", nftnl_set_get_u32(s, NFTNL_SET_DESC_SIZE));
	if (nftnl_set_is_set(s, NFTNL_SET_DESC_CONCAT)) {
		uint32_t n = 0;
		const uint8_t *fields = nftnl_set_get_data(s, NFTNL_SET_DESC_CONCAT, &n);

		fputs(" fields", out);
		for (uint32_t i = 0; i < n; i++)
			fprintf(out, " %u", fields[i]);
	}
	fprintf(out, " id %u", nftnl_set_get_u32(s, NFTNL_SET_ID));
	nftnl_set_expr_foreach(s, print_set_expr, out);
	fputs("\n", out);
	nftnl_set_free(s);
}

/* The xt target's info is opaque to libnftnl's listing: its bytes. */
static int print_target_info(struct nftnl_expr *e, void *data)
{
	uint32_t len = 0;
	const uint8_t *info;

	if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "target") != 0)
		return MNL_CB_OK;
	info = nftnl_expr_get(e, NFTNL_EXPR_TG_INFO, &len);
	fputs("  [ target info", data);
	for (uint32_t i = 0; i < len; i++)
		fprintf(data, " %02x", info[i]);
	fputs(" ]\n", data);
	return MNL_CB_OK;
}

static void print_rule(FILE *out, const struct nlmsghdr *nlh)
{
	struct nftnl_rule *r = nftnl_rule_alloc();
	char text[8192];

	CHECK(r != NULL);
	if (!r)
		return;
	CHECK(nftnl_rule_nlmsg_parse(nlh, r) == 0);
	CHECK(nftnl_rule_snprintf(text, sizeof(text), r, NFTNL_OUTPUT_DEFAULT, 0) <
	      (int)sizeof(text));
	fputs(text, out);
	nftnl_expr_foreach(r, print_target_info, out);
	nftnl_rule_free(r);
}

static void print_object(FILE *out, const struct nlmsghdr *nlh, uint16_t type)
{
	char text[1024];

	switch (type) {
	case NFT_MSG_NEWTABLE:
	case NFT_MSG_DELTABLE: {
		struct nftnl_table *t = nftnl_table_alloc();

		CHECK(t && nftnl_table_nlmsg_parse(nlh, t) == 0);
		nftnl_table_snprintf(text, sizeof(text), t, NFTNL_OUTPUT_DEFAULT, 0);
		fprintf(out, "%s\n", text);
		nftnl_table_free(t);
		break;
	}
	case NFT_MSG_NEWCHAIN: {
		struct nftnl_chain *c = nftnl_chain_alloc();

		CHECK(c && nftnl_chain_nlmsg_parse(nlh, c) == 0);
		nftnl_chain_snprintf(text, sizeof(text), c, NFTNL_OUTPUT_DEFAULT, 0);
		fprintf(out, "%s\n", text);
		nftnl_chain_free(c);
		break;
	}
	case NFT_MSG_NEWRULE:
	case NFT_MSG_DELRULE:
		print_rule(out, nlh);
		break;
	case NFT_MSG_NEWSET:
		print_set_declaration(out, nlh);
		break;
	case NFT_MSG_NEWSETELEM:
	case NFT_MSG_DELSETELEM:
		print_elements(out, nlh);
		break;
	}
}

/* What the batch's message with this sequence number was built for. */
static const struct sent_message *sent_of(const struct nft_batch *b, uint32_t seq)
{
	for (size_t i = 0; i < b->n_sent; i++)
		if (b->sent[i].seq == seq)
			return &b->sent[i];
	return NULL;
}

/* Every message of the batch, after its batch-begin, as text. */
static void print_batch(FILE *out, const struct nft_batch *b)
{
	int n_iov = nftnl_batch_iovec_len(b->batch);
	struct iovec iov[n_iov > 0 ? n_iov : 1];
	size_t messages = 0;

	CHECK(!b->failed_alloc);
	nftnl_batch_iovec(b->batch, iov, n_iov);
	for (int i = 0; i < n_iov; i++) {
		const struct nlmsghdr *nlh = iov[i].iov_base;
		int len = (int)iov[i].iov_len;

		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			uint16_t type = nlh->nlmsg_type & 0xff;
			const struct sent_message *m = sent_of(b, nlh->nlmsg_seq);

			if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN)
				continue;
			CHECK(nlh->nlmsg_type >> 8 == NFNL_SUBSYS_NFTABLES);
			CHECK(msg_name(type) != NULL);
			CHECK(m != NULL);
			messages++;
			fprintf(out, "# %s%s\n%s", m ? m->what : "(unnamed)",
				m && m->queue_rule ? " [queue rule]" : "",
				msg_name(type) ? msg_name(type) : "UNKNOWN");
			print_msg_flags(out, nlh->nlmsg_flags);
			fputs("\n", out);
			print_object(out, nlh, type);
			fputs("\n", out);
		}
		CHECK(len == 0);
	}
	CHECK(messages == b->n_sent);
}

/* The batches rpcgated sends for cfg, one section each. */
static char *payload_text(const struct rpcgate_config *cfg, size_t *len)
{
	static const struct {
		const char *title;
		bool reload;
		enum nft_queue_kind kind;
	} installs[] = {
		{ "first install, nft queue", false, NFT_QUEUE_NATIVE },
		{ "first install, xt NFQUEUE", false, NFT_QUEUE_XT },
		{ "reload, nft queue", true, NFT_QUEUE_NATIVE },
		{ "reload, xt NFQUEUE", true, NFT_QUEUE_XT },
	};
	char *text = NULL;
	FILE *out = open_memstream(&text, len);
	uint32_t seq = 1;

	CHECK(out != NULL);
	if (!out)
		return NULL;
	for (size_t i = 0; i < sizeof(installs) / sizeof(installs[0]) + 2; i++) {
		struct nft_batch *b = nft_batch_new(NULL, &seq, cfg);

		CHECK(b != NULL);
		if (!b)
			break;
		if (i < sizeof(installs) / sizeof(installs[0])) {
			fprintf(out, "#### %s\n\n", installs[i].title);
			nft_rules_build(b, installs[i].reload, installs[i].kind);
		} else {
			/* as nft_remove: the table, then in sets mode the sets */
			bool pinhole_sets = i > sizeof(installs) / sizeof(installs[0]);

			if (pinhole_sets && cfg->nft_mode != NFT_MODE_SETS) {
				nft_batch_free(b);
				break;
			}
			fprintf(out, "#### remove, %s\n\n",
				pinhole_sets ? "pinhole sets" : "table");
			nft_rules_build_remove(b, pinhole_sets);
		}
		print_batch(out, b);
		nft_batch_free(b);
	}
	fclose(out);
	return text;
}

static char *printed_text(const struct rpcgate_config *cfg, size_t *len)
{
	char *text = NULL;
	FILE *out = open_memstream(&text, len);

	CHECK(out != NULL);
	if (!out)
		return NULL;
	nft_print_ruleset(out, cfg);
	fclose(out);
	return text;
}

/* ------------------------------------------------------------------ */
/* golden files                                                        */

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	FILE *out;
	int c;

	if (!f)
		return NULL;
	out = open_memstream(&text, len);
	if (out) {
		while ((c = fgetc(f)) != EOF)
			fputc(c, out);
		fclose(out);
	}
	fclose(f);
	return text;
}

/* Where two texts part: line number, and each side's line. */
static void print_first_difference(const char *want, const char *got)
{
	unsigned line = 1;
	size_t i = 0, start = 0;

	while (want[i] && want[i] == got[i]) {
		if (want[i] == '\n') {
			line++;
			start = i + 1;
		}
		i++;
	}
	printf("#   line %u differs:\n#     golden: %.*s\n#     built:  %.*s\n", line,
	       (int)strcspn(want + start, "\n"), want + start,
	       (int)strcspn(got + start, "\n"), got + start);
}

/*
 * text equals the golden file, or (RPCGATE_UPDATE_GOLDENS=1) becomes it.
 * On a difference the built text is left in /tmp for diff(1).
 */
static void check_golden(const char *path, const char *text, size_t len)
{
	const char *update = getenv("RPCGATE_UPDATE_GOLDENS");
	size_t golden_len = 0;
	char *golden;

	CHECK(text != NULL);
	if (!text)
		return;
	if (update && strcmp(update, "1") == 0) {
		FILE *f = fopen(path, "wb");

		CHECK(f != NULL);
		if (f) {
			CHECK(fwrite(text, 1, len, f) == len);
			CHECK(fclose(f) == 0);
			printf("# wrote %s\n", path);
		}
		return;
	}
	golden = read_file(path, &golden_len);
	if (!golden) {
		printf("#   %s: cannot read it (RPCGATE_UPDATE_GOLDENS=1 writes it)\n", path);
		CHECK(golden != NULL);
		return;
	}
	if (golden_len != len || memcmp(golden, text, len) != 0) {
		char built[256];
		const char *base = strrchr(path, '/');
		FILE *f;

		snprintf(built, sizeof(built), "/tmp/rpcgate-built-%s", base ? base + 1 : path);
		printf("#   %s differs from what nft_rules.c builds\n", path);
		print_first_difference(golden, text);
		f = fopen(built, "wb");
		if (f) {
			fwrite(text, 1, len, f);
			fclose(f);
			printf("#   diff -u %s %s; RPCGATE_UPDATE_GOLDENS=1 %s rewrites it\n",
			       path, built, "build/tests/test_nft_rules");
		}
		CHECK(golden_len == len && memcmp(golden, text, len) == 0);
	}
	free(golden);
}

static bool load_case(const struct golden_case *c, struct rpcgate_config *cfg)
{
	int problems;

	config_defaults(cfg);
	problems = config_load(c->config, cfg, stdout);
	CHECK(problems == 0);
	return problems == 0;
}

/* Every case's text against tests/nft/NAME.EXT. */
static void check_cases(const char *ext,
			char *(*text_of)(const struct rpcgate_config *, size_t *))
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rpcgate_config cfg;
		char path[128];
		size_t len = 0;
		char *text;

		if (!load_case(&cases[i], &cfg))
			continue;
		text = text_of(&cfg, &len);
		snprintf(path, sizeof(path), "tests/nft/%s.%s", cases[i].name, ext);
		check_golden(path, text, len);
		free(text);
	}
}

static void test_payload_goldens(void)
{
	check_cases("payload", payload_text);
}

static void test_printed_goldens(void)
{
	check_cases("nft", printed_text);
}

/* The comparison notices a change: another queue number is another batch. */
static void test_payload_golden_notices_a_change(void)
{
	struct rpcgate_config cfg;
	size_t len = 0, golden_len = 0;
	char *text, *golden;

	if (!load_case(&cases[0], &cfg))
		return;
	cfg.queue_num = 7;
	text = payload_text(&cfg, &len);
	golden = read_file("tests/nft/minimal.payload", &golden_len);
	CHECK(text != NULL && golden != NULL);
	if (text && golden)
		CHECK(golden_len != len || memcmp(golden, text, len) != 0);
	free(text);
	free(golden);
}

/* ------------------------------------------------------------------ */
/* the description                                                     */

static void add_server(struct rpcgate_config *cfg, const char *text, uint8_t group)
{
	CHECK(prefix_parse(text, &cfg->servers[cfg->n_servers]));
	cfg->server_group[cfg->n_servers++] = group;
}

static bool addr_is(const uint8_t *addr, uint8_t af, const char *text)
{
	uint8_t want[16] = { 0 };

	return inet_pton(af, text, want) == 1 &&
	       memcmp(addr, want, af == AF_INET ? 4 : 16) == 0;
}

static void test_describe_merges_servers(void)
{
	struct rpcgate_config cfg;
	struct nft_ruleset rs;
	const struct nft_family_rules *v4 = &rs.families[0], *v6 = &rs.families[1];

	config_defaults(&cfg);
	add_server(&cfg, "198.51.100.128/26", 0);	/* adjacent to /25 */
	add_server(&cfg, "198.51.100.0/25", 0);
	add_server(&cfg, "198.51.100.10", 0);		/* inside the /25 */
	add_server(&cfg, "198.51.100.192", 0);		/* adjacent to the /26 */
	add_server(&cfg, "203.0.113.7", 0);		/* apart */
	add_server(&cfg, "2001:db8:1::/64", 0);
	add_server(&cfg, "2001:db8:1:0:1::/80", 0);	/* inside the /64 */
	nft_ruleset_describe(&cfg, &rs);
	CHECK(v4->n_servers == 2);
	CHECK(addr_is(v4->servers[0].first, AF_INET, "198.51.100.0"));
	CHECK(addr_is(v4->servers[0].last, AF_INET, "198.51.100.192"));
	CHECK(addr_is(v4->servers[1].first, AF_INET, "203.0.113.7"));
	CHECK(addr_is(v4->servers[1].last, AF_INET, "203.0.113.7"));
	CHECK(v6->n_servers == 1);
	CHECK(addr_is(v6->servers[0].last, AF_INET6, "2001:db8:1::ffff:ffff:ffff:ffff"));
	CHECK(v4->n_fixed_groups == 0 && v6->n_fixed_groups == 0);
}

static void test_describe_fixed_groups(void)
{
	struct rpcgate_config cfg;
	struct nft_ruleset rs;
	const struct nft_family_rules *v4 = &rs.families[0];

	config_defaults(&cfg);
	cfg.n_groups = 3;
	cfg.groups[1] = cfg.groups[0];
	cfg.groups[1].mode = MODE_FIXED;
	cfg.groups[1].n_fixed = 3;
	cfg.groups[1].fixed[0].port = 6001;
	cfg.groups[1].fixed[1].port = 6002;
	cfg.groups[1].fixed[2].port = 6001;	/* once per interface: once here */
	cfg.groups[2] = cfg.groups[1];
	cfg.groups[2].fixed_require_lookup = true;	/* pinholes, not open */
	add_server(&cfg, "198.51.100.1", 0);
	add_server(&cfg, "203.0.113.0/25", 1);
	add_server(&cfg, "203.0.113.128/25", 1);
	add_server(&cfg, "192.0.2.1", 2);
	nft_ruleset_describe(&cfg, &rs);
	CHECK(v4->n_servers == 3);
	CHECK(v4->n_fixed_groups == 1);
	CHECK(v4->fixed_groups[0].n_ranges == 1);
	CHECK(addr_is(v4->fixed_ranges[0].first, AF_INET, "203.0.113.0"));
	CHECK(addr_is(v4->fixed_ranges[0].last, AF_INET, "203.0.113.255"));
	CHECK(v4->fixed_groups[0].n_ports == 2);
	CHECK(v4->fixed_groups[0].ports[0] == 6001 && v4->fixed_groups[0].ports[1] == 6002);
	CHECK(rs.families[1].n_fixed_groups == 0);	/* no IPv6 servers */
}

static void test_print_range(void)
{
	static const struct {
		uint8_t af;
		const char *first, *last, *printed;
	} ranges[] = {
		{ AF_INET, "198.51.100.0", "198.51.100.255", "198.51.100.0/24" },
		{ AF_INET, "198.51.100.7", "198.51.100.7", "198.51.100.7" },
		{ AF_INET, "198.51.100.0", "198.51.100.192", "198.51.100.0-198.51.100.192" },
		{ AF_INET, "198.51.100.1", "198.51.100.2", "198.51.100.1-198.51.100.2" },
		{ AF_INET, "0.0.0.0", "255.255.255.255", "0.0.0.0/0" },
		{ AF_INET6, "2001:db8::", "2001:db8::ffff", "2001:db8::/112" },
		{ AF_INET6, "2001:db8::1", "2001:db8::5", "2001:db8::1-2001:db8::5" },
		{ AF_INET6, "2001:db8::1", "2001:db8::1", "2001:db8::1" },
	};

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		struct nft_family_rules fr = {
			.family = &nft_families[ranges[i].af == AF_INET ? 0 : 1],
			.af = ranges[i].af,
		};
		struct nft_range r = { { 0 }, { 0 } };
		char text[128] = "";
		FILE *out = fmemopen(text, sizeof(text) - 1, "w");

		CHECK(inet_pton(ranges[i].af, ranges[i].first, r.first) == 1);
		CHECK(inet_pton(ranges[i].af, ranges[i].last, r.last) == 1);
		CHECK(out != NULL);
		if (!out)
			continue;
		print_range(out, &fr, &r);
		fclose(out);
		if (strcmp(text, ranges[i].printed) != 0)
			printf("#   %s-%s printed as %s\n", ranges[i].first,
			       ranges[i].last, text);
		CHECK(strcmp(text, ranges[i].printed) == 0);
	}
}

int main(void)
{
	RUN(test_describe_merges_servers);
	RUN(test_describe_fixed_groups);
	RUN(test_print_range);
	RUN(test_payload_goldens);
	RUN(test_printed_goldens);
	RUN(test_payload_golden_notices_a_change);
	UNIT_EXIT();
}
