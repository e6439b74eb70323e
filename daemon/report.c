#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "packet.h"
#include "report.h"

/*
 * Distinct ports kept per (server, interface, protocol): a pinned service
 * shows one, a dynamic one a new port per restart or per answer; beyond
 * this many the report only needs to say "varies".
 */
#define PORTS_KEPT 8

struct report_port {
	uint16_t port;
	uint64_t answers;
};

struct report_entry {
	uint8_t family;
	uint8_t server[16];
	struct uuid iface;
	uint16_t iface_major, iface_minor;
	enum epm_proto proto;
	size_t n_ports;
	struct report_port ports[PORTS_KEPT];
	uint64_t other_answers;	/* answers with a port past PORTS_KEPT */
	uint64_t answers;
	int32_t hash_next;	/* index of the next entry in its bucket, -1 */
};

/* The buckets follow the entries in the same allocation. */
static int32_t *buckets(const struct report *r)
{
	return (int32_t *)(r->entries + r->max_entries);
}

static size_t n_buckets(const struct report *r)
{
	size_t n = 1;

	while (n < r->max_entries)
		n <<= 1;
	return n;
}

bool report_init(struct report *r, size_t max_entries)
{
	memset(r, 0, sizeof(*r));
	r->max_entries = max_entries ? max_entries : 1;
	r->entries = malloc(r->max_entries * sizeof(*r->entries) +
			    n_buckets(r) * sizeof(int32_t));
	if (!r->entries)
		return false;
	for (size_t i = 0; i < n_buckets(r); i++)
		buckets(r)[i] = -1;
	return true;
}

void report_release(struct report *r)
{
	free(r->entries);
	r->entries = NULL;
}

static size_t addr_len(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

static size_t entry_hash(const struct report *r, uint8_t family,
			 const uint8_t *server, const struct uuid *iface,
			 enum epm_proto proto)
{
	uint32_t h = 2166136261u ^ family ^ ((uint32_t)proto << 8);

	for (size_t i = 0; i < addr_len(family); i++)
		h = (h ^ server[i]) * 16777619u;
	for (size_t i = 0; i < sizeof(iface->b); i++)
		h = (h ^ iface->b[i]) * 16777619u;
	return h & (n_buckets(r) - 1);
}

void report_add(struct report *r, uint8_t family, const uint8_t *server,
		const struct epm_endpoint *ep)
{
	size_t bucket = entry_hash(r, family, server, &ep->iface, ep->proto);
	struct report_entry *e = NULL;

	for (int32_t i = buckets(r)[bucket]; i >= 0; i = r->entries[i].hash_next) {
		struct report_entry *c = &r->entries[i];

		if (c->family == family && c->proto == ep->proto &&
		    uuid_equal(&c->iface, &ep->iface) &&
		    memcmp(c->server, server, addr_len(family)) == 0) {
			e = c;
			break;
		}
	}
	if (!e) {
		if (r->n_entries == r->max_entries) {
			r->dropped++;
			return;
		}
		e = &r->entries[r->n_entries];
		memset(e, 0, sizeof(*e));
		e->family = family;
		memcpy(e->server, server, addr_len(family));
		e->iface = ep->iface;
		e->iface_major = ep->iface_major;
		e->iface_minor = ep->iface_minor;
		e->proto = ep->proto;
		e->hash_next = buckets(r)[bucket];
		buckets(r)[bucket] = (int32_t)r->n_entries++;
	}
	e->answers++;
	for (size_t k = 0; k < e->n_ports; k++) {
		if (e->ports[k].port == ep->port) {
			e->ports[k].answers++;
			return;
		}
	}
	if (e->n_ports == PORTS_KEPT) {
		e->other_answers++;
		return;
	}
	e->ports[e->n_ports++] = (struct report_port){ ep->port, 1 };
}

/*
 * Where each service keeps the port it listens on when an administrator
 * pins it (REG_DWORD unless noted); with it set and the service
 * restarted, the endpoint mapper advertises that port for good.
 */
static const struct uuid_text_map registry_values[] = {
	{ "a4f1db00-ca47-1067-b31f-00dd010662da",
	  "Exchange 2010: HKLM\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeRPC"
	  "\\ParametersSystem\\TCP/IP Port; Exchange 2003/2007: "
	  "HKLM\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeIS"
	  "\\ParametersSystem\\TCP/IP Port" },
	{ "5261574a-4572-206e-b268-6b199213b4e4",
	  "Exchange 2010: HKLM\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeRPC"
	  "\\ParametersSystem\\TCP/IP Port (shared with EMSMDB)" },
	{ "f5cc5a18-4264-101a-8c59-08002b2f8426",
	  "Exchange 2010: HKLM\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeAB"
	  "\\Parameters\\RpcTcpPort (REG_SZ); Exchange 2003/2007: "
	  "HKLM\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeSA"
	  "\\Parameters\\TCP/IP NSPI Port" },
	{ "1544f5e0-613c-11d1-93df-00c04fd7bd09",
	  "Exchange 2010: HKLM\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeAB"
	  "\\Parameters\\RpcTcpPort (REG_SZ, shared with NSPI); Exchange "
	  "2003/2007: HKLM\\SYSTEM\\CurrentControlSet\\Services\\MSExchangeSA"
	  "\\Parameters\\TCP/IP Port" },
	{ "e3514235-4b06-11d1-ab04-00c04fc2dcd2",
	  "Active Directory: HKLM\\SYSTEM\\CurrentControlSet\\Services\\NTDS"
	  "\\Parameters\\TCP/IP Port" },
	{ "12345678-1234-abcd-ef00-01234567cffb",
	  "Active Directory: HKLM\\SYSTEM\\CurrentControlSet\\Services\\Netlogon"
	  "\\Parameters\\DCTcpipPort" },
};

const char *report_registry_value(const struct uuid *iface)
{
	return uuid_map_find(registry_values,
			     sizeof(registry_values) / sizeof(registry_values[0]),
			     iface);
}

/* Entries of one server together, then by interface and protocol. */
static int entry_order(const void *a, const void *b)
{
	const struct report_entry *x = a, *y = b;
	int c;

	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	if ((c = memcmp(x->server, y->server, addr_len(x->family))) != 0)
		return c;
	if ((c = memcmp(x->iface.b, y->iface.b, sizeof(x->iface.b))) != 0)
		return c;
	return (int)x->proto - (int)y->proto;
}

static int port_order(const void *a, const void *b)
{
	const struct report_port *x = a, *y = b;

	return (int)x->port - (int)y->port;
}

/* The entries, sorted, with their ports sorted: what both formats print. */
static struct report_entry *sorted(const struct report *r)
{
	struct report_entry *s = malloc((r->n_entries ? r->n_entries : 1) *
					sizeof(*s));

	if (!s)
		return NULL;
	memcpy(s, r->entries, r->n_entries * sizeof(*s));
	qsort(s, r->n_entries, sizeof(*s), entry_order);
	for (size_t i = 0; i < r->n_entries; i++)
		qsort(s[i].ports, s[i].n_ports, sizeof(s[i].ports[0]), port_order);
	return s;
}

/* A port that stays put: the same one in every answer. */
static bool stable(const struct report_entry *e)
{
	return e->n_ports == 1 && !e->other_answers;
}

/* What a fixed_ports block and a static TCP rule can name. */
static bool pinned(const struct report_entry *e)
{
	return e->proto == EPM_PROTO_TCP && stable(e);
}

static void iface_label(const struct report_entry *e, char *out, size_t size)
{
	const char *name = epm_iface_name(&e->iface);
	char uuid[UUID_TEXT_LEN + 1];

	uuid_format(&e->iface, uuid);
	snprintf(out, size, "%s", name ? name : uuid);
}

static bool same_server(const struct report_entry *a,
			const struct report_entry *b)
{
	return a->family == b->family &&
	       memcmp(a->server, b->server, addr_len(a->family)) == 0;
}

/* What would replace rpcgate for this server once its ports are pinned. */
static void print_pinned_config(const struct report_entry *first,
				const struct report_entry *end, const char *server,
				FILE *out)
{
	size_t n_pinned = 0, n_varying = 0;
	const struct report_entry *sep = NULL;

	for (const struct report_entry *e = first; e < end; e++) {
		if (e->proto == EPM_PROTO_TCP)
			pinned(e) ? n_pinned++ : n_varying++;
	}
	if (n_pinned == 0) {
		if (n_varying)
			fprintf(out, "  no interface of this server has a stable "
				     "TCP port: pin them, then replay again\n");
		return;
	}
	fprintf(out, "  fixed_ports for this server%s:\n",
		n_varying ? " (the interfaces whose port varies are left out: "
			    "pin them first)" : "");
	fprintf(out, "    groups = ( { servers = [ \"%s\" ]; mode = \"fixed\";\n"
		     "      fixed_ports = (\n", server);
	for (const struct report_entry *e = first; e < end; e++) {
		char label[UUID_TEXT_LEN + 1];

		if (!pinned(e))
			continue;
		iface_label(e, label, sizeof(label));
		/* libconfig allows no comma after a list's last element */
		fprintf(out, "%s        { interface = \"%s\"; ports = [ %u ]; }",
			sep ? ",\n" : "", label, e->ports[0].port);
		sep = e;
	}
	fprintf(out, "\n      ); } );\n");
	fprintf(out, "  static nft rule instead of rpcgate, once pinned:\n"
		     "    %s daddr %s tcp dport {",
		first->family == AF_INET ? "ip" : "ip6", server);
	sep = NULL;
	for (const struct report_entry *e = first; e < end; e++) {
		if (!pinned(e))
			continue;
		fprintf(out, "%s %u", sep ? "," : "", e->ports[0].port);
		sep = e;
	}
	fprintf(out, " } ct state new accept\n");
}

static const char *answers(uint64_t n)
{
	return n == 1 ? "answer" : "answers";
}

void report_print(const struct report *r, FILE *out)
{
	struct report_entry *s = sorted(r);
	size_t i = 0;

	if (!s) {
		fprintf(out, "report: out of memory\n");
		return;
	}
	if (r->n_entries == 0)
		fprintf(out, "no endpoint-mapper answers seen\n");
	while (i < r->n_entries) {
		size_t end = i;
		char server[INET6_ADDRSTRLEN];

		while (end < r->n_entries && same_server(&s[i], &s[end]))
			end++;
		packet_addr_format(s[i].family, s[i].server, server, sizeof(server));
		fprintf(out, "server %s\n", server);
		for (size_t k = i; k < end; k++) {
			const struct report_entry *e = &s[k];
			const char *pin = report_registry_value(&e->iface);
			char label[UUID_TEXT_LEN + 1], uuid[UUID_TEXT_LEN + 1];

			iface_label(e, label, sizeof(label));
			uuid_format(&e->iface, uuid);
			fprintf(out, "  %s %s v%u.%u, %s:", label, uuid,
				e->iface_major, e->iface_minor,
				epm_proto_name(e->proto));
			for (size_t p = 0; p < e->n_ports; p++)
				fprintf(out, "%s %u (%llu %s)", p ? "," : "",
					e->ports[p].port,
					(unsigned long long)e->ports[p].answers,
					answers(e->ports[p].answers));
			if (e->other_answers)
				fprintf(out, ", other ports (%llu %s)",
					(unsigned long long)e->other_answers,
					answers(e->other_answers));
			fprintf(out, "\n    %s\n",
				e->proto == EPM_PROTO_HTTP ?
					"RPC over HTTP: reached through the HTTP proxy, "
					"not through this port" :
				stable(e) ? "stable: one port in every answer" :
					    "varies: not pinned");
			if (e->proto != EPM_PROTO_HTTP)
				fprintf(out, "    pin with: %s\n",
					pin ? pin : "(no registry value known; "
						    "see the service's documentation)");
		}
		print_pinned_config(&s[i], &s[end], server, out);
		i = end;
	}
	if (r->dropped)
		fprintf(out, "(%llu answers not counted: the report holds %zu "
			     "(server, interface, protocol) entries)\n",
			(unsigned long long)r->dropped, r->max_entries);
	free(s);
}

/* Registry paths hold backslashes; nothing else here needs escaping. */
static void json_string(FILE *out, const char *text)
{
	fputc('"', out);
	for (; *text; text++) {
		if (*text == '\\' || *text == '"')
			fputc('\\', out);
		fputc(*text, out);
	}
	fputc('"', out);
}

void report_print_json(const struct report *r, FILE *out)
{
	struct report_entry *s = sorted(r);

	if (!s) {
		fprintf(out, "{\"error\":\"out of memory\"}\n");
		return;
	}
	fprintf(out, "{\"entries\":[");
	for (size_t i = 0; i < r->n_entries; i++) {
		const struct report_entry *e = &s[i];
		const char *name = epm_iface_name(&e->iface);
		const char *pin = report_registry_value(&e->iface);
		char server[INET6_ADDRSTRLEN], uuid[UUID_TEXT_LEN + 1];

		packet_addr_format(e->family, e->server, server, sizeof(server));
		uuid_format(&e->iface, uuid);
		fprintf(out, "%s{\"server\":\"%s\",\"iface\":\"%s\",\"iface_name\":",
			i ? "," : "", server, uuid);
		if (name)
			json_string(out, name);
		else
			fputs("null", out);
		fprintf(out, ",\"iface_version\":\"%u.%u\",\"proto\":\"%s\",\"ports\":[",
			e->iface_major, e->iface_minor, epm_proto_name(e->proto));
		for (size_t p = 0; p < e->n_ports; p++)
			fprintf(out, "%s{\"port\":%u,\"answers\":%llu}", p ? "," : "",
				e->ports[p].port,
				(unsigned long long)e->ports[p].answers);
		fprintf(out, "],\"other_answers\":%llu,\"answers\":%llu,"
			     "\"stable\":%s,\"registry_value\":",
			(unsigned long long)e->other_answers,
			(unsigned long long)e->answers, stable(e) ? "true" : "false");
		if (pin)
			json_string(out, pin);
		else
			fputs("null", out);
		fputc('}', out);
	}
	fprintf(out, "],\"not_counted\":%llu}\n", (unsigned long long)r->dropped);
	free(s);
}
