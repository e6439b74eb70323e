/*
 * Conntrack through libnetfilter_conntrack: cutting off connections that a
 * revoked pinhole admitted, and finding the public address of a
 * DNAT-published server.  One handle, opened at start and kept.
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

#endif
