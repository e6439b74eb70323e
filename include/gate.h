/*
 * The record of open pinholes and the caps on them: policy_decide on what
 * a flow's answer advertised, then which pinholes are open, for whom and
 * until when.  The live daemon and the replay decide through the same
 * code; only the daemon writes the result to nftables.
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
#include "packet.h"
#include "policy.h"

/*
 * A pinhole the daemon opened.  The client's pinholes form one list, the
 * host's (see struct gate) another, oldest first, so that the biggest
 * holder's oldest pinhole is found at once when max_pinholes is full.
 */
struct gate_pinhole {
	struct gate_pinhole *next;	/* the client's pinholes */
	struct gate_pinhole **pprev;	/* the link to it there: O(1) removal */
	struct gate_pinhole *index_next;	/* gate.index chain */
	struct gate_pinhole *host_older, *host_newer;
	struct gate_client *client;
	struct pinhole key;
	/* what the last answer for it said: a reload decides again on it */
	struct policy_facts facts;
	/*
	 * When the timeout the daemon last gave the kernel's element runs
	 * out; traffic (the rule's dynset update) only lengthens it.
	 */
	uint64_t expires_ms;
	/* what the last admission asks of the kernel's element */
	enum nft_element_write write;
	bool published;			/* reached through a DNAT address */
	uint8_t public_addr[16];
};

struct gate_client;
struct gate_host;

/*
 * One host is an IPv4 address or one IPv6 prefix of ipv6_host_prefix bits
 * (a machine can hold as many addresses of its /64 as it likes), fixed at
 * gate_init.  max_pinholes_per_client counts per address; when
 * max_pinholes is full, the host holding the most pinholes gives way.
 */
struct gate {
	const struct rpcgate_config *cfg;
	unsigned v6_host_prefix;
	struct gate_client **clients;
	struct gate_host **hosts;
	size_t bucket_mask;
	/* a max-heap of the hosts by pinholes held */
	struct gate_host **biggest;
	size_t n_hosts, cap_hosts;
	size_t n_pinholes;
	/*
	 * Every pinhole by its whole key, so that finding one costs the same
	 * with 64 pinholes per client or a million.
	 */
	struct gate_pinhole **index;
	size_t index_mask;
	/*
	 * The kernel renews an element added again (nft_probe_element_update);
	 * gate_init assumes so, which is what a replay models.
	 */
	bool kernel_updates_timeouts;
	/*
	 * A batch failed after the record had forgotten pinholes whose
	 * elements it still held (an eviction, a refresh, a revocation):
	 * the kernel may hold elements with no record.
	 */
	bool kernel_may_hold_unrecorded;
};

/* What gave way for a newcomer when max_pinholes was full. */
struct gate_eviction {
	bool evicted;
	struct host_key host;
	struct pinhole key;
	bool published;
	uint8_t public_addr[16];
};

bool gate_init(struct gate *g, const struct rpcgate_config *cfg);
void gate_release(struct gate *g);

/*
 * policy_decide on what flow's server (the endpoint mapper) advertised to
 * flow's client, plus the caps; an admitted pinhole is recorded (or its
 * expiry renewed unless gate_element_write keeps its element, and its
 * facts replaced by this answer's) until now_ms + pinhole_timeout; the
 * record's write field says what to send.  A refused out is as policy_decide left it (for
 * GATE_DRIFT: what would have opened).  When max_pinholes is full, the
 * oldest pinhole of the host holding the most gives way, unless the
 * newcomer's host holds as many (GATE_TOTAL_CAP); *evicted says which, and
 * the caller removes it from the kernel in the batch that adds out.  Costs
 * O(log hosts) for the choice, plus a walk of the evicted pinhole's client
 * list (at most max_pinholes_per_client).
 */
enum gate_reason gate_admit(struct gate *g, const struct flow_key *flow,
			    const struct dce_answer *ans,
			    const struct epm_endpoint *ep, uint64_t now_ms,
			    struct pinhole *out, struct gate_eviction *evicted);

/*
 * A pinhole another router opened, carried over by conntrack sync (HA):
 * policy_decide on what the carrier holds -- an ept_map answer from the
 * pinhole's server advertising its port and protocol, for the interface of
 * the server's group whose gate_iface_fingerprint is iface_fingerprint
 * (none: the nil UUID, which only a group allowing any interface admits)
 * -- plus the caps as in gate_admit; admitted, it is recorded until
 * now_ms + lifetime_ms.
 */
enum gate_reason gate_adopt(struct gate *g, const struct pinhole *key,
			    uint16_t iface_fingerprint, uint64_t now_ms,
			    uint64_t lifetime_ms, struct gate_eviction *evicted);
/* 16 bits that name an interface in a carrier's mark. */
uint16_t gate_iface_fingerprint(const struct uuid *iface);

/*
 * How an admitted pinhole's element is written, known: its record before
 * this admission, or NULL for a new one.  Where the kernel updates
 * timeouts: one add (NFT_ELEMENT_REFRESH), new or not.  Otherwise a new
 * one is one add, and a recorded one is left alone while more than half
 * of pinhole_timeout is left -- the client connects within milliseconds
 * of the answer, and the replace (whose delete queues nf_tables'
 * deferred destroy work, which closing any netfilter socket then waits
 * for, ~15 ms) happens at most twice per pinhole_timeout however often
 * the pinhole is advertised -- and replaced when less is.
 * A new one is replaced too while the kernel may hold elements with no
 * record (its add would keep their old timeout).
 */
enum nft_element_write gate_element_write(const struct gate *g,
					  const struct gate_pinhole *known,
					  uint64_t now_ms);

/*
 * A pinhole of an earlier run (the state file's facts) recorded again
 * until expires_ms, if the current policy and the caps allow it: the
 * same policy_decide as an answer, but when max_pinholes is full nothing
 * gives way (GATE_TOTAL_CAP).  out as for gate_admit.
 */
enum gate_reason gate_restore(struct gate *g, const struct policy_facts *facts,
			      uint64_t now_ms, uint64_t expires_ms, bool published,
			      const uint8_t *public_addr, struct pinhole *out);

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

/*
 * Whether a recorded pinhole is still allowed by cfg (after a reload):
 * policy_decide on the facts it was opened on.
 */
bool gate_still_allowed(const struct rpcgate_config *cfg,
			const struct gate_pinhole *p);

#endif
