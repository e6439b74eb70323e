/*
 * Policy and the record of open pinholes: whether one endpoint advertised
 * in an endpoint-mapper answer may open a pinhole, and which pinholes are
 * open, for whom and until when.  The live daemon and the replay decide
 * through the same code; only the daemon writes the result to nftables.
 */
#ifndef RPCGATE_GATE_H
#define RPCGATE_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "dcerpc.h"
#include "flow.h"
#include "nft.h"

enum gate_reason {
	GATE_OPEN,
	GATE_NOT_SERVER,
	GATE_LOOKUP,
	GATE_IFACE,
	GATE_NOT_ASKED,
	GATE_PROTO,
	GATE_PORT_RANGE,
	GATE_PORT_DENIED,
	GATE_TOWER_ADDR,
	GATE_CLIENT_CAP,
	GATE_TOTAL_CAP,
	GATE_FIXED,		/* a fixed port: already open to all clients */
	GATE_DRIFT,		/* fixed mode, and not a fixed port */
};
#define GATE_N_REASONS (GATE_DRIFT + 1)

struct gate_pinhole {
	struct gate_pinhole *next;	/* the client's pinholes */
	struct pinhole key;
	struct uuid iface;
	uint8_t epm_server[16];
	uint64_t expires_ms;
	bool published;			/* reached through a DNAT address */
	uint8_t public_addr[16];
};

struct gate_client;

struct gate {
	const struct rpcgate_config *cfg;
	struct gate_client **buckets;
	size_t bucket_mask;
	size_t n_pinholes;
};

bool gate_init(struct gate *g, const struct rpcgate_config *cfg);
void gate_release(struct gate *g);

/*
 * The stateless part: may this endpoint, advertised to flow's client by
 * flow's server (the endpoint mapper), open a pinhole, and which?
 */
enum gate_reason gate_check(const struct rpcgate_config *cfg,
			    const struct flow_key *flow,
			    const struct dce_answer *ans,
			    const struct epm_endpoint *ep, struct pinhole *out);

/*
 * gate_check plus the caps; an admitted pinhole is recorded (or its expiry
 * renewed) until now_ms + pinhole_timeout.
 */
enum gate_reason gate_admit(struct gate *g, const struct flow_key *flow,
			    const struct dce_answer *ans,
			    const struct epm_endpoint *ep, uint64_t now_ms,
			    struct pinhole *out);

/* The record of an open pinhole, or NULL. */
struct gate_pinhole *gate_find(struct gate *g, const struct pinhole *p);

/* The Exchange registry value that pins this interface's port. */
const char *gate_registry_value(const struct uuid *iface);

/* "opened", or why not, for logs and replay output. */
const char *gate_reason_text(enum gate_reason reason);
/* Short machine-readable form: "open", "not-server", "iface", ... */
const char *gate_reason_code(enum gate_reason reason);

/*
 * Calls fn for every recorded pinhole; fn returns true to forget it.
 * Used for expiry and for re-checking the pinholes after a reload.
 */
typedef bool (*gate_visit_fn)(void *arg, struct gate_pinhole *p);
void gate_visit(struct gate *g, gate_visit_fn fn, void *arg);

/* Whether a recorded pinhole is still allowed by cfg (after a reload). */
bool gate_still_allowed(const struct rpcgate_config *cfg,
			const struct gate_pinhole *p);

#endif
