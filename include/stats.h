/*
 * Decisions counted for rpcgatectl stats and metrics: by reason, by the
 * answering endpoint mapper, and drift by server and interface.  The
 * tables are bounded (STATS_MAX_SERVERS, STATS_MAX_DRIFT); what does not
 * fit is counted under "other", so an attacker answering from many
 * addresses costs no memory.
 */
#ifndef RPCGATE_STATS_H
#define RPCGATE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "epm.h"
#include "flow.h"
#include "gate.h"

#define STATS_MAX_SERVERS 1024
#define STATS_MAX_DRIFT 256

struct stats_server {
	uint8_t family;
	uint8_t addr[16];
	uint64_t by_reason[GATE_N_REASONS];
};

struct stats_drift {
	uint8_t family;
	uint8_t addr[16];
	struct uuid iface;
	uint16_t last_port;
	uint64_t count;
};

struct decision_stats {
	uint64_t by_reason[GATE_N_REASONS];
	size_t n_servers;
	struct stats_server servers[STATS_MAX_SERVERS];
	struct stats_server other_servers;	/* family 0 */
	size_t n_drift;
	struct stats_drift drift[STATS_MAX_DRIFT];
	uint64_t other_drift;
};

/* One endpoint's decision, answered by flow's server. */
void stats_count(struct decision_stats *st, const struct flow_key *flow,
		 const struct epm_endpoint *ep, enum gate_reason reason);

/* Sums of a server's decisions as rpcgatectl shows them. */
uint64_t stats_refused(const struct stats_server *s);

#endif
