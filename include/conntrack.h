/*
 * Conntrack through libnetfilter_conntrack: cutting off connections that a
 * revoked pinhole admitted, finding the public address of a
 * DNAT-published server, and the carrier entries that take pinholes to the
 * peer of an HA pair.  Handles are opened once and kept.
 */
#ifndef RPCGATE_CONNTRACK_H
#define RPCGATE_CONNTRACK_H

#include <stdint.h>

#include "flow.h"
#include "nft.h"

struct conntrack;

struct conntrack *conntrack_open(void);
void conntrack_close(struct conntrack *ct);

/*
 * Deletes the conntrack entries of connections from the pinhole's client
 * to its server and port that carry the pinhole mark.  Returns how many,
 * or -errno.
 */
int conntrack_revoke(struct conntrack *ct, const struct pinhole *p, uint32_t mark);

/*
 * The address the client used to reach the endpoint mapper of this flow:
 * the server's own, or the public address a DNAT rule translated.  The
 * flow is as the forward hook sees it (after DNAT, before SNAT).  Returns
 * 1 and fills public_addr when the server was reached through DNAT, 0
 * when not, -errno when the connection is not in the table.
 */
int conntrack_public_addr(struct conntrack *ct, const struct flow_key *flow,
			  uint8_t *public_addr);

/*
 * Carrier entries (sync_pinholes, an HA pair): a pinhole stands in the
 * conntrack table as an entry from its client's port 0 to its server and
 * port, in its protocol (TCP ESTABLISHED), with a mark and the pinhole's
 * timeout, so that conntrackd replicates it to the peer like any
 * connection.  No packet a client sends has that tuple, so the entry
 * admits nothing the pinhole itself does not.
 */
struct conntrack_carrier {
	struct pinhole key;
	uint32_t mark;		/* sync_mark, and the interface's fingerprint */
	uint32_t timeout_s;	/* what the kernel still gives it */
};

/* Creates or renews the carrier of p; sent, not waited on.  0 or -errno. */
int conntrack_carrier_put(struct conntrack *ct, const struct pinhole *p,
			  uint32_t mark, uint32_t timeout_s);
/* Deletes the carrier of p; sent, not waited on.  0 or -errno. */
int conntrack_carrier_del(struct conntrack *ct, const struct pinhole *p);

/*
 * Subscribes to new conntrack entries carrying sync_mark (those conntrackd
 * commits on promotion); returns the non-blocking socket to poll, or
 * -errno.  Once: later calls return the same socket.
 */
int conntrack_carriers_watch(struct conntrack *ct, uint32_t sync_mark);
/* That socket, or -1 before conntrack_carriers_watch. */
int conntrack_carriers_fd(const struct conntrack *ct);

typedef void (*conntrack_carrier_fn)(void *arg, const struct conntrack_carrier *c);
/*
 * Calls fn for every carrier the subscription has announced since the
 * last call.  Returns 0, or -ENOBUFS when the kernel dropped
 * announcements (a dump finds what they were).
 */
int conntrack_carriers_read(struct conntrack *ct, uint32_t sync_mark,
			    conntrack_carrier_fn fn, void *arg);
/* Calls fn for every carrier of that family in the table.  0 or -errno. */
int conntrack_carriers_dump(struct conntrack *ct, uint8_t family,
			    uint32_t sync_mark, conntrack_carrier_fn fn, void *arg);

#endif
