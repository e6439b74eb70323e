/*
 * Offline replay: a pcap or pcapng file (optionally gzip-compressed) goes
 * through the same flow table, stream and decoder as live traffic, and
 * every advertised endpoint is printed as one JSON object per line.
 */
#ifndef RPCGATE_REPLAY_H
#define RPCGATE_REPLAY_H

#include <stdio.h>

#include "config.h"
#include "flow.h"
#include "report.h"

/* Exit statuses, as in sysexits.h */
#define REPLAY_OK 0
#define REPLAY_DATA_ERRORS 65	/* replayed, but the file had errors */
#define REPLAY_CANNOT_OPEN 66

/* (server, interface, protocol) entries a replay's port-pinning report holds */
#define REPLAY_REPORT_ENTRIES 65536

/*
 * With a policy, each line also says what the daemon would have decided:
 * "decision" (open or refuse), "reason" and "reason_code".  With a report,
 * the endpoints go into it instead of being printed.
 */
int replay_file(const char *path, const struct flow_config *cfg,
		const struct rpcgate_config *policy, struct report *report,
		FILE *out);

#endif
