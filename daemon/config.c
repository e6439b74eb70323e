/*
 * rpcgate.conf: libconfig syntax, checked against a table of known keys so
 * that a misspelt key or a wrongly typed value is an error rather than a
 * setting silently left at its default.  libconfig itself accepts any key,
 * and config_lookup cannot tell a missing key from a wrongly typed one, so
 * the root group's children are walked here, one handler per key.
 *
 * libconfig 1.5 also wraps integers silently: 3000000000 is read as the
 * int -1294967296 and 0x100000000 as 0.  Before parsing, the text is
 * scanned for integer literals libconfig cannot hold, and a setting whose
 * stored value is such a wrapped literal is checked against what was
 * written instead.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libconfig.h>

#include "config.h"
#include "policy.h"

#define CONFIG_FILE_MAX (1024 * 1024)
#define CAP_MAX 1048576		/* pinholes and flows */
#define BYTES_MIN 4096
#define BYTES_MAX (16 * 1024 * 1024)
#define HELD_SEGMENTS_MAX 65536
#define SECONDS_MAX 86400
#define SUGGEST_MAX 2		/* edit distance of a did-you-mean */
#define QUOTE_MAX 80		/* characters of a value quoted in a message */
#define NO_SERVERS "no endpoint-mapper servers configured"

/* Outlook's interfaces: what "exchange" means, and the names allowed. */
static const struct {
	const char *name;
	const char *uuid;
} exchange_ifaces[] = {
	{ "EMSMDB", "a4f1db00-ca47-1067-b31f-00dd010662da" },
	{ "AsyncEMSMDB", "5261574a-4572-206e-b268-6b199213b4e4" },
	{ "NSPI", "f5cc5a18-4264-101a-8c59-08002b2f8426" },
	{ "RFR", "1544f5e0-613c-11d1-93df-00c04fd7bd09" },
};
#define N_EXCHANGE_IFACES (sizeof(exchange_ifaces) / sizeof(exchange_ifaces[0]))
#define IFACE_NAMES "EMSMDB, AsyncEMSMDB, NSPI or RFR"

static const char *const presets[] = { "exchange", "any", NULL };

/* ---- prefixes ---------------------------------------------------------- */

enum prefix_error {
	PREFIX_OK,
	PREFIX_BAD_ADDR,
	PREFIX_BAD_LEN,
	PREFIX_HOST_BITS,	/* p holds the network, host bits cleared */
};

static enum prefix_error prefix_parse_detail(const char *text,
					     struct addr_prefix *p)
{
	char addr[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t alen = slash ? (size_t)(slash - text) : strlen(text);
	unsigned max, len;
	bool host_bits = false;

	memset(p, 0, sizeof(*p));
	if (alen == 0 || alen >= sizeof(addr))
		return PREFIX_BAD_ADDR;
	memcpy(addr, text, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, p->addr) == 1) {
		p->family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, addr, p->addr) == 1) {
		p->family = AF_INET6;
		max = 128;
	} else {
		return PREFIX_BAD_ADDR;
	}
	len = max;
	if (slash) {
		const char *d = slash + 1;

		if (*d == '\0' || strlen(d) > 3)
			return PREFIX_BAD_LEN;
		len = 0;
		for (; *d; d++) {
			if (!isdigit((unsigned char)*d))
				return PREFIX_BAD_LEN;
			len = len * 10 + (unsigned)(*d - '0');
		}
		if (len > max)
			return PREFIX_BAD_LEN;
	}
	p->len = (uint8_t)len;
	for (unsigned bit = len; bit < max; bit++) {
		uint8_t mask = (uint8_t)(0x80 >> (bit % 8));

		if (p->addr[bit / 8] & mask) {
			host_bits = true;
			p->addr[bit / 8] &= (uint8_t)~mask;
		}
	}
	return host_bits ? PREFIX_HOST_BITS : PREFIX_OK;
}

bool prefix_parse(const char *text, struct addr_prefix *p)
{
	return prefix_parse_detail(text, p) == PREFIX_OK;
}

bool prefix_contains(const struct addr_prefix *p, uint8_t family,
		     const uint8_t *addr)
{
	size_t whole = p->len / 8;
	unsigned rest = p->len % 8;

	if (p->family != family)
		return false;
	if (memcmp(p->addr, addr, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((p->addr[whole] ^ addr[whole]) & (uint8_t)(0xff00 >> rest)) == 0;
}

void prefix_format(const struct addr_prefix *p, char out[PREFIX_TEXT_MAX])
{
	char addr[INET6_ADDRSTRLEN];

	if (!inet_ntop(p->family, p->addr, addr, sizeof(addr)))
		snprintf(addr, sizeof(addr), "?");
	snprintf(out, PREFIX_TEXT_MAX, "%s/%u", addr, p->len);
}

/* ---- defaults ---------------------------------------------------------- */

/* Adds u unless present; false when the list is full. */
static bool add_iface(struct server_policy *p, const struct uuid *u)
{
	if (policy_allows_iface(p, u))
		return true;
	if (p->n_ifaces == CONFIG_MAX_IFACES)
		return false;
	p->ifaces[p->n_ifaces++] = *u;
	return true;
}

static bool add_exchange(struct server_policy *p)
{
	for (size_t i = 0; i < N_EXCHANGE_IFACES; i++) {
		struct uuid u;

		if (!uuid_parse(exchange_ifaces[i].uuid, &u) || !add_iface(p, &u))
			return false;
	}
	return true;
}

/* The UUID of "EMSMDB", "NSPI" ... (case-sensitive). */
static bool iface_by_name(const char *text, struct uuid *u)
{
	for (size_t i = 0; i < N_EXCHANGE_IFACES; i++)
		if (strcmp(text, exchange_ifaces[i].name) == 0)
			return uuid_parse(exchange_ifaces[i].uuid, u);
	return false;
}

void config_defaults(struct rpcgate_config *cfg)
{
	static const uint16_t deny[] = { 135, 139, 445, 593, 3389 };
	static const uint16_t epm[] = { 135, 593 };

	memset(cfg, 0, sizeof(*cfg));
	cfg->n_groups = 1;
	add_exchange(&cfg->groups[0]);
	cfg->groups[0].mode = MODE_DYNAMIC;
	cfg->pinhole_timeout = 120;
	cfg->port_min = 1024;
	cfg->port_max = 65535;
	memcpy(cfg->deny_ports, deny, sizeof(deny));
	cfg->n_deny_ports = sizeof(deny) / sizeof(deny[0]);
	memcpy(cfg->epm_ports, epm, sizeof(epm));
	cfg->n_epm_ports = sizeof(epm) / sizeof(epm[0]);
	cfg->max_pinholes_per_client = 64;
	cfg->max_pinholes = 65536;
	cfg->max_flows = 4096;
	cfg->max_flows_per_client = 256;
	cfg->max_udp_flows_per_client = 256;
	cfg->max_buffer_bytes = 65536;
	cfg->max_held_segments = 256;
	cfg->max_call_bytes = 262144;
	cfg->flow_idle_timeout = 300;
	cfg->flow_handshake_timeout = 5;
	cfg->ipv6_host_prefix = 64;
	cfg->control_max_clients = 16;
	cfg->control_timeout = 10;
	cfg->log_burst = 20;
	cfg->log_interval = 10;
	cfg->on_failure = ON_FAILURE_OPEN;
	cfg->revoke_established = false;
	cfg->queue_num = 135;
	cfg->queue_max_len = 4096;
	cfg->nft_mode = NFT_MODE_TABLE;
	snprintf(cfg->nft_table, sizeof(cfg->nft_table), "rpcgate");
	snprintf(cfg->state_file, sizeof(cfg->state_file), "%s",
		 CONFIG_DEFAULT_STATE_FILE);
	cfg->pinhole_mark = 0x00100000;
	cfg->reverse_path_mark = 0x00200000;
	cfg->sync_pinholes = false;
	cfg->sync_mark = 0x00400000;
	cfg->published_mark = 0x00800000;
	cfg->log_verbose = 0;
}

/* ---- the loader and its messages --------------------------------------- */

/*
 * An integer or string literal in the text.  For an integer, what libconfig
 * 1.5 makes of it; for both, the line it starts on, which libconfig gets
 * wrong for a string in an array (it gives the line of the token after,
 * having looked ahead for "adjacent" "strings").
 */
struct literal {
	unsigned line;
	bool string;
	bool is64;		/* written with an L suffix */
	bool fits;		/* libconfig stores it unchanged */
	long long stored;	/* what libconfig stores */
	long long value;	/* what was written, saturated */
	const char *text;	/* as written, in the loader's copy */
	int text_len;
};

/*
 * The keys a group entry may set, first in the key table in this order;
 * the top level sets them too, for groups[0].
 */
enum group_key {
	K_SERVERS,
	K_INTERFACES,
	K_MODE,
	K_FIXED_PORTS,
	K_FIXED_REQUIRE_LOOKUP,
	K_ALLOW_LOOKUP,
	N_GROUP_KEYS
};

/* Where one policy (the top level, or a group entry) came from. */
struct policy_src {
	const config_setting_t *entry;	/* the group's { }; NULL at the top */
	const config_setting_t *set[N_GROUP_KEYS];	/* the keys it sets */
	bool bad[N_GROUP_KEYS];		/* ... and those reported */
	/* for each of its fixed ports: the port and its interface, if any */
	const config_setting_t *fixed_port[CONFIG_MAX_FIXED];
	const config_setting_t *fixed_iface[CONFIG_MAX_FIXED];
};

struct loader {
	const char *path;
	FILE *errors;
	int problems;
	struct rpcgate_config *cfg;
	struct literal *lits;	/* every literal, in text order */
	size_t n_lits, cap_lits;
	bool lits_mapped;	/* each integer and string setting's hook is
				   its literal */
	size_t group;		/* the policy being read: index into groups */
	struct policy_src src[CONFIG_MAX_GROUPS + 1];
	const config_setting_t *deny_ports;	/* NULL: the default */
	const config_setting_t *mark_bit;	/* the last mark key written */
	size_t n_server_entries;	/* written, good or bad, in all groups */
	const config_setting_t *server_src[CONFIG_MAX_SERVERS];
};

static void report(struct loader *ld, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void report(struct loader *ld, unsigned line, const char *fmt, ...)
{
	va_list ap;

	ld->problems++;
	if (!ld->errors)
		return;
	if (line)
		fprintf(ld->errors, "%s:%u: ", ld->path, line);
	else
		fprintf(ld->errors, "%s: ", ld->path);
	va_start(ap, fmt);
	vfprintf(ld->errors, fmt, ap);
	va_end(ap);
	fputc('\n', ld->errors);
}

/* A setting's line, or its nearest enclosing setting's. */
static unsigned line_of(const config_setting_t *s)
{
	const struct literal *l = config_setting_get_hook(s);

	if (l && !config_setting_name(s))
		return l->line;		/* an element's own line */
	for (; s; s = config_setting_parent(s))
		if (config_setting_source_line(s))
			return config_setting_source_line(s);
	return 0;
}

#define LABEL_SIZE 192

/*
 * The path from the root: "servers" for a key, "servers[2]" for an
 * element, "groups[1].fixed_ports[0].interface" deeper down.
 */
static const char *label(const config_setting_t *s, char *buf, size_t size)
{
	const config_setting_t *parent = config_setting_parent(s);
	const char *name = config_setting_name(s);
	size_t n;

	buf[0] = '\0';
	if (!parent)
		return buf;
	n = strlen(label(parent, buf, size));
	if (name)
		snprintf(buf + n, size - n, "%s%s", n ? "." : "", name);
	else
		snprintf(buf + n, size - n, "[%d]", config_setting_index(s));
	return buf;
}

/* s in double quotes, escaped and cut to QUOTE_MAX characters. */
static const char *quote(const char *s, char *buf, size_t size)
{
	size_t o = 0, n = 0;

	buf[o++] = '"';
	for (; *s && o + 8 < size; s++, n++) {
		unsigned char c = (unsigned char)*s;

		if (n == QUOTE_MAX) {
			o += (size_t)snprintf(buf + o, size - o, "...");
			break;
		}
		if (c == '"' || c == '\\')
			o += (size_t)snprintf(buf + o, size - o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
		else
			buf[o++] = (char)c;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

#define QUOTE_SIZE (QUOTE_MAX * 4 + 8)

static const char *type_name(const config_setting_t *s)
{
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a floating-point number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	case CONFIG_TYPE_GROUP:
		return "a group";
	}
	return "nothing";
}

/* "KEY: expected EXPECT, got a string" */
static void wrong_type(struct loader *ld, const config_setting_t *s,
		       const char *expect)
{
	char name[LABEL_SIZE];

	report(ld, line_of(s), "%s: expected %s, got %s",
	       label(s, name, sizeof(name)), expect, type_name(s));
}

/* "KEY: expected EXPECT, got VALUE[ (did you mean "X"?)]" */
static void bad_value(struct loader *ld, const config_setting_t *s,
		      const char *expect, const char *value,
		      const char *suggestion)
{
	char name[LABEL_SIZE];

	report(ld, line_of(s), "%s: expected %s, got %s%s%s%s",
	       label(s, name, sizeof(name)), expect, value,
	       suggestion ? " (did you mean \"" : "",
	       suggestion ? suggestion : "", suggestion ? "\"?)" : "");
}

/* ---- did you mean ------------------------------------------------------ */

/* Levenshtein distance, ignoring case; SIZE_MAX for long words. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[CONFIG_NAME_MAX + 1];

	if (la > CONFIG_NAME_MAX || lb > CONFIG_NAME_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = tolower((unsigned char)a[i - 1]) !=
				      tolower((unsigned char)b[j - 1]);
			size_t best = diag + cost;

			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

struct suggestion {
	const char *word;
	const char *best;
	size_t d;
};

static void consider(struct suggestion *sg, const char *candidate)
{
	size_t d = distance(sg->word, candidate);

	if (d <= SUGGEST_MAX && d < strlen(sg->word) && d < sg->d) {
		sg->d = d;
		sg->best = candidate;
	}
}

/* The closest of a NULL-terminated list, or NULL. */
static const char *suggest(const char *word, const char *const *candidates)
{
	struct suggestion sg = { word, NULL, SIZE_MAX };

	for (; *candidates; candidates++)
		consider(&sg, *candidates);
	return sg.best;
}

/* ---- integers ---------------------------------------------------------- */

struct number {
	long long v;
	bool hex;
	const char *text;	/* as written, when libconfig wrapped it */
	int text_len;
};

static bool get_number(struct loader *ld, const config_setting_t *s,
		       struct number *n)
{
	bool is64 = config_setting_type(s) == CONFIG_TYPE_INT64;
	const struct literal *l = config_setting_get_hook(s);
	long long stored;

	if (config_setting_type(s) == CONFIG_TYPE_INT)
		stored = config_setting_get_int(s);
	else if (is64)
		stored = config_setting_get_int64(s);
	else
		return false;
	n->hex = config_setting_get_format(s) == CONFIG_FORMAT_HEX;
	/* a hex literal is 32 bits, and 0x80000000 is stored as INT_MIN */
	n->v = n->hex && !is64 ? (long long)(uint32_t)stored : stored;
	n->text = NULL;
	n->text_len = 0;
	if (ld->lits_mapped && l && !l->fits) {
		n->v = l->value;
		n->text = l->text;
		n->text_len = l->text_len;
	}
	return true;
}

static const char *number_text(const struct number *n, char *buf, size_t size)
{
	if (n->text)
		snprintf(buf, size, "%.*s", n->text_len, n->text);
	else if (n->hex)
		snprintf(buf, size, "0x%llx", (unsigned long long)n->v);
	else
		snprintf(buf, size, "%lld", n->v);
	return buf;
}

/* An integer in [min, max]; anything else is reported. */
static bool int_in(struct loader *ld, const config_setting_t *s,
		   const char *expect, long long min, long long max,
		   long long *out)
{
	struct number n;
	char text[QUOTE_SIZE];

	if (!get_number(ld, s, &n)) {
		wrong_type(ld, s, expect);
		return false;
	}
	if (n.v < min || n.v > max) {
		bad_value(ld, s, expect, number_text(&n, text, sizeof(text)),
			  NULL);
		return false;
	}
	*out = n.v;
	return true;
}

/* ---- keys -------------------------------------------------------------- */

struct key {
	const char *name;
	const char *expect;
	void (*handle)(struct loader *ld, const config_setting_t *s,
		       const struct key *k);
	long long min, max;
	size_t offset;		/* of what h_u32 or h_bool sets: in the
				   config, or in the policy for h_policy_bool */
	const char *const *choices;	/* for h_choice, NULL-terminated */
};

static bool is_array(const config_setting_t *s)
{
	return config_setting_is_array(s) || config_setting_is_list(s);
}

/*
 * An array or list, or reported as the wrong type.  An empty one is
 * reported as "KEY: EMPTY" when EMPTY is given.
 */
static bool need_array(struct loader *ld, const config_setting_t *s,
		       const struct key *k, const char *empty)
{
	if (!is_array(s)) {
		wrong_type(ld, s, k->expect);
		return false;
	}
	if (empty && config_setting_length(s) == 0) {
		char name[LABEL_SIZE];

		report(ld, line_of(s), "%s: %s", label(s, name, sizeof(name)),
		       empty);
	}
	return true;
}

/* The string s holds, or NULL when reported as the wrong type. */
static const char *string_of(struct loader *ld, const config_setting_t *s,
			       const char *expect)
{
	if (config_setting_type(s) == CONFIG_TYPE_STRING)
		return config_setting_get_string(s);
	wrong_type(ld, s, expect);
	return NULL;
}

/* "KEY[i]: more than N WHAT" once per key, at the first one too many. */
static void too_many(struct loader *ld, const config_setting_t *e,
		     bool *reported, int max, const char *what)
{
	char name[LABEL_SIZE];

	if (*reported)
		return;
	*reported = true;
	report(ld, line_of(e), "%s: more than %d %s (the limit)",
	       label(e, name, sizeof(name)), max, what);
}

/* "KEY[i]: "TEXT" WHAT" */
static void bad_element(struct loader *ld, const config_setting_t *e,
			const char *text, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void bad_element(struct loader *ld, const config_setting_t *e,
			const char *text, const char *fmt, ...)
{
	char name[LABEL_SIZE], q[QUOTE_SIZE], what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	report(ld, line_of(e), "%s: %s %s", label(e, name, sizeof(name)),
	       quote(text, q, sizeof(q)), what);
}

/*
 * Hands each string element of the array s to add, which reports a bad
 * one itself and returns false only when its list is full.
 */
static void each_string(struct loader *ld, const config_setting_t *s,
			const char *expect, int max, const char *what,
			bool (*add)(struct loader *ld,
				    const config_setting_t *e, const char *text))
{
	bool full = false;

	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		const char *text = string_of(ld, e, expect);

		if (text && !add(ld, e, text))
			too_many(ld, e, &full, max, what);
	}
}

/* The policy being read: the top level's, or a group entry's. */
static struct server_policy *policy(struct loader *ld)
{
	return &ld->cfg->groups[ld->group];
}

static bool prefixes_overlap(const struct addr_prefix *a,
			     const struct addr_prefix *b)
{
	return prefix_contains(a, b->family, b->addr) ||
	       prefix_contains(b, a->family, a->addr);
}

static bool add_server(struct loader *ld, const config_setting_t *e,
		       const char *text)
{
	struct rpcgate_config *cfg = ld->cfg;
	char net[PREFIX_TEXT_MAX];
	struct addr_prefix p;

	switch (prefix_parse_detail(text, &p)) {
	case PREFIX_BAD_ADDR:
		bad_element(ld, e, text,
			    "is not an IPv4 or IPv6 address or prefix");
		return true;
	case PREFIX_BAD_LEN:
		bad_element(ld, e, text, "has a bad prefix length "
			    "(expected /0 to /%d)",
			    p.family == AF_INET ? 32 : 128);
		return true;
	case PREFIX_HOST_BITS:
		prefix_format(&p, net);
		bad_element(ld, e, text, "has host bits set (the network "
			    "is %s)", net);
		return true;
	case PREFIX_OK:
		break;
	}
	for (size_t j = 0; j < cfg->n_servers; j++) {
		if (cfg->server_group[j] == ld->group) {
			/* within a group a repeat is harmless */
			if (memcmp(&cfg->servers[j], &p, sizeof(p)) == 0)
				return true;
		} else if (prefixes_overlap(&cfg->servers[j], &p)) {
			const config_setting_t *other = ld->server_src[j];
			char q[QUOTE_SIZE];

			bad_element(ld, e, text, "overlaps %s (line %u): a "
				    "server must belong to one group",
				    quote(config_setting_get_string(other), q,
					  sizeof(q)), line_of(other));
			return true;
		}
	}
	if (cfg->n_servers == CONFIG_MAX_SERVERS)
		return false;
	ld->server_src[cfg->n_servers] = e;
	cfg->server_group[cfg->n_servers] = (uint8_t)ld->group;
	cfg->servers[cfg->n_servers++] = p;
	return true;
}

/*
 * Appends to the servers of the policy being read.  At the top level an
 * empty list is left to the check that some group has servers.
 */
static void h_servers(struct loader *ld, const config_setting_t *s,
		      const struct key *k)
{
	if (!need_array(ld, s, k, ld->group ? NO_SERVERS : NULL))
		return;
	ld->n_server_entries += (size_t)config_setting_length(s);
	each_string(ld, s, "a string (an IPv4 or IPv6 address or prefix)",
		    CONFIG_MAX_SERVERS, "servers", add_server);
}

/* Written as a UUID, so not meant as a preset or a name. */
static bool looks_like_uuid(const char *text)
{
	return strchr(text, '-') ||
	       strspn(text, "0123456789abcdefABCDEF") == strlen(text);
}

/*
 * TEXT is not an interface: says why, with a did-you-mean among the
 * interface names, and the presets where they are allowed.
 */
static void bad_iface(struct loader *ld, const config_setting_t *e,
		      const char *text, bool with_presets)
{
	struct suggestion sg = { text, NULL, SIZE_MAX };

	for (size_t i = 0; with_presets && presets[i]; i++)
		consider(&sg, presets[i]);
	for (size_t i = 0; i < N_EXCHANGE_IFACES; i++)
		consider(&sg, exchange_ifaces[i].name);
	if (looks_like_uuid(text) && !sg.best)
		bad_element(ld, e, text, "is not an interface UUID (expected "
			    "8-4-4-4-12 hex digits%s, e.g. %s)",
			    text[0] == '{' ? " without braces" : "",
			    exchange_ifaces[0].uuid);
	else if (!with_presets && suggest(text, presets))
		bad_element(ld, e, text, "is a preset, but a fixed_ports "
			    "entry names one interface (an interface name or "
			    "UUID)");
	else
		bad_element(ld, e, text, "is not %san interface name ("
			    IFACE_NAMES ") or an interface UUID%s%s%s",
			    with_presets ? "a preset (\"exchange\" or "
			    "\"any\"), " : "",
			    sg.best ? " (did you mean \"" : "",
			    sg.best ? sg.best : "", sg.best ? "\"?)" : "");
}

static bool add_interface(struct loader *ld, const config_setting_t *e,
			  const char *text)
{
	struct uuid u;

	if (strcmp(text, "any") == 0) {
		policy(ld)->any_iface = true;
		return true;
	}
	if (strcmp(text, "exchange") == 0)
		return add_exchange(policy(ld));
	if (iface_by_name(text, &u) || uuid_parse(text, &u))
		return add_iface(policy(ld), &u);
	bad_iface(ld, e, text, true);
	return true;
}

static void h_interfaces(struct loader *ld, const config_setting_t *s,
			 const struct key *k)
{
	struct server_policy *p = policy(ld);

	/* the list replaces the default; unused entries stay zero */
	p->n_ifaces = 0;
	memset(p->ifaces, 0, sizeof(p->ifaces));
	p->any_iface = false;
	if (need_array(ld, s, k, "no interfaces configured (expected "
		       "\"exchange\", \"any\", interface names or UUIDs)"))
		each_string(ld, s, "a string (\"exchange\", \"any\", an "
			    "interface name or UUID)", CONFIG_MAX_IFACES,
			    "interfaces", add_interface);
}

/* ---- fixed ports ------------------------------------------------------- */

#define FIXED_ENTRY_EXAMPLE "{ interface = \"EMSMDB\"; ports = [ 6001 ]; }"

/* A port number, or reported; EXPECT names what else would do. */
static bool fixed_port_value(struct loader *ld, const config_setting_t *e,
			     const char *expect, long long *v)
{
	int type = config_setting_type(e);

	if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) {
		wrong_type(ld, e, expect);
		return false;
	}
	return int_in(ld, e, "a port number (1-65535)", 1, 65535, v);
}

/*
 * Adds port (for iface, or any allowed interface when iface is NULL) to
 * the policy being read, unless it is there already.
 */
static void add_fixed(struct loader *ld, const config_setting_t *e,
		      long long port, const struct uuid *iface,
		      const config_setting_t *iface_src, bool *full)
{
	struct server_policy *p = policy(ld);
	struct policy_src *src = &ld->src[ld->group];
	struct fixed_port *f;

	for (size_t i = 0; i < p->n_fixed; i++)
		if (p->fixed[i].port == port &&
		    p->fixed[i].any_iface == !iface &&
		    (!iface || uuid_equal(&p->fixed[i].iface, iface)))
			return;
	if (p->n_fixed == CONFIG_MAX_FIXED) {
		too_many(ld, e, full, CONFIG_MAX_FIXED, "fixed ports");
		return;
	}
	src->fixed_port[p->n_fixed] = e;
	src->fixed_iface[p->n_fixed] = iface_src;
	f = &p->fixed[p->n_fixed++];	/* zeroed, padding too */
	f->any_iface = !iface;
	if (iface)
		f->iface = *iface;
	f->port = (uint16_t)port;
}

static const char *const fixed_entry_keys[] = { "interface", "ports", NULL };

static void unknown_key(struct loader *ld, const config_setting_t *s,
			const char *best, const char *allowed);

/* { interface = "EMSMDB"; ports = [ 6001 ]; } */
static void fixed_entry(struct loader *ld, const config_setting_t *e,
			bool *full)
{
	const config_setting_t *iface_s = NULL, *ports_s = NULL;
	char name[LABEL_SIZE];
	bool iface_ok = false;
	struct uuid u;

	for (int i = 0; i < config_setting_length(e); i++) {
		const config_setting_t *c = config_setting_get_elem(e, (unsigned)i);
		const char *key = config_setting_name(c);

		if (strcmp(key, "interface") == 0)
			iface_s = c;
		else if (strcmp(key, "ports") == 0)
			ports_s = c;
		else
			unknown_key(ld, c, suggest(key, fixed_entry_keys),
				    "expected interface and ports");
	}
	label(e, name, sizeof(name));
	if (!iface_s) {
		report(ld, line_of(e), "%s: no interface (expected e.g. "
		       FIXED_ENTRY_EXAMPLE ")", name);
	} else {
		const char *text = string_of(ld, iface_s, "a string ("
					     IFACE_NAMES " or an interface "
					     "UUID)");

		iface_ok = text && (iface_by_name(text, &u) ||
				    uuid_parse(text, &u));
		if (text && !iface_ok)
			bad_iface(ld, iface_s, text, false);
	}
	if (!ports_s) {
		report(ld, line_of(e), "%s: no ports (expected e.g. "
		       FIXED_ENTRY_EXAMPLE ")", name);
		return;
	}
	if (!is_array(ports_s)) {
		wrong_type(ld, ports_s, "an array of port numbers (1-65535)");
		return;
	}
	if (config_setting_length(ports_s) == 0)
		report(ld, line_of(ports_s), "%s: no ports (expected e.g. "
		       "[ 6001 ])", label(ports_s, name, sizeof(name)));
	for (int i = 0; i < config_setting_length(ports_s); i++) {
		const config_setting_t *pe =
			config_setting_get_elem(ports_s, (unsigned)i);
		long long v;

		if (fixed_port_value(ld, pe, "a port number (1-65535)", &v) &&
		    iface_ok)
			add_fixed(ld, pe, v, &u, iface_s, full);
	}
}

/*
 * [ 6001, 6002 ]: ports for any allowed interface; or ( { interface =
 * "EMSMDB"; ports = [ 6001 ]; }, ... ): ports for one interface each.
 * A list may hold both.
 */
static void h_fixed_ports(struct loader *ld, const config_setting_t *s,
			  const struct key *k)
{
	struct server_policy *p = policy(ld);
	bool full = false;

	p->n_fixed = 0;
	memset(p->fixed, 0, sizeof(p->fixed));
	if (!need_array(ld, s, k, NULL))
		return;
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		long long v;

		if (config_setting_is_group(e))
			fixed_entry(ld, e, &full);
		else if (fixed_port_value(ld, e, "a port number or a group "
					  FIXED_ENTRY_EXAMPLE, &v))
			add_fixed(ld, e, v, NULL, NULL, &full);
	}
}

static void h_u32(struct loader *ld, const config_setting_t *s,
		  const struct key *k)
{
	long long v;

	if (int_in(ld, s, k->expect, k->min, k->max, &v))
		*(uint32_t *)(void *)((char *)ld->cfg + k->offset) = (uint32_t)v;
}

static void h_queue_num(struct loader *ld, const config_setting_t *s,
			const struct key *k)
{
	long long v;

	if (int_in(ld, s, k->expect, k->min, k->max, &v))
		ld->cfg->queue_num = (uint16_t)v;
}

/* pinhole_mark, reverse_path_mark, sync_mark, published_mark: one bit of a
 * 32-bit mark */
static void h_mark_bit(struct loader *ld, const config_setting_t *s,
		       const struct key *k)
{
	char text[32];
	long long v;

	if (!int_in(ld, s, k->expect, k->min ? k->min : 1, UINT32_MAX, &v))
		return;
	if (v & (v - 1)) {
		snprintf(text, sizeof(text), "0x%llx", v);
		bad_value(ld, s, k->expect, text, NULL);
		return;
	}
	*(uint32_t *)(void *)((char *)ld->cfg + k->offset) = (uint32_t)v;
	ld->mark_bit = s;
}

static void h_port_range(struct loader *ld, const config_setting_t *s,
			 const struct key *k)
{
	long long lo, hi;
	int n;

	if (!need_array(ld, s, k, NULL))
		return;
	n = config_setting_length(s);
	if (n != 2) {
		char got[32];

		snprintf(got, sizeof(got), n == 0 ? "an empty array" :
			 n == 1 ? "1 value" : "%d values", n);
		bad_value(ld, s, k->expect, got, NULL);
		return;
	}
	/* both elements are checked, so both can be reported */
	bool ok_lo = int_in(ld, config_setting_get_elem(s, 0),
			    "a port number (1-65535)", 1, 65535, &lo);
	bool ok_hi = int_in(ld, config_setting_get_elem(s, 1),
			    "a port number (1-65535)", 1, 65535, &hi);

	if (!ok_lo || !ok_hi)
		return;
	if (lo > hi) {
		report(ld, line_of(s), "port_range: the low port %lld is above "
		       "the high port %lld (expected [low, high])", lo, hi);
		return;
	}
	ld->cfg->port_min = (uint16_t)lo;
	ld->cfg->port_max = (uint16_t)hi;
}

static void ports(struct loader *ld, const config_setting_t *s,
		  const struct key *k, const char *empty, uint16_t *list,
		  size_t *count)
{
	bool full = false;

	*count = 0;
	memset(list, 0, CONFIG_MAX_PORTS * sizeof(*list));
	if (!need_array(ld, s, k, empty))
		return;
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		bool dup = false;
		long long v;

		if (!int_in(ld, e, "a port number (1-65535)", 1, 65535, &v))
			continue;
		for (size_t j = 0; j < *count && !dup; j++)
			dup = list[j] == v;
		if (dup)
			continue;
		if (*count == CONFIG_MAX_PORTS)
			too_many(ld, e, &full, CONFIG_MAX_PORTS, "ports");
		else
			list[(*count)++] = (uint16_t)v;
	}
}

static void h_deny_ports(struct loader *ld, const config_setting_t *s,
			 const struct key *k)
{
	ld->deny_ports = s;
	ports(ld, s, k, NULL, ld->cfg->deny_ports, &ld->cfg->n_deny_ports);
}

static void h_epm_ports(struct loader *ld, const config_setting_t *s,
			const struct key *k)
{
	ports(ld, s, k, "no endpoint-mapper ports configured (expected "
	      "e.g. [135, 593])", ld->cfg->epm_ports, &ld->cfg->n_epm_ports);
}

/* The index of the string among k->choices, or -1 when reported. */
static int choice(struct loader *ld, const config_setting_t *s,
		  const struct key *k)
{
	const char *text = string_of(ld, s, k->expect);
	char q[QUOTE_SIZE];

	if (!text)
		return -1;
	for (int i = 0; k->choices[i]; i++)
		if (strcmp(text, k->choices[i]) == 0)
			return i;
	bad_value(ld, s, k->expect, quote(text, q, sizeof(q)),
		  suggest(text, k->choices));
	return -1;
}

static void h_on_failure(struct loader *ld, const config_setting_t *s,
			 const struct key *k)
{
	int i = choice(ld, s, k);

	if (i >= 0)
		ld->cfg->on_failure = i ? ON_FAILURE_CLOSED : ON_FAILURE_OPEN;
}

static void h_nft_mode(struct loader *ld, const config_setting_t *s,
		       const struct key *k)
{
	int i = choice(ld, s, k);

	if (i >= 0)
		ld->cfg->nft_mode = i ? NFT_MODE_SETS : NFT_MODE_TABLE;
}

static void h_log_level(struct loader *ld, const config_setting_t *s,
			const struct key *k)
{
	int i = choice(ld, s, k);

	if (i >= 0)
		ld->cfg->log_verbose = i;
}

static void set_bool(struct loader *ld, const config_setting_t *s,
		     const struct key *k, void *base)
{
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		wrong_type(ld, s, k->expect);
	else
		*(bool *)(void *)((char *)base + k->offset) =
			config_setting_get_bool(s);
}

static void h_bool(struct loader *ld, const config_setting_t *s,
		   const struct key *k)
{
	set_bool(ld, s, k, ld->cfg);
}

static void h_policy_bool(struct loader *ld, const config_setting_t *s,
			  const struct key *k)
{
	set_bool(ld, s, k, policy(ld));
}

static void h_mode(struct loader *ld, const config_setting_t *s,
		   const struct key *k)
{
	int i = choice(ld, s, k);

	if (i >= 0)
		policy(ld)->mode = i ? MODE_FIXED : MODE_DYNAMIC;
}

/* nft's identifiers allow more; this is a subset safe in any ruleset. */
static bool nft_name_ok(const char *text)
{
	size_t n = strlen(text);

	if (n == 0 || n >= CONFIG_NAME_MAX || !isalpha((unsigned char)text[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)text[i]) && text[i] != '_')
			return false;
	return true;
}

static void h_nft_table(struct loader *ld, const config_setting_t *s,
			const struct key *k)
{
	const char *text = string_of(ld, s, k->expect);
	char q[QUOTE_SIZE];

	if (!text)
		return;
	if (!nft_name_ok(text)) {
		bad_value(ld, s, k->expect, quote(text, q, sizeof(q)), NULL);
		return;
	}
	snprintf(ld->cfg->nft_table, sizeof(ld->cfg->nft_table), "%s", text);
}

/*
 * An absolute path to a file (not a directory), or "" for none; no
 * control characters, quotes or backslashes, so -t -v prints it as is.
 */
static bool state_path_ok(const char *text, size_t size)
{
	size_t n = strlen(text);

	if (n == 0)
		return true;
	if (text[0] != '/' || text[n - 1] == '/' || n >= size)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f ||
		    text[i] == '"' || text[i] == '\\')
			return false;
	return true;
}

static void h_state_file(struct loader *ld, const config_setting_t *s,
			 const struct key *k)
{
	const char *text = string_of(ld, s, k->expect);
	char q[QUOTE_SIZE];

	if (!text)
		return;
	if (!state_path_ok(text, sizeof(ld->cfg->state_file))) {
		bad_value(ld, s, k->expect, quote(text, q, sizeof(q)), NULL);
		return;
	}
	snprintf(ld->cfg->state_file, sizeof(ld->cfg->state_file), "%s", text);
}

static void h_groups(struct loader *ld, const config_setting_t *s,
		     const struct key *k);

#define U32(field) offsetof(struct rpcgate_config, field)
#define BOOL(field) offsetof(struct rpcgate_config, field)
#define POLICY(field) offsetof(struct server_policy, field)
#define STRINGIFY(x) #x
#define RANGE(min, max) "(" STRINGIFY(min) "-" STRINGIFY(max) ")"

static const char *const mode_choices[] = { "dynamic", "fixed", NULL };
static const char *const on_failure_choices[] = { "open", "closed", NULL };
static const char *const nft_mode_choices[] = { "table", "sets", NULL };
static const char *const log_level_choices[] = { "info", "debug", NULL };

/* The first N_GROUP_KEYS, in enum group_key order, may be set per group. */
static const struct key keys[] = {
	[K_SERVERS] = { "servers", "an array of strings (IPv4 or IPv6 "
	  "addresses or prefixes)", h_servers, 0, 0, 0, NULL },
	[K_INTERFACES] = { "interfaces", "an array of strings (\"exchange\", "
	  "\"any\", interface names or UUIDs)", h_interfaces, 0, 0, 0, NULL },
	[K_MODE] = { "mode", "\"dynamic\" or \"fixed\"", h_mode, 0, 0, 0,
	  mode_choices },
	[K_FIXED_PORTS] = { "fixed_ports", "an array of port numbers, or a "
	  "list of groups " FIXED_ENTRY_EXAMPLE, h_fixed_ports, 0, 0, 0,
	  NULL },
	[K_FIXED_REQUIRE_LOOKUP] = { "fixed_require_lookup", "true or false",
	  h_policy_bool, 0, 0, POLICY(fixed_require_lookup), NULL },
	[K_ALLOW_LOOKUP] = { "allow_lookup", "true or false", h_policy_bool,
	  0, 0, POLICY(allow_lookup), NULL },
	{ "groups", "a list of groups ( { servers = [ ... ]; ... }, ... )",
	  h_groups, 0, 0, 0, NULL },
	{ "pinhole_timeout", "an integer number of seconds (1-86400)",
	  h_u32, 1, SECONDS_MAX, U32(pinhole_timeout), NULL },
	{ "port_range", "two port numbers [low, high] (1-65535)",
	  h_port_range, 1, 65535, 0, NULL },
	{ "deny_ports", "an array of port numbers (1-65535)",
	  h_deny_ports, 1, 65535, 0, NULL },
	{ "epm_ports", "an array of port numbers (1-65535)",
	  h_epm_ports, 1, 65535, 0, NULL },
	{ "max_pinholes_per_client", "an integer number of pinholes "
	  RANGE(1, 1048576), h_u32, 1, CAP_MAX,
	  U32(max_pinholes_per_client), NULL },
	{ "max_pinholes", "an integer number of pinholes " RANGE(1, 1048576),
	  h_u32, 1, CAP_MAX, U32(max_pinholes), NULL },
	{ "max_flows", "an integer number of flows " RANGE(1, 1048576),
	  h_u32, 1, CAP_MAX, U32(max_flows), NULL },
	{ "max_flows_per_client", "an integer number of connections "
	  RANGE(1, 1048576), h_u32, 1, CAP_MAX, U32(max_flows_per_client),
	  NULL },
	{ "max_udp_flows_per_client", "an integer number of conversations "
	  RANGE(1, 1048576), h_u32, 1, CAP_MAX,
	  U32(max_udp_flows_per_client), NULL },
	{ "max_buffer_bytes", "an integer number of bytes "
	  RANGE(4096, 16777216), h_u32, BYTES_MIN, BYTES_MAX,
	  U32(max_buffer_bytes), NULL },
	{ "max_held_segments", "an integer number of segments "
	  RANGE(1, 65536), h_u32, 1, HELD_SEGMENTS_MAX,
	  U32(max_held_segments), NULL },
	{ "max_call_bytes", "an integer number of bytes " RANGE(4096, 16777216),
	  h_u32, BYTES_MIN, BYTES_MAX, U32(max_call_bytes), NULL },
	{ "flow_idle_timeout", "an integer number of seconds (1-86400)",
	  h_u32, 1, SECONDS_MAX, U32(flow_idle_timeout), NULL },
	{ "flow_handshake_timeout", "an integer number of seconds (1-86400)",
	  h_u32, 1, SECONDS_MAX, U32(flow_handshake_timeout), NULL },
	{ "ipv6_host_prefix", "an IPv6 prefix length (32-128)", h_u32, 32,
	  128, U32(ipv6_host_prefix), NULL },
	{ "control_max_clients", "an integer number of connections (1-1024)",
	  h_u32, 1, 1024, U32(control_max_clients), NULL },
	{ "control_timeout", "an integer number of seconds (1-3600)", h_u32, 1,
	  3600, U32(control_timeout), NULL },
	{ "on_failure", "\"open\" or \"closed\"", h_on_failure, 0, 0, 0,
	  on_failure_choices },
	{ "revoke_established", "true or false", h_bool, 0, 0,
	  BOOL(revoke_established), NULL },
	{ "queue_num", "an NFQUEUE number (0-65535)", h_queue_num, 0, 65535,
	  0, NULL },
	/* 16000: about the most whose receive buffer, at 128 KiB for each of
	 * the largest packets, fits the kernel's int (queue.c) */
	{ "queue_max_len", "an integer number of packets (16-16000)", h_u32,
	  16, 16000, U32(queue_max_len), NULL },
	{ "nft_mode", "\"table\" or \"sets\"", h_nft_mode, 0, 0, 0,
	  nft_mode_choices },
	{ "nft_table", "an nftables table name (a letter, then letters, "
	  "digits or _; at most 63 characters)", h_nft_table, 0, 0, 0, NULL },
	{ "state_file", "an absolute file path (at most 255 characters, no "
	  "quotes or backslashes), or \"\" for none", h_state_file, 0, 0, 0, NULL },
	{ "pinhole_mark", "an integer with exactly one bit set "
	  "(e.g. 0x00100000)", h_mark_bit, 0, 0, U32(pinhole_mark), NULL },
	{ "reverse_path_mark", "an integer with exactly one bit set "
	  "(e.g. 0x00200000)", h_mark_bit, 0, 0, U32(reverse_path_mark),
	  NULL },
	{ "sync_pinholes", "true or false", h_bool, 0, 0, BOOL(sync_pinholes),
	  NULL },
	/* the low 16 bits of a carrier's mark name its interface */
	{ "sync_mark", "an integer with exactly one bit set, 0x00010000 or "
	  "above (e.g. 0x00400000)", h_mark_bit, 0x10000, 0,
	  U32(sync_mark), NULL },
	{ "published_mark", "an integer with exactly one bit set "
	  "(e.g. 0x00800000)", h_mark_bit, 0, 0, U32(published_mark), NULL },
	{ "log_level", "\"info\" or \"debug\"", h_log_level, 0, 0, 0,
	  log_level_choices },
	{ "log_burst", "an integer number of lines (1-100000)", h_u32, 1,
	  100000, U32(log_burst), NULL },
	{ "log_interval", "an integer number of seconds (1-3600)", h_u32, 1,
	  3600, U32(log_interval), NULL },
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/*
 * "unknown key "NAME"", after the path of the group it is in, with
 * (did you mean "BEST"?) or else (ALLOWED) when given.
 */
static void unknown_key(struct loader *ld, const config_setting_t *s,
			const char *best, const char *allowed)
{
	char where[LABEL_SIZE], q[QUOTE_SIZE], hint[160] = "";

	label(config_setting_parent(s), where, sizeof(where));
	if (best)
		snprintf(hint, sizeof(hint), " (did you mean \"%s\"?)", best);
	else if (allowed)
		snprintf(hint, sizeof(hint), " (%s)", allowed);
	report(ld, line_of(s), "%s%sunknown key %s%s", where,
	       where[0] ? ": " : "", quote(config_setting_name(s), q, sizeof(q)),
	       hint);
}

/* Hands each child of group to the handler of its key among keys[0..n). */
static void walk_keys(struct loader *ld, const config_setting_t *group,
		      size_t n)
{
	for (int i = 0; i < config_setting_length(group); i++) {
		const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
		const char *name = config_setting_name(s);
		struct suggestion sg = { name, NULL, SIZE_MAX };
		size_t j = 0;
		int before = ld->problems;

		while (j < n && strcmp(name, keys[j].name) != 0)
			j++;
		if (j < n) {
			keys[j].handle(ld, s, &keys[j]);
			if (j < N_GROUP_KEYS) {
				ld->src[ld->group].set[j] = s;
				ld->src[ld->group].bad[j] = ld->problems != before;
			}
			continue;
		}
		for (j = 0; j < n; j++)
			consider(&sg, keys[j].name);
		unknown_key(ld, s, sg.best, n == N_KEYS ? NULL :
			    "a group may set only servers, interfaces, mode, "
			    "fixed_ports, fixed_require_lookup and allow_lookup");
	}
}

/*
 * Each entry is read into its own groups[i], zeroed, for what it sets;
 * the copy of the top level it starts from is made once the whole file is
 * read (merge_groups), wherever the top-level keys stand.
 */
static void h_groups(struct loader *ld, const config_setting_t *s,
		     const struct key *k)
{
	struct rpcgate_config *cfg = ld->cfg;
	char name[LABEL_SIZE];
	bool full = false;

	if (!need_array(ld, s, k, NULL))
		return;
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (!config_setting_is_group(e)) {
			wrong_type(ld, e, "a group { servers = [ ... ]; ... }");
			continue;
		}
		if (cfg->n_groups == CONFIG_MAX_GROUPS + 1) {
			too_many(ld, e, &full, CONFIG_MAX_GROUPS, "groups");
			continue;
		}
		ld->group = cfg->n_groups++;
		ld->src[ld->group].entry = e;
		cfg->groups[ld->group].line = line_of(e);
		walk_keys(ld, e, N_GROUP_KEYS);
		if (!ld->src[ld->group].set[K_SERVERS])
			report(ld, line_of(e), "%s: no servers (a group applies "
			       "to the endpoint mappers it lists)",
			       label(e, name, sizeof(name)));
		ld->group = 0;
	}
}

/* Each group entry: a copy of the top level, overridden by what it set. */
static void merge_groups(struct loader *ld)
{
	struct rpcgate_config *cfg = ld->cfg;
	struct server_policy own;

	for (size_t g = 1; g < cfg->n_groups; g++) {
		struct server_policy *p = &cfg->groups[g];
		const config_setting_t *const *set = ld->src[g].set;

		memcpy(&own, p, sizeof(own));
		memcpy(p, &cfg->groups[0], sizeof(*p));
		p->line = own.line;
		if (set[K_INTERFACES]) {
			p->any_iface = own.any_iface;
			p->n_ifaces = own.n_ifaces;
			memcpy(p->ifaces, own.ifaces, sizeof(p->ifaces));
		}
		if (set[K_MODE])
			p->mode = own.mode;
		if (set[K_FIXED_PORTS]) {
			p->n_fixed = own.n_fixed;
			memcpy(p->fixed, own.fixed, sizeof(p->fixed));
		}
		if (set[K_FIXED_REQUIRE_LOOKUP])
			p->fixed_require_lookup = own.fixed_require_lookup;
		if (set[K_ALLOW_LOOKUP])
			p->allow_lookup = own.allow_lookup;
	}
}

/* " (line N)" for a key that is set, else " (the default)". */
static const char *where_set(const config_setting_t *s, char *buf, size_t size)
{
	if (s)
		snprintf(buf, size, " (line %u)", line_of(s));
	else
		snprintf(buf, size, " (the default)");
	return buf;
}

/* Whether a group entry in fixed mode uses the top level's fixed ports. */
static bool top_fixed_inherited(const struct loader *ld)
{
	for (size_t g = 1; g < ld->cfg->n_groups; g++)
		if (ld->cfg->groups[g].mode == MODE_FIXED &&
		    !ld->src[g].set[K_FIXED_PORTS])
			return true;
	return false;
}

/*
 * The interface of each per-interface fixed port of policy g must be one
 * the policy allows, or the port could never open.  Reported where the
 * fixed port is written, or at the group entry when only its interfaces
 * differ from the top level's.
 */
static void check_fixed_ifaces(struct loader *ld, size_t g, size_t owner)
{
	const struct server_policy *p = &ld->cfg->groups[g];
	const struct policy_src *src = &ld->src[g];
	const config_setting_t *ifaces = src->set[K_INTERFACES]
		? src->set[K_INTERFACES] : ld->src[0].set[K_INTERFACES];
	char name[LABEL_SIZE], q[QUOTE_SIZE], where[32];

	for (size_t i = 0; i < p->n_fixed; i++) {
		const config_setting_t *is = ld->src[owner].fixed_iface[i];
		bool seen = false;

		if (p->fixed[i].any_iface ||
		    policy_allows_iface(p, &p->fixed[i].iface))
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = !p->fixed[j].any_iface &&
			       uuid_equal(&p->fixed[j].iface, &p->fixed[i].iface);
		if (seen)
			continue;
		where_set(ifaces, where, sizeof(where));
		if (owner == g || !src->set[K_INTERFACES])
			bad_element(ld, is, config_setting_get_string(is),
				    "is not in interfaces%s, so its fixed "
				    "ports would never open", where);
		else
			report(ld, line_of(src->entry), "%s: interfaces%s "
			       "leave out %s, which fixed_ports (line %u) "
			       "name", label(src->entry, name, sizeof(name)),
			       where, quote(config_setting_get_string(is), q,
					    sizeof(q)), line_of(is));
	}
}

/*
 * What one key cannot see: fixed ports against deny_ports, the mode
 * against the fixed ports, after a group entry has inherited.  A problem
 * only inherited is reported once, at the top level.
 */
static void check_policy(struct loader *ld, size_t g)
{
	const struct server_policy *p = &ld->cfg->groups[g];
	const struct policy_src *src = &ld->src[g], *top = &ld->src[0];
	size_t owner = g && !src->set[K_FIXED_PORTS] ? 0 : g;
	char name[LABEL_SIZE], where[32];

	for (size_t i = 0; owner == g && i < p->n_fixed; i++)
		if (policy_denies_port(ld->cfg, p->fixed[i].port))
			report(ld, line_of(src->fixed_port[i]), "%s: port %u "
			       "is in deny_ports%s, which are never opened",
			       label(src->fixed_port[i], name, sizeof(name)),
			       p->fixed[i].port,
			       where_set(ld->deny_ports, where, sizeof(where)));
		else if (p->fixed[i].port < ld->cfg->port_min ||
			 p->fixed[i].port > ld->cfg->port_max)
			/* rpcgated closes only port_range: outside it a fixed
			 * port would be left to the administrator's ruleset */
			report(ld, line_of(src->fixed_port[i]), "%s: port %u "
			       "is outside port_range [%u, %u], the ports "
			       "rpcgated keeps closed to clients without a pinhole",
			       label(src->fixed_port[i], name, sizeof(name)),
			       p->fixed[i].port, ld->cfg->port_min,
			       ld->cfg->port_max);
	/* a key already reported would only be reported again */
	for (size_t k = K_INTERFACES; k <= K_FIXED_PORTS; k++)
		if (src->bad[k] || top->bad[k])
			return;
	if (g && !src->set[K_INTERFACES] && !src->set[K_MODE] &&
	    !src->set[K_FIXED_PORTS])
		return;		/* as the top level: checked there */
	if (p->mode == MODE_FIXED && p->n_fixed == 0) {
		if (g)
			report(ld, line_of(src->entry), "%s: mode \"fixed\" "
			       "needs fixed_ports (in the group or at the top "
			       "level)", label(src->entry, name, sizeof(name)));
		else
			report(ld, line_of(src->set[K_MODE]), "mode: \"fixed\" "
			       "needs fixed_ports (the ports the servers are "
			       "pinned to)");
	}
	if (p->mode == MODE_DYNAMIC && owner == g && p->n_fixed &&
	    !(g == 0 && top_fixed_inherited(ld)))
		report(ld, line_of(src->set[K_FIXED_PORTS]), "%s: fixed ports "
		       "are set, but mode is \"dynamic\", which does not use "
		       "them (set mode = \"fixed\")",
		       label(src->set[K_FIXED_PORTS], name, sizeof(name)));
	if (p->mode == MODE_FIXED)
		check_fixed_ifaces(ld, g, owner);
}

/*
 * The mark bits rpcgated uses must be different bits: a packet's mark and
 * its connection's are apart, but an administrator's ruleset often copies
 * one into the other.
 */
static void check_marks_apart(struct loader *ld)
{
	const struct rpcgate_config *cfg = ld->cfg;
	const struct {
		const char *name;
		uint32_t bit;
	} marks[] = {
		{ "pinhole_mark", cfg->pinhole_mark },
		{ "reverse_path_mark", cfg->reverse_path_mark },
		{ "published_mark", cfg->published_mark },
		{ "sync_mark", cfg->sync_mark },
	};
	size_t n = sizeof(marks) / sizeof(marks[0]);

	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++)
			if (marks[i].bit == marks[j].bit)
				report(ld, ld->mark_bit ? line_of(ld->mark_bit) : 0,
				       "%s and %s are both 0x%08x: they must be "
				       "different bits", marks[i].name,
				       marks[j].name, marks[i].bit);
}

/* After the whole file: inheritance, and the checks across keys. */
static void finish(struct loader *ld)
{
	const config_setting_t *servers = ld->src[0].set[K_SERVERS];
	bool reported = false;

	merge_groups(ld);
	for (size_t g = 0; g < ld->cfg->n_groups; g++) {
		check_policy(ld, g);
		reported |= ld->src[g].bad[K_SERVERS];
	}
	/* a packet's mark and its connection's are apart, but an
	 * administrator's ruleset often copies one into the other */
	check_marks_apart(ld);
	/* no servers anywhere, unless a servers key said why already */
	if (ld->n_server_entries == 0 && !reported)
		report(ld, servers ? line_of(servers) : 0, "servers: " NO_SERVERS);
}

static void walk(struct loader *ld, const config_setting_t *root)
{
	walk_keys(ld, root, N_KEYS);
	finish(ld);
}

/* ---- reading and pre-scanning the text --------------------------------- */

static char *read_text(struct loader *ld, size_t *len)
{
	FILE *f = fopen(ld->path, "r");
	char *buf = NULL, *bigger;
	size_t n = 0, cap = 0, got;
	int err = 0;

	if (!f) {
		report(ld, 0, "cannot read: %s", strerror(errno));
		return NULL;
	}
	errno = 0;
	do {
		if (n + 1 >= cap) {
			cap = cap ? cap * 2 : 8192;
			bigger = realloc(buf, cap);
			if (!bigger) {
				err = ENOMEM;
				break;
			}
			buf = bigger;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (n > CONFIG_FILE_MAX)
			err = EFBIG;
	} while (got > 0 && !err);
	if (!err && ferror(f))
		err = errno ? errno : EIO;
	fclose(f);
	if (err) {
		report(ld, 0, "cannot read: %s", strerror(err));
		free(buf);
		return NULL;
	}
	if (!buf && !(buf = malloc(1))) {
		report(ld, 0, "cannot read: %s", strerror(ENOMEM));
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void add_literal(struct loader *ld, const struct literal *l)
{
	if (ld->n_lits == ld->cap_lits) {
		size_t cap = ld->cap_lits ? ld->cap_lits * 2 : 16;
		struct literal *bigger = realloc(ld->lits, cap * sizeof(*l));

		if (!bigger) {
			ld->lits_mapped = false;	/* values as libconfig read them */
			return;
		}
		ld->lits = bigger;
		ld->cap_lits = cap;
	}
	ld->lits[ld->n_lits++] = *l;
}

/*
 * Records the integer literal at text[*i] (sign included) and what
 * libconfig 1.5's scanner makes of it: decimal by atoi/atoll, hex by
 * strtoul/strtoull, so anything past 32 bits (64 with an L) wraps or
 * saturates.  Floats are skipped.
 */
static void scan_number(struct loader *ld, const char *text, size_t *i,
			unsigned line)
{
	const char *start = text + *i, *p = start;
	bool hex = false, is64 = false;
	struct literal l = { .line = line };
	unsigned long long u;

	if (*p == '+' || *p == '-')
		p++;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
	    isxdigit((unsigned char)p[2])) {
		hex = true;
		for (p += 2; isxdigit((unsigned char)*p); p++)
			;
	} else {
		bool is_float = false;

		for (; isdigit((unsigned char)*p); p++)
			;
		if (*p == '.') {
			is_float = true;
			for (p++; isdigit((unsigned char)*p); p++)
				;
		}
		if (*p == 'e' || *p == 'E') {
			is_float = true;
			p++;
			if (*p == '+' || *p == '-')
				p++;
			for (; isdigit((unsigned char)*p); p++)
				;
		}
		if (is_float) {
			*i = (size_t)(p - text);
			return;
		}
	}
	l.text = start;
	l.text_len = (int)(p - start);
	if (*p == 'L') {
		is64 = true;
		p += p[1] == 'L' ? 2 : 1;
	}
	*i = (size_t)(p - text);
	l.is64 = is64;
	errno = 0;
	if (hex) {
		u = strtoull(start, NULL, 16);
		l.fits = errno == 0 &&
			 u <= (is64 ? (unsigned long long)LLONG_MAX : UINT32_MAX);
		l.stored = is64 ? (long long)u : (int)(unsigned)u;
		l.value = u > (unsigned long long)LLONG_MAX ? LLONG_MAX
							     : (long long)u;
	} else {
		l.value = strtoll(start, NULL, 10);
		l.fits = errno == 0 &&
			 (is64 || (l.value >= INT_MIN && l.value <= INT_MAX));
		l.stored = is64 ? l.value : (int)(unsigned)l.value;
	}
	add_literal(ld, &l);
}

/* At text[*i], an @include and its file name: blanked, not newlines. */
static void blank_include(char *text, size_t len, size_t *i)
{
	memset(text + *i, ' ', 8);
	for (*i += 8; *i < len && (text[*i] == ' ' || text[*i] == '\t'); (*i)++)
		;
	if (*i < len && text[*i] == '"') {
		do
			text[(*i)++] = ' ';
		while (*i < len && text[*i] != '"' && text[*i] != '\n');
		if (*i < len && text[*i] == '"')
			text[(*i)++] = ' ';
	}
}

/*
 * One pass over the text with libconfig's lexical rules for comments,
 * names, numbers and strings: records the integer and string literals
 * ("adjacent" "strings" are one), and reports (and blanks) @include
 * directives and NUL bytes.
 */
static void prescan(struct loader *ld, char *text, size_t len)
{
	unsigned line = 1;
	bool nul_reported = false, after_string = false;
	size_t i = 0;

	while (i < len) {
		char c = text[i], next = text[i + 1];
		bool string = false;

		if (c == '\n') {
			line++;
			i++;
			continue;
		} else if (c == '\0') {
			if (!nul_reported)
				report(ld, line, "NUL byte in the file "
				       "(is this a text file?)");
			nul_reported = true;
			text[i] = ' ';
			continue;
		} else if (isspace((unsigned char)c)) {
			i++;
			continue;
		} else if (c == '#' || (c == '/' && next == '/')) {
			while (i < len && text[i] != '\n')
				i++;
			continue;
		} else if (c == '/' && next == '*') {
			for (i += 2; i < len && !(text[i] == '*' &&
						  text[i + 1] == '/'); i++)
				line += text[i] == '\n';
			i += 2;
			continue;
		} else if (c == '"') {
			struct literal l = { .line = line, .string = true };

			if (!after_string)
				add_literal(ld, &l);
			for (i++; i < len && text[i] != '"'; i++) {
				if (text[i] == '\\' && i + 1 < len)
					i++;
				line += text[i] == '\n';
			}
			i++;
			string = true;
		} else if (c == '@' && strncmp(text + i, "@include", 8) == 0) {
			report(ld, line, "@include is not supported (keep the "
			       "whole configuration in this one file)");
			blank_include(text, len, &i);
		} else if (isalpha((unsigned char)c) || c == '*' || c == '_') {
			while (i < len && (isalnum((unsigned char)text[i]) ||
					   (text[i] && strchr("-_*", text[i]))))
				i++;
		} else if (isdigit((unsigned char)c) ||
			   ((c == '+' || c == '-' || c == '.') &&
			    (isdigit((unsigned char)next) || next == '.'))) {
			scan_number(ld, text, &i, line);
		} else {
			i++;
		}
		after_string = string;
	}
}

/*
 * Hooks each integer and string setting to its literal: the parse keeps
 * text order, so the k-th such setting met in pre-order is the k-th
 * literal.  At the first disagreement the mapping stops, and no wrapped
 * integer is taken from it.
 */
static size_t map_literals(struct loader *ld, config_setting_t *s, size_t k)
{
	int type = config_setting_type(s);
	bool is64 = type == CONFIG_TYPE_INT64;
	const struct literal *l = k < ld->n_lits ? &ld->lits[k] : NULL;

	if (type == CONFIG_TYPE_STRING) {
		if (!l || !l->string)
			ld->lits_mapped = false;
		if (ld->lits_mapped)
			config_setting_set_hook(s, (void *)l);
		return k + 1;
	}
	if (type == CONFIG_TYPE_INT || is64) {
		long long stored = is64 ? config_setting_get_int64(s)
					: config_setting_get_int(s);

		if (!l || l->string || l->is64 != is64 || l->stored != stored)
			ld->lits_mapped = false;
		if (ld->lits_mapped)
			config_setting_set_hook(s, (void *)l);
		return k + 1;
	}
	if (config_setting_is_aggregate(s))
		for (int i = 0; i < config_setting_length(s); i++)
			k = map_literals(ld, config_setting_get_elem(s, (unsigned)i), k);
	return k;
}

/* libconfig's parse errors, with a word on what it means. */
static const char *parse_error_text(const char *text)
{
	if (!text)
		return "syntax error";
	if (strcmp(text, "duplicate setting name") == 0)
		return "duplicate setting name (each key may be set only once)";
	if (strcmp(text, "mismatched element type in array") == 0)
		return "mismatched element type in array (the values in "
		       "[ ] must all be of one type)";
	return text;
}

int config_load(const char *path, struct rpcgate_config *out, FILE *errors)
{
	struct rpcgate_config cfg;
	struct loader ld = { .path = path, .errors = errors, .cfg = &cfg,
			     .lits_mapped = true };
	config_t lc;
	size_t len = 0;
	char *text;

	config_defaults(&cfg);
	text = read_text(&ld, &len);
	if (!text)
		return ld.problems;
	prescan(&ld, text, len);
	config_init(&lc);
	if (config_read_string(&lc, text) != CONFIG_TRUE)
		report(&ld, (unsigned)config_error_line(&lc), "%s",
		       parse_error_text(config_error_text(&lc)));
	else {
		if (map_literals(&ld, config_root_setting(&lc), 0) != ld.n_lits)
			ld.lits_mapped = false;
		walk(&ld, config_root_setting(&lc));
	}
	config_destroy(&lc);
	free(ld.lits);
	free(text);
	if (ld.problems == 0)
		memcpy(out, &cfg, sizeof(cfg));	/* padding too: memcmp-able */
	return ld.problems;
}
