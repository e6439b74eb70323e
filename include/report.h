/*
 * The port-pinning report: which ports each endpoint mapper advertised for
 * each interface, how often, whether they stay put, and how to pin them --
 * the registry value, the fixed_ports block and the static nft rule that
 * would replace rpcgate for a pinned server.  Fed with every advertised
 * endpoint (from a replayed capture or the live daemon); pure: it writes
 * only to the stream it is given.
 */
#ifndef RPCGATE_REPORT_H
#define RPCGATE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "epm.h"
#include "uuid.h"

struct report_entry;

struct report {
	struct report_entry *entries;
	size_t n_entries, max_entries;
	uint64_t dropped;	/* observations past max_entries */
};

/* At most max_entries distinct (server, interface, protocol, port). */
bool report_init(struct report *r, size_t max_entries);
void report_release(struct report *r);

/* One endpoint advertised by the endpoint mapper at server. */
void report_add(struct report *r, uint8_t family, const uint8_t *server,
		const struct epm_endpoint *ep);

void report_print(const struct report *r, FILE *out);
/* The same as one JSON object. */
void report_print_json(const struct report *r, FILE *out);

/* The registry value that pins this interface's port, or NULL. */
const char *report_registry_value(const struct uuid *iface);

#endif
